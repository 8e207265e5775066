"""The registry delivers pension's "a pension record that may be yours" notice to a resident
pension knows only by a "notify the resident" reference (issue 13 item 3).

``Reconcile`` answers such a reference instead of a token when the likely candidate has not
linked pension. Pension then seals its notice to the portal's key (the hub cannot read it)
and calls ``DeliverCandidateNotice`` with the reference. The registry:

1. checks the caller is pension and that the access-rights table lets pension publish this
   event type under this procedure to the portal (a refusal is recorded and nothing moves);
2. opens the reference (only the registry can) and finds the person;
3. hands pension its own token for the person (linking pension, the same token pension
   would get when the resident enrols), so the resident's decision on the portal reaches
   pension like any linked resident's; pension never learns a fact about the person;
4. delivers the sealed notice to the resident's portal under the portal's own token, and
   records the exchange (publisher pension, receiver portal) before answering, so the
   resident sees it on /log.

A retry with the same ``event_id`` delivers once and answers the same token.
"""

from __future__ import annotations

from sqlalchemy import select

from mynumber_core import errors
from mynumber_core.interceptors import status_code
from mynumber_core.sealing import SealedBox
from services.registry import domain
from services.registry.domain import Outcome
from services.registry.exchange_log import NewEntry
from services.registry.models import Person
from services.registry.reconcile import NOTICE_DOMAIN
from services.registry.usecases import Registry, require_domain
from services.registry.usecases.records import MAX_PARAMS_BYTES, _fingerprint

RECEIVER = "portal"


class CandidateNotices:
    """``DeliverCandidateNotice`` over the registry's people, links, hub and log."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def deliver(
        self,
        caller: str | None,
        reference: str,
        event_type: str,
        event_id: str,
        procedure: str,
        box: SealedBox | None,
    ) -> tuple[str, int]:
        """Deliver the sealed notice to the resident behind ``reference``; returns pension's
        token for them and the log index of the delivery."""
        r = self._registry
        publisher = require_domain(caller)
        if publisher != "pension":
            raise errors.PermissionDenied("only pension delivers notices about its records")
        domain.check_item(event_type)
        domain.check_procedure(procedure)
        domain.check_request_id(event_id, field="event_id")
        if not reference or len(reference) > 200:
            raise errors.InvalidInput(
                "notify_reference must be the reference Reconcile returned (1 to 200 characters)"
            )
        if box is None or not box.ciphertext:
            raise errors.InvalidInput(
                "sealed_payload is required: seal the notice to the portal's key from the key "
                "directory"
            )
        if len(box.ciphertext) > MAX_PARAMS_BYTES * 4 + 2048:
            raise errors.InvalidInput("payload is too large (at most 32 KiB)")
        opened = r.vault.open(NOTICE_DOMAIN, reference)
        if opened is None:
            raise errors.NotFound(
                "this notify reference names nobody; use the reference Reconcile returned"
            )
        fingerprint = _fingerprint("candidate-notice", reference, event_type, procedure)
        allowed = r.access.publish_audience(publisher, event_type, procedure)
        with r.db.transaction() as session:
            person = session.scalars(select(Person).where(Person.person_key == opened[0])).first()
            if person is None:
                raise errors.NotFound(
                    "this notify reference names nobody; use the reference Reconcile returned"
                )
            tag = r.vault.citizen_tag(person.person_key)
            if allowed is None or ("*" not in allowed and RECEIVER not in allowed):
                denial = (
                    f"the access-rights table does not allow {publisher} to publish "
                    f"{event_type!r} under procedure {procedure!r} to {RECEIVER}"
                )
                denied = True
            else:
                denied = False
                token, _ = r._link(session, person, publisher)
                portal_token, _ = r._link(session, person, RECEIVER)
                done = r.log.find(session, publisher, event_id, RECEIVER, (Outcome.DELIVERED,))
                if done is not None and done.fingerprint != fingerprint:
                    raise errors.InvalidInput(
                        "event_id was already used for a different event; use a new event_id"
                    )
        if denied:
            r._record(
                NewEntry(
                    publisher,
                    RECEIVER,
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
        if done is not None:
            return token, done.index
        error = r._deliver(
            domain.service_of(RECEIVER),
            portal_token,
            event_type,
            event_id,
            publisher,
            procedure,
            box,
        )
        index = r._record(
            NewEntry(
                publisher,
                RECEIVER,
                event_type,
                procedure,
                Outcome.DELIVERED if error is None else Outcome.FAILED,
                "" if error is None else error.message[:500],
                event_id,
                tag,
                fingerprint,
                None,
                0 if error is None else status_code(error),
                answer_digest=box.digest(),
            )
        )
        if error is not None:
            failed = errors.Unavailable(
                f"delivery to {RECEIVER} failed; retry with the same event_id"
            )
            failed.relayed = True
            raise failed
        return token, index
