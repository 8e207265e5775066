"""Events: the key directory publishers seal to, and publishing an event to the domains
that know the person (the hub relays sealed boxes it cannot open).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mynumber_core import errors
from mynumber_core.interceptors import status_code
from mynumber_core.sealing import (
    SealedBox,
)
from services.registry import domain
from services.registry.domain import Outcome
from services.registry.exchange_log import NewEntry
from services.registry.usecases.base import RegistryBase
from services.registry.usecases.records import (
    MAX_PARAMS_BYTES,
    _fingerprint,
    require_domain,
)


class Events(RegistryBase):
    """The key directory and event publishing."""

    def key_directory(self) -> tuple[str, str]:
        """The signed directory of the domains' public keys, and its verifier key."""
        return self.keys.signed(), self.keys.verifier_key

    def publish(
        self,
        caller: str | None,
        token: str,
        event_type: str,
        event_id: str,
        sealed: Mapping[str, SealedBox],
        procedure: str,
        audience: Sequence[str],
    ) -> list[str]:
        """Deliver an event to the domains that know the person, each under its own token
        and with the payload the publisher sealed to that receiver's key (the hub relays the
        box it cannot open; the log commits to its digest)."""
        publisher = require_domain(caller)
        domain.check_item(event_type)
        domain.check_procedure(procedure)
        domain.check_request_id(event_id, field="event_id")
        for a in audience:
            domain.check_domain(a, what="audience")
        for receiver, box in sealed.items():
            domain.check_domain(receiver, what="sealed payload receiver")
            if len(box.ciphertext) > MAX_PARAMS_BYTES * 4 + 2048:
                raise errors.InvalidInput("payload is too large (at most 32 KiB)")
        # Sealing is randomised, so a retry's boxes differ: the event is identified by its
        # token, type and procedure (receivers apply each event_id once anyway).
        fingerprint = _fingerprint(token, event_type, procedure)
        allowed = self.access.publish_audience(publisher, event_type, procedure)
        denial = None
        if allowed is None or (
            audience and "*" not in allowed and not set(audience) <= set(allowed)
        ):
            denial = (
                f"the access-rights table does not allow {publisher} to publish "
                f"{event_type!r} under procedure {procedure!r}"
                + (f" to {', '.join(audience)}" if audience else "")
            )
        with self.db.transaction() as session:
            _, person = self.person_for(session, caller, token)
            tag = self.vault.citizen_tag(person.person_key)
            plan: list[tuple[str, str]] = []
            targets: list[str] = []
            if denial is None and allowed is not None:
                linked = [d for d in self.linked_domains(session, person) if d != publisher]
                targets = [d for d in linked if "*" in allowed or d in allowed]
                if audience:
                    targets = [d for d in targets if d in audience]
                for receiver in targets:
                    done = self.log.find(
                        session, publisher, event_id, receiver, (Outcome.DELIVERED,)
                    )
                    if done is not None:
                        if done.fingerprint != fingerprint:
                            raise errors.InvalidInput(
                                "event_id was already used for a different event; "
                                "use a new event_id"
                            )
                        continue
                    receiver_token = self._translate(session, person, receiver)
                    assert receiver_token is not None  # linked_domains implies a link
                    plan.append((receiver, receiver_token))
        if denial is not None:
            self._record(
                NewEntry(
                    publisher,
                    ",".join(audience) or "*",
                    event_type,
                    procedure,
                    Outcome.DENIED,
                    denial,
                    event_id,
                    tag,
                    fingerprint,
                    None,
                    7,
                )
            )
            raise errors.PermissionDenied(denial)
        failures = []
        for receiver, receiver_token in plan:
            receiver_box = sealed.get(receiver)
            error = (
                errors.FailedPrecondition(
                    f"the publisher sealed no payload for {receiver}; refresh the key "
                    "directory and retry with the same event_id"
                )
                if receiver_box is None
                else self._deliver(
                    domain.service_of(receiver),
                    receiver_token,
                    event_type,
                    event_id,
                    publisher,
                    procedure,
                    receiver_box,
                )
            )
            outcome, reason = (
                (Outcome.DELIVERED, "") if error is None else (Outcome.FAILED, error.message[:500])
            )
            self._record(
                NewEntry(
                    publisher,
                    receiver,
                    event_type,
                    procedure,
                    outcome,
                    reason,
                    event_id,
                    tag,
                    fingerprint,
                    None,
                    0 if error is None else status_code(error),
                    answer_digest=receiver_box.digest() if receiver_box else None,
                )
            )
            if error is not None:
                failures.append(receiver)
        if failures:
            failed = errors.Unavailable(
                f"delivery to {', '.join(failures)} failed; retry with the same event_id"
            )
            failed.relayed = True  # the hub's channel already retried each delivery
            raise failed
        return targets
