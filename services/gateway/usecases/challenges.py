"""The challenge core that login, codes and step-up share: the challenge and session
records handed to clients, and issuing, storing, purging, reading, opening and verifying
challenges (one challenge table, the same open/consume/verify checks).

A challenge works once: it is consumed before its signature is checked.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from mynumber_core import errors
from mynumber_core.card import action_message, login_challenge_message
from mynumber_core.clock import aware
from mynumber_core.resident_grants import Acting, StepUpEvidence
from services.gateway import domain
from services.gateway.models import Challenge, PortalSession
from services.gateway.usecases.context import PortalContext, new_id

CHALLENGE_TTL = dt.timedelta(minutes=5)
PURGE_AFTER = dt.timedelta(minutes=10)
"""Expired challenges and sessions are deleted this long after they expired or ended."""
PURGE_EVERY = dt.timedelta(minutes=1)


def decode_signature(value: str) -> bytes:
    """A base64 signature from a request."""
    try:
        raw = base64.b64decode(value.encode(), validate=True)
    except (binascii.Error, ValueError, UnicodeError):
        raise errors.InvalidInput("signature must be base64 (standard alphabet)") from None
    if not 8 <= len(raw) <= 512:
        raise errors.InvalidInput("signature has an impossible length")
    return raw


def _certificate(value: str) -> bytes:
    if not isinstance(value, str) or "BEGIN CERTIFICATE" not in value or len(value) > 8192:
        raise errors.InvalidInput("certificate_pem must be the card's PEM certificate")
    return value.encode()


@dataclass(frozen=True)
class SessionInfo:
    """The authenticated resident behind a request."""

    resident_id: str
    token: str
    session_hash: str
    expires_at: dt.datetime
    grant: str = ""
    """The registry grant the resident's card signed at login."""

    def acting(self, step_up: StepUpEvidence | None = None) -> Acting:
        """What a registry call in this resident's name carries (grant, step-up)."""
        if not self.grant:
            raise errors.Unauthenticated(
                "your session has no card login behind it (a passkey login opens the portal "
                "but cannot act at the registry); log in with your My Number Card"
            )
        return Acting(self.grant, step_up)


@dataclass(frozen=True)
class NewSession:
    """A freshly created session: the cookie value is shown once, only its hash is kept."""

    session_id: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Requester:
    """The browser that asked for an approval code: its address, its device (User-Agent,
    shortened) and when."""

    address: str
    device: str
    at: dt.datetime | None = None

    @classmethod
    def of(cls, address: str | None, user_agent: str | None) -> Requester:
        """From the request's client address and User-Agent (both cut to their columns)."""
        device = " ".join((user_agent or "unknown device").split())[:MAX_DEVICE]
        return cls((address or "unknown")[:64], device)


MAX_DEVICE = 200


def new_match_number() -> str:
    """A two-digit number (10-99) the requesting screen shows and the approver must type."""
    return str(secrets.randbelow(90) + 10)


@dataclass(frozen=True)
class IssuedChallenge:
    """A challenge handed to a client."""

    challenge_id: str
    nonce: str
    audience: str
    issued_at: int
    expires_at: dt.datetime
    code: str | None = None
    poll_secret: str | None = None
    action: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    requester: Requester | None = None
    """Who asked for a code (shown by the approving device, so a phished code stands out)."""
    match_number: str | None = None
    """Shown on the requesting screen only; the approver must type it (never in describe)."""

    def message(self) -> bytes:
        """The exact bytes the card must sign."""
        if self.action:
            return action_message(self.action, self.fields, self.nonce)
        return login_challenge_message(self.nonce, self.audience, self.issued_at)


@dataclass(frozen=True)
class StepUpProof:
    """What a sensitive request carries: a challenge id and, unless the challenge was
    approved with its code through the CLI, the card certificate and signature."""

    challenge_id: str
    certificate_pem: str | None = None
    signature: str | None = None


class Challenges:
    """Issue, store, purge, read and check challenges (the base of login and step-up)."""

    def __init__(self, ctx: PortalContext) -> None:
        self._ctx = ctx
        self._last_purge: dt.datetime | None = None

    # ------------------------------------------------------------------ challenges

    def _issue(
        self,
        kind: str,
        *,
        with_code: bool,
        action: str | None = None,
        fields: Mapping[str, str] | None = None,
        session_hash: str | None = None,
        grant: str | None = None,
        requester: Requester | None = None,
    ) -> IssuedChallenge:
        now = self._ctx.clock()
        if action is not None:
            action_message(action, dict(fields or {}), "n")  # validates before the registry
        # The registry issues the nonce (single use, 5 minutes): it accepts card signatures
        # only over its own challenges, so a login or step-up is fresh where it is checked.
        fresh = self._ctx.registry.resident_challenge(
            audience=self._ctx.audience if action is None else "",
            action=action or "",
            grant=grant,
        )
        challenge = IssuedChallenge(
            challenge_id=new_id("C"),
            nonce=fresh.nonce,
            audience=self._ctx.audience,
            issued_at=fresh.issued_at,
            expires_at=min(now + CHALLENGE_TTL, aware(fresh.expires_at)),
            code=domain.new_code() if with_code else None,
            poll_secret=domain.new_secret() if with_code and kind == "login" else None,
            action=action,
            fields=dict(fields or {}),
            requester=replace(requester, at=now) if with_code and requester else None,
            match_number=new_match_number() if with_code else None,
        )
        challenge.message()  # validates action and fields before anything is stored
        self._maybe_purge(now)
        for attempt in range(3):
            try:
                self._store(kind, challenge, session_hash)
                return challenge
            except IntegrityError:
                # A code equal to another *pending* one (40 bits; the partial unique index
                # ignores used and burned codes): draw again, never a 500.
                if not with_code or attempt == 2:
                    raise
                challenge = replace(challenge, code=domain.new_code())
        raise AssertionError("unreachable")

    def _store(self, kind: str, challenge: IssuedChallenge, session_hash: str | None) -> None:
        action = challenge.action
        with self._ctx.db.transaction() as session:
            session.add(
                Challenge(
                    id=challenge.challenge_id,
                    kind=kind,
                    nonce=challenge.nonce,
                    audience=challenge.audience,
                    issued_at=dt.datetime.fromtimestamp(challenge.issued_at, dt.UTC),
                    expires_at=challenge.expires_at,
                    code_hash=domain.secret_hash(challenge.code) if challenge.code else None,
                    poll_hash=(
                        domain.secret_hash(challenge.poll_secret) if challenge.poll_secret else None
                    ),
                    action=action,
                    fields=json.dumps(challenge.fields, sort_keys=True) if action else None,
                    session_hash=session_hash,
                    status="pending",
                    requester_address=challenge.requester.address if challenge.requester else None,
                    requester_device=challenge.requester.device if challenge.requester else None,
                    match_number=challenge.match_number,
                )
            )

    def _maybe_purge(self, now: dt.datetime) -> None:
        if self._last_purge is None or now - self._last_purge >= PURGE_EVERY:
            self._last_purge = now
            self.purge_expired(now)

    def purge_expired(self, now: dt.datetime | None = None) -> tuple[int, int]:
        """The cleanup job: delete challenges and sessions that expired (or ended) more than
        :data:`PURGE_AFTER` ago (codes are unique only among pending ones, so an old row
        never blocks a new code; this keeps the tables small). Safe on every replica at once
        (plain deletes). Returns (challenges, sessions) deleted."""
        cutoff = (now or self._ctx.clock()) - PURGE_AFTER
        with self._ctx.db.transaction() as session:
            challenges = session.execute(delete(Challenge).where(Challenge.expires_at < cutoff))
            sessions = session.execute(
                delete(PortalSession).where(
                    (PortalSession.expires_at < cutoff)
                    | (PortalSession.ended_at.is_not(None) & (PortalSession.ended_at < cutoff))
                )
            )
        return int(getattr(challenges, "rowcount", 0)), int(getattr(sessions, "rowcount", 0))

    def _as_issued(self, row: Challenge) -> IssuedChallenge:
        requester = None
        if row.requester_address or row.requester_device:
            requester = Requester(
                row.requester_address or "unknown",
                row.requester_device or "unknown device",
                aware(row.issued_at),
            )
        return IssuedChallenge(
            challenge_id=row.id,
            nonce=row.nonce,
            audience=row.audience,
            issued_at=int(aware(row.issued_at).timestamp()),
            expires_at=aware(row.expires_at),
            action=row.action,
            fields=json.loads(row.fields) if row.fields else {},
            requester=requester,
        )

    def _check_open(self, row: Challenge | None, what: str) -> Challenge:
        if row is None:
            raise errors.NotFound(f"no such {what}; start again to get a new one")
        if row.used_at is not None or row.status in ("used", "rejected"):
            raise errors.Unauthenticated(
                f"this {what} was already used; each one works once — start again"
            )
        if aware(row.expires_at) < self._ctx.clock():
            raise errors.Unauthenticated(f"this {what} has expired; start again")
        return row

    def _verify_card(self, challenge: IssuedChallenge, certificate_pem: str, signature: str) -> str:
        cert = _certificate(certificate_pem)
        raw = decode_signature(signature)
        return self._ctx.cards.verify(cert, challenge.message(), raw)

    def _holder(self, serial: str) -> str:
        holder = self._ctx.cards.identify(serial)
        if not holder.active:
            raise errors.Unauthenticated("this card's holder is not an active resident")
        return holder.token
