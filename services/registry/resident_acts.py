"""What the portal does in a resident's name beyond reading: the payout account and the
events it publishes, each verified by the registry (issue 15, remaining gaps 1 and 2).

* **The payout account.** ``RecordPayoutAccount`` (portal) records the account the resident's
  card approved: the :class:`~services.registry.resident_authority.ResidentAuthorityInterceptor`
  has already checked the live grant and a fresh ``change_payout_account`` step-up over exactly
  the request's account fields. The registry keeps a salted commitment only
  (:mod:`mynumber_core.payout_attestation`). Paying agencies read it with
  ``GetPayoutAttestation`` and pay only to an account that opens it, so a compromised portal
  cannot redirect a payout: it cannot record an account without the resident's card.
* **Events published in a resident's name.** The portal publishes from its outbox, later and
  possibly after the resident logged out, so the grant cannot travel with the publish itself
  (an ended grant would lose an acknowledged event). Instead the portal asks, while the
  resident acts, for an **event grant**: ``AuthoriseEvent`` under the live grant and a fresh
  step-up for the event's action returns the event id to publish under. ``Hub.Publish`` from the
  portal is refused (:class:`PortalPublishInterceptor`) unless that id was authorised for the
  same person, event type and procedure and has not expired. ``payout_confirmed`` also records
  the card confirmation on the payout attestation.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import grpc
from grpc_interceptor import ServerInterceptor
from mynumber.registry.v1 import resident_pb2 as pb
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from mynumber_core import errors
from mynumber_core.clock import aware, utc_now
from mynumber_core.interceptors import current_caller
from mynumber_core.payout_attestation import PAYOUT_ACCOUNT_FIELDS, SALT_BYTES, account_commitment
from mynumber_core.payout_attestation import PayoutAttestation as Attestation
from services.registry import domain
from services.registry.grant_models import PayoutAttestation, ResidentEventGrant
from services.registry.passkey_grants import PasskeyGrants
from services.registry.resident_authority import (
    EVENT_STEP_UPS,
    PORTAL_IDENTITY,
    ResidentAuthority,
    ResidentAuthorityServicer,
    _grant_of,
)
from services.registry.usecases import Registry

EVENT_GRANT_TTL = dt.timedelta(days=7)
"""How long the portal's outbox may take to publish an authorised event (it retries)."""
PURGE_AFTER = dt.timedelta(days=1)
MAX_ACCOUNT_FIELD = 64
_PUBLISH = "/mynumber.registry.v1.Hub/Publish"


class ResidentActs:
    """Payout attestations and event grants (see the module docstring)."""

    def __init__(
        self,
        registry: Registry,
        authority: ResidentAuthority,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._registry = registry
        self._authority = authority
        self._db = registry.db
        self._clock = clock

    # ------------------------------------------------------------------ the payout account

    def record_payout_account(
        self, grant: str | None, token: str, account: Mapping[str, str], salt: bytes
    ) -> tuple[str, dt.datetime]:
        """Record the commitment to the account the card approved (checked by the
        interceptor); returns (commitment, time of the change)."""
        if set(account) != set(PAYOUT_ACCOUNT_FIELDS):
            raise errors.InvalidInput(
                f"account must have exactly the fields {', '.join(PAYOUT_ACCOUNT_FIELDS)}"
            )
        if any(not value or len(value) > MAX_ACCOUNT_FIELD for value in account.values()):
            raise errors.InvalidInput(
                f"every account field must be 1 to {MAX_ACCOUNT_FIELD} characters"
            )
        if len(salt) != SALT_BYTES:
            raise errors.InvalidInput(f"salt must be {SALT_BYTES} random bytes")
        commitment = account_commitment(account, salt)
        now = self._clock()
        try:
            with self._db.transaction() as session:
                held = self._authority._grant(session, grant)
                _, person = self._registry.person_for(session, PORTAL_IDENTITY, token)
                row = session.get(PayoutAttestation, person.id, with_for_update=True)
                if row is None:
                    session.add(
                        PayoutAttestation(
                            person_id=person.id,
                            commitment=commitment,
                            serial=held.serial,
                            changed_at=now,
                            confirmed_at=now,
                        )
                    )
                else:
                    row.commitment, row.serial = commitment, held.serial
                    row.changed_at = row.confirmed_at = now
        except IntegrityError:
            raise errors.Conflict(
                "the payout account was recorded concurrently; ask for a new approval and retry"
            ) from None
        return commitment, now

    def payout_attestation(self, caller: str | None, token: str) -> Attestation:
        """The commitment a paying agency compares the portal's answer with."""
        with self._db.transaction() as session:
            _, person = self._registry.person_for(session, caller, token)
            row = session.get(PayoutAttestation, person.id)
            if row is None:
                raise errors.NotFound(
                    "the resident has recorded no payout account with their card at the "
                    "registry; hold the payout until they register it on the portal"
                )
            return Attestation(row.commitment, aware(row.changed_at), aware(row.confirmed_at))

    # ------------------------------------------------------------------ event grants

    def authorise_event(
        self, grant: str | None, token: str, event_type: str, procedure: str
    ) -> tuple[str, dt.datetime]:
        """An event grant (the interceptor checked the grant and the event's step-up)."""
        if event_type not in EVENT_STEP_UPS:
            raise errors.PermissionDenied(
                f"the portal may publish only {', '.join(sorted(EVENT_STEP_UPS))} in a "
                "resident's name"
            )
        domain.check_procedure(procedure)
        now = self._clock()
        event_id = secrets.token_hex(16)
        expires = now + EVENT_GRANT_TTL
        with self._db.transaction() as session:
            held = self._authority._grant(session, grant)
            _, person = self._registry.person_for(session, PORTAL_IDENTITY, token)
            session.add(
                ResidentEventGrant(
                    event_id=event_id,
                    person_id=person.id,
                    event_type=event_type,
                    procedure=procedure,
                    grant_hash=held.id_hash,
                    authorised_at=now,
                    expires_at=expires,
                )
            )
            if event_type == "payout_confirmed":
                attestation = session.get(PayoutAttestation, person.id, with_for_update=True)
                if attestation is not None:
                    attestation.confirmed_at = now
            session.execute(
                delete(ResidentEventGrant).where(ResidentEventGrant.expires_at < now - PURGE_AFTER)
            )
        return event_id, expires

    def check_publish(self, request: Any) -> None:
        """Before the portal publishes: an unexpired event grant for exactly this event."""
        with self._db.transaction() as session:
            _, person = self._registry.person_for(session, PORTAL_IDENTITY, request.token)
            row = (
                session.get(ResidentEventGrant, request.event_id)
                if isinstance(request.event_id, str) and len(request.event_id) <= 64
                else None
            )
            if (
                row is None
                or row.person_id != person.id
                or row.event_type != request.event_type
                or row.procedure != request.procedure
            ):
                raise errors.PermissionDenied(
                    "the portal publishes in a resident's name only an event the resident "
                    "authorised with their card (ResidentAuthority.AuthoriseEvent), under that "
                    "event_id, event type and procedure"
                )
            if aware(row.expires_at) <= self._clock():
                raise errors.PermissionDenied(
                    "the resident's authorisation of this event has expired; the resident "
                    "must submit it again"
                )


class PortalPublishInterceptor(ServerInterceptor):
    """Runs :meth:`ResidentActs.check_publish` for every ``Hub.Publish`` by the portal."""

    def __init__(self, acts: ResidentActs) -> None:
        self._acts = acts

    def intercept(
        self,
        method: Callable[..., Any],
        request: Any,
        context: grpc.ServicerContext,
        method_name: str,
    ) -> Any:
        if method_name == _PUBLISH and current_caller() == PORTAL_IDENTITY:
            self._acts.check_publish(request)
        return method(request, context)


class ResidentActsServicer(ResidentAuthorityServicer):
    """proto ↔ :class:`ResidentAuthority`, :class:`ResidentActs` and the passkeys
    (:class:`~services.registry.passkey_grants.PasskeyGrants`)."""

    def __init__(
        self, authority: ResidentAuthority, acts: ResidentActs, passkeys: PasskeyGrants
    ) -> None:
        super().__init__(authority)
        self._acts = acts
        self._passkeys = passkeys

    def RegisterPasskey(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        credential_id = self._passkeys.register(
            _grant_of(context),
            request.token,
            request.credential_json,
            bytes(request.challenge),
            request.origin,
        )
        return pb.RegisterPasskeyResponse(credential_id=credential_id)

    def OpenPasskeyGrant(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        opened = self._passkeys.open_grant(request.nonce, request.audience, request.credential_json)
        response = pb.OpenGrantResponse(
            grant=opened.grant, token=opened.token, serial=opened.serial
        )
        response.expires_at.FromDatetime(opened.expires_at)
        return response

    def RecordPayoutAccount(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        commitment, changed = self._acts.record_payout_account(
            _grant_of(context), request.token, dict(request.account), bytes(request.salt)
        )
        response = pb.RecordPayoutAccountResponse(commitment=commitment)
        response.changed_at.FromDatetime(changed)
        return response

    def GetPayoutAttestation(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        found = self._acts.payout_attestation(current_caller(), request.token)
        response = pb.GetPayoutAttestationResponse(commitment=found.commitment)
        response.changed_at.FromDatetime(found.changed_at)
        response.confirmed_at.FromDatetime(found.confirmed_at)
        return response

    def AuthoriseEvent(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        event_id, expires = self._acts.authorise_event(
            _grant_of(context), request.token, request.event_type, request.procedure
        )
        response = pb.AuthoriseEventResponse(event_id=event_id)
        response.expires_at.FromDatetime(expires)
        return response
