"""The resident's authority, verified by the registry where it is used (issue 15, item 3).

The portal's certificate alone must read nobody and change nothing. So everything the portal
(mTLS identity ``gateway``) does in a resident's name — portal queries, the exchange log,
locks, claim PINs, number reissue — must carry a **grant**: a short-lived bearer secret the
registry handed out when the resident's card signed one of the registry's own single-use login
challenges. The grant is bound to the card and its holder: the request's portal token must name
that holder, and revoking the card ends the grant at once (the card row is read on every use).

Sensitive actions also need a **fresh step-up**: the card's signature over a single-use
registry challenge issued under that grant for exactly that action, and over the very values
the request carries (the same ``action_message`` the portal shows the resident). The challenge
is consumed before the signature is checked, so it gets one attempt.

Both travel as gRPC metadata (:mod:`mynumber_core.resident_grants`), checked by
:class:`ResidentAuthorityInterceptor` before the handler runs, so every existing request keeps
its shape and no use case can forget the check. What the portal records or publishes under
a grant (the payout account, events) is in :mod:`services.registry.resident_acts`.

Why about 415 lines: challenges, grants and the per-call check are one protocol (a grant is
opened from a challenge and checked against the same card rows); the acts built on it live in
their own module.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from grpc_interceptor import ServerInterceptor
from mynumber.registry.v1 import resident_pb2 as pb
from mynumber.registry.v1 import resident_pb2_grpc as pb_grpc
from sqlalchemy import delete, update

from mynumber_core import errors
from mynumber_core.card import action_message, login_challenge_message, serial_hex
from mynumber_core.clock import aware, utc_now
from mynumber_core.interceptors import current_caller
from mynumber_core.resident_grants import GRANT_HEADER, STEP_UP_HEADER, StepUpEvidence
from services.registry.card_models import CardRecord
from services.registry.domain import PersonStatus
from services.registry.grant_models import ResidentChallenge, ResidentGrant
from services.registry.models import Person
from services.registry.usecases import Registry

PORTAL_IDENTITY = "gateway"
PORTAL_DOMAIN = "portal"
GRANT_TTL = dt.timedelta(minutes=15)
CHALLENGE_TTL = dt.timedelta(minutes=5)
PURGE_AFTER = dt.timedelta(hours=1)
"""Expired challenges and grants are deleted this long after they expired."""

_R = "/mynumber.registry.v1."
ACTS_FOR_RESIDENT: Mapping[str, str | None] = {
    f"{_R}Registry/SetLocks": "set_locks",
    f"{_R}Registry/IssueClaimPin": "issue_claim_pin",
    f"{_R}Registry/ReissueNumber": "reissue_number",
    f"{_R}Registry/VerifyClaimPin": None,
    f"{_R}Hub/Query": None,
    f"{_R}Hub/BatchQuery": None,
    f"{_R}ExchangeLog/ListEntries": None,
    f"{_R}ResidentAuthority/RecordPayoutAccount": "change_payout_account",
    f"{_R}ResidentAuthority/AuthoriseEvent": "",
    f"{_R}ResidentAuthority/RegisterPasskey": "register_passkey",
}
"""Portal calls made in a resident's name → the step-up action they also need (None: the
grant alone; "": the action of the event being authorised, :data:`EVENT_STEP_UPS`)."""

EVENT_STEP_UPS: Mapping[str, str] = {
    "payment": "make_payment",
    "payout_confirmed": "confirm_payout",
    "application.pension_exemption": "apply_pension_exemption",
    "application.move_out": "apply_move_out",
    "application.pension_claim": "pension_claim",
    "pension_record.decision": "pension_record_decision",
}
"""The events the portal may publish in a resident's name → the card step-up each needs. The
registry cannot read an event's sealed payload, so it checks that the card approved this
kind of action just now, for this resident, once."""

_ACTION_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_MAX_AUDIENCE = 200


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _unauthenticated(what: str) -> errors.Unauthenticated:
    return errors.Unauthenticated(
        f"{what}: the resident must log in with their card again (a new grant)"
    )


@dataclass(frozen=True)
class Challenge:
    """A challenge for the resident's card."""

    nonce: str
    issued_at: int
    expires_at: dt.datetime


@dataclass(frozen=True)
class OpenedGrant:
    """A new grant: the secret (shown once), the holder's portal token, expiry, card."""

    grant: str
    token: str
    expires_at: dt.datetime
    serial: str


def _expected_fields(action: str, request: Any) -> Callable[[Mapping[str, str]], bool]:
    """Whether signed fields are exactly what the request does."""
    if action == "set_locks":
        locks = ",".join(sorted(set(request.locks)))
        return lambda f: dict(f) == {"locks": locks}
    if action == "reissue_number":
        return lambda f: dict(f) == {"reason": request.reason}
    if action == "issue_claim_pin":
        return lambda f: set(f) == {"year"} and f["year"].isdigit()
    if action == "change_payout_account":
        return lambda f: dict(f) == dict(request.account)
    if action == "register_passkey":
        challenge = base64.urlsafe_b64encode(request.challenge).rstrip(b"=").decode()
        return lambda f: dict(f) == {"challenge": challenge}
    if action in EVENT_STEP_UPS.values():
        return lambda f: True  # the values are sealed in the event: the hub cannot compare
    return lambda f: False


def tokens_of(request: Any) -> list[str]:
    """The portal tokens a resident-scoped request names."""
    if hasattr(request, "queries"):
        return [q.token for q in request.queries]
    return [request.token]


def _verify_signature(certificate_pem: str, message: bytes, signature: bytes) -> None:
    try:
        key = x509.load_pem_x509_certificate(certificate_pem.encode()).public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, AssertionError):
        raise errors.Unauthenticated(
            "the card signature does not match this challenge; sign exactly what was issued"
        ) from None


class ResidentAuthority:
    """Challenges, grants, and the check made before every portal call in a resident's name."""

    def __init__(
        self,
        registry: Registry,
        *,
        grant_ttl: dt.timedelta = GRANT_TTL,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._registry = registry
        self._db = registry.db
        self._grant_ttl = grant_ttl
        self._clock = clock

    # ------------------------------------------------------------------ challenges

    def issue_challenge(self, audience: str, action: str, grant: str | None) -> Challenge:
        """A single-use challenge: a login (``action`` empty) or a step-up under ``grant``."""
        now = self._clock()
        nonce = secrets.token_urlsafe(24)
        row = ResidentChallenge(
            nonce=nonce,
            issued_at=int(now.timestamp()),
            expires_at=now + CHALLENGE_TTL,
        )
        if action:
            if not _ACTION_RE.fullmatch(action):
                raise errors.InvalidInput("action must be a lowercase name such as 'set_locks'")
            with self._db.transaction() as session:
                held = self._grant(session, grant)
            row.kind, row.action, row.grant_hash = "action", action, held.id_hash
        else:
            if not audience or len(audience) > _MAX_AUDIENCE:
                raise errors.InvalidInput(
                    f"audience is required for a login challenge: the portal's origin "
                    f"(at most {_MAX_AUDIENCE} characters)"
                )
            row.kind, row.audience = "login", audience
        with self._db.transaction() as session:
            session.add(row)
            self._purge(session, now)
        return Challenge(nonce, row.issued_at, row.expires_at)

    def _purge(self, session: Any, now: dt.datetime) -> None:
        cutoff = now - PURGE_AFTER
        session.execute(delete(ResidentChallenge).where(ResidentChallenge.expires_at < cutoff))
        session.execute(delete(ResidentGrant).where(ResidentGrant.expires_at < cutoff))

    def _consume(self, nonce: str, kind: str) -> ResidentChallenge:
        """Use up an open challenge (before any signature is checked: one attempt each)."""
        if not isinstance(nonce, str) or not _NONCE_RE.fullmatch(nonce):
            raise _unauthenticated("this challenge is unknown")
        now = self._clock()
        with self._db.transaction() as session:
            used = session.execute(
                update(ResidentChallenge)
                .where(
                    ResidentChallenge.nonce == nonce,
                    ResidentChallenge.kind == kind,
                    ResidentChallenge.used_at.is_(None),
                    ResidentChallenge.expires_at > now,
                )
                .values(used_at=now)
            )
            if used.rowcount != 1:
                raise errors.Unauthenticated(
                    "this challenge is unknown, already used or expired; ask for a new one"
                )
            row = session.get(ResidentChallenge, nonce)
            assert row is not None
            session.expunge(row)
            return row

    # ------------------------------------------------------------------ grants

    def open_grant(
        self, certificate_pem: str, nonce: str, audience: str, issued_at: int, signature: bytes
    ) -> OpenedGrant:
        """A grant for the holder of the card that signed this registry login challenge."""
        if not isinstance(certificate_pem, str) or len(certificate_pem) > 8192:
            raise errors.InvalidInput("certificate_pem must be the card's PEM certificate")
        try:
            serial = serial_hex(
                x509.load_pem_x509_certificate(certificate_pem.encode()).serial_number
            )
        except ValueError:
            raise errors.InvalidInput("certificate_pem is not a PEM X.509 certificate") from None
        challenge = self._consume(nonce, "login")
        if challenge.audience != audience or challenge.issued_at != issued_at:
            raise errors.Unauthenticated(
                "the signed login does not match the challenge; sign exactly what was issued"
            )
        message = login_challenge_message(nonce, audience, issued_at)
        now = self._clock()
        with self._db.transaction() as session:
            card = self._active_card(session, serial, now)
            if card.certificate_pem.strip() != certificate_pem.strip():
                raise errors.Unauthenticated("this certificate is not the registered card's")
            _verify_signature(card.certificate_pem, message, signature)
            return self.grant_for_card(session, card, now)

    def grant_for_card(self, session: Any, card: CardRecord, now: dt.datetime) -> OpenedGrant:
        """A new grant for an active card's holder (after the card — or a passkey that card
        registered — proved the resident is there)."""
        person = session.get(Person, card.person_id)
        assert person is not None  # foreign key
        if person.status == PersonStatus.DECEASED:
            raise errors.Unauthenticated("this card's holder is not an active resident")
        token, _ = self._registry._link(session, person, PORTAL_DOMAIN)
        secret = secrets.token_urlsafe(32)
        expires = now + self._grant_ttl
        session.add(
            ResidentGrant(
                id_hash=_hash(secret),
                person_id=person.id,
                serial=card.serial,
                issued_at=now,
                expires_at=expires,
            )
        )
        return OpenedGrant(secret, token, expires, card.serial)

    def end_grant(self, grant: str | None) -> None:
        """End a grant (logout); an unknown or ended one is left as it is."""
        if not grant or len(grant) > 128:
            return
        with self._db.transaction() as session:
            session.execute(
                update(ResidentGrant)
                .where(ResidentGrant.id_hash == _hash(grant), ResidentGrant.ended_at.is_(None))
                .values(ended_at=self._clock())
            )

    def _active_card(self, session: Any, serial: str, now: dt.datetime) -> CardRecord:
        card = session.get(CardRecord, serial)
        if card is None or card.status != "active":
            raise errors.Unauthenticated(
                "this card is not an active card of the registry (revoked or unknown)"
            )
        if aware(card.not_after) < now:
            raise errors.Unauthenticated("this card has expired; renew it at the municipality")
        assert isinstance(card, CardRecord)
        return card

    def _grant(self, session: Any, grant: str | None) -> ResidentGrant:
        """The live grant behind a secret, its card still active."""
        if not grant:
            raise errors.Unauthenticated(
                "this call acts for a resident: it needs the grant their card signed at login "
                f"({GRANT_HEADER} metadata)"
            )
        if len(grant) > 128:
            raise _unauthenticated("this grant is not valid")
        row = session.get(ResidentGrant, _hash(grant))
        now = self._clock()
        if row is None or row.ended_at is not None:
            raise _unauthenticated("this grant is not valid")
        if aware(row.expires_at) <= now:
            raise _unauthenticated("this grant has expired")
        try:
            self._active_card(session, row.serial, now)
        except errors.Unauthenticated:
            raise _unauthenticated("the card that signed this grant was revoked") from None
        assert isinstance(row, ResidentGrant)
        return row

    # ------------------------------------------------------------------ the check

    def check(self, method: str, request: Any, grant: str | None, step_up: str | None) -> None:
        """Before a portal call in a resident's name: a live grant for the person every
        token in the request names, and for a sensitive method a fresh step-up."""
        with self._db.transaction() as session:
            held = self._grant(session, grant)
            for token in tokens_of(request):
                _, person = self._registry.person_for(session, PORTAL_IDENTITY, token)
                if person.id != held.person_id:
                    raise errors.PermissionDenied(
                        "this grant is for another resident; the portal may act only for the "
                        "resident who logged in"
                    )
            card = self._active_card(session, held.serial, self._clock())
            certificate_pem, grant_hash = card.certificate_pem, held.id_hash
        action = ACTS_FOR_RESIDENT.get(method)
        if action == "":
            action = EVENT_STEP_UPS.get(request.event_type)
            if action is None:
                raise errors.PermissionDenied(
                    f"the portal may not publish {request.event_type[:64]!r} in a resident's "
                    f"name; it may publish: {', '.join(sorted(EVENT_STEP_UPS))}"
                )
        if action is None:
            return
        if not step_up:
            raise errors.Unauthenticated(
                f"this action needs a fresh card signature: a registry challenge for "
                f"{action!r} signed by the resident's card ({STEP_UP_HEADER} metadata)"
            )
        proof = StepUpEvidence.decode(step_up)
        challenge = self._consume(proof.nonce, "action")
        if challenge.grant_hash != grant_hash or challenge.action != action:
            raise errors.PermissionDenied(
                "this step-up was issued for another action or another login; ask for a new one"
            )
        if not _expected_fields(action, request)(proof.fields):
            raise errors.PermissionDenied(
                "the card approved different values than this request carries; approve "
                "exactly what you submit"
            )
        _verify_signature(
            certificate_pem, action_message(action, proof.fields, proof.nonce), proof.signature
        )


class ResidentAuthorityInterceptor(ServerInterceptor):
    """Runs :meth:`ResidentAuthority.check` for every portal call in a resident's name."""

    def __init__(self, authority: ResidentAuthority) -> None:
        self._authority = authority

    def intercept(
        self,
        method: Callable[..., Any],
        request: Any,
        context: grpc.ServicerContext,
        method_name: str,
    ) -> Any:
        if method_name in ACTS_FOR_RESIDENT and current_caller() == PORTAL_IDENTITY:
            metadata = dict(context.invocation_metadata() or ())
            self._authority.check(
                method_name, request, metadata.get(GRANT_HEADER), metadata.get(STEP_UP_HEADER)
            )
        return method(request, context)


def _grant_of(context: grpc.ServicerContext) -> str | None:
    value = dict(context.invocation_metadata() or ()).get(GRANT_HEADER)
    return str(value) if value else None


class ResidentAuthorityServicer(pb_grpc.ResidentAuthorityServicer):
    """proto ↔ :class:`ResidentAuthority`."""

    def __init__(self, authority: ResidentAuthority) -> None:
        self._a = authority

    def IssueChallenge(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        issued = self._a.issue_challenge(request.audience, request.action, _grant_of(context))
        response = pb.IssueChallengeResponse(nonce=issued.nonce, issued_at=issued.issued_at)
        response.expires_at.FromDatetime(issued.expires_at)
        return response

    def OpenGrant(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        opened = self._a.open_grant(
            request.certificate_pem,
            request.nonce,
            request.audience,
            int(request.issued_at),
            bytes(request.signature),
        )
        response = pb.OpenGrantResponse(
            grant=opened.grant, token=opened.token, serial=opened.serial
        )
        response.expires_at.FromDatetime(opened.expires_at)
        return response

    def EndGrant(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._a.end_grant(_grant_of(context))
        return pb.EndGrantResponse()
