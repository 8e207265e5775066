"""Card login, one-time codes and sessions; step-up comes from :mod:`.step_up` and the
shared challenge core from :mod:`.challenges` (``Auth`` is all three, as callers expect).

A challenge works once: it is consumed before its signature is checked. Codes are approved by
the CLI with the card; the browser polls for the session or for the approval.
"""

from __future__ import annotations

import secrets

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.clock import aware
from mynumber_core.resident_grants import OpenedGrant
from services.gateway import domain
from services.gateway.models import Challenge, PortalSession, Resident
from services.gateway.usecases.challenges import (
    CHALLENGE_TTL,
    MAX_DEVICE,
    PURGE_AFTER,
    PURGE_EVERY,
    IssuedChallenge,
    NewSession,
    Requester,
    SessionInfo,
    StepUpProof,
    decode_signature,
    new_match_number,
)
from services.gateway.usecases.context import resident_by_token
from services.gateway.usecases.step_up import StepUp

log = structlog.get_logger("mynumber.gateway")


class Auth(StepUp):
    """Challenges, login, codes, sessions and step-up."""

    def start_login(
        self, *, with_code: bool = False, requester: Requester | None = None
    ) -> IssuedChallenge:
        """A login challenge: sign it directly, or approve its code with the CLI (the code's
        approver sees ``requester`` and must type the number shown on the asking screen)."""
        return self._issue("login", with_code=with_code, requester=requester)

    def _open_grant(
        self, challenge: IssuedChallenge, certificate_pem: str, raw: bytes
    ) -> OpenedGrant:
        """The registry checks the card's signature itself and opens the resident's grant."""
        return self._ctx.registry.open_grant(
            certificate_pem, challenge.nonce, challenge.audience, challenge.issued_at, raw
        )

    def _open_session(self, session: Session, resident: Resident, grant: OpenedGrant) -> NewSession:
        now = self._ctx.clock()
        session_id = domain.new_secret()
        # A session never outlives the resident's grant at the registry.
        expires = min(now + self._ctx.session_ttl, aware(grant.expires_at))
        session.add(
            PortalSession(
                id_hash=domain.secret_hash(session_id),
                resident_id=resident.id,
                card_serial=grant.serial,
                created_at=now,
                expires_at=expires,
                registry_grant=grant.grant,
            )
        )
        resident.last_login_at = now
        return NewSession(session_id, expires)

    def login(self, challenge_id: str, certificate_pem: str, signature: str) -> NewSession:
        """Log in with a card signature over a login challenge (single use)."""
        domain.parse_id("challenge_id", challenge_id)
        with self._ctx.db.transaction() as session:
            row = self._check_open(session.get(Challenge, challenge_id), "login challenge")
            if row.kind != "login" or row.code_hash is not None:
                raise errors.NotFound("no such login challenge; start again to get a new one")
            # Consumed before the signature is checked: a challenge gets one attempt.
            row.used_at, row.status = self._ctx.clock(), "used"
            issued = self._as_issued(row)
        self._verify_card(issued, certificate_pem, signature)  # the card's own reasons first
        grant = self._open_grant(issued, certificate_pem, decode_signature(signature))
        with self._ctx.db.transaction() as session:
            resident = resident_by_token(self._ctx, session, grant.token, create=True)
            opened = self._open_session(session, resident, grant)
        log.info("login", method="signature")
        return opened

    def describe_code(self, code: str) -> IssuedChallenge:
        """What a one-time code asks the card to sign (shown by the CLI before signing)."""
        code = domain.parse_code(code)
        with self._ctx.db.transaction() as session:
            # Unique among live codes only (an old used or burned row may share the hash
            # until the cleanup): the pending one, if any, is the code being approved.
            rows = session.scalars(
                select(Challenge).where(Challenge.code_hash == domain.secret_hash(code))
            ).all()
            row = next((r for r in rows if r.status == "pending"), rows[0] if rows else None)
            row = self._check_open(row, "code")
            if row.status != "pending":
                raise errors.FailedPrecondition("this code was already approved")
            return self._as_issued(row)

    def approve_code(
        self, code: str, certificate_pem: str, signature: str, match_number: str | None = None
    ) -> str:
        """Approve a code with a card signature and the number shown on the screen that asked
        for it; returns the challenge kind. A wrong number burns the code (a phished code
        cannot be retried until it matches)."""
        issued = self.describe_code(code)
        serial = self._verify_card(issued, certificate_pem, signature)
        token = self._holder(serial)
        with self._ctx.db.transaction() as session:
            row = session.get(Challenge, issued.challenge_id)
            row = self._check_open(row, "code")
            if row.status != "pending":
                raise errors.FailedPrecondition("this code was already approved")
            resident = resident_by_token(self._ctx, session, token, create=True)
            rejected = False
            mismatch = bool(row.match_number) and not secrets.compare_digest(
                str(match_number or ""), row.match_number or ""
            )
            if row.kind == "action":
                owner = session.get(PortalSession, row.session_hash or "")
                rejected = owner is None or owner.resident_id != resident.id
            rejected = rejected or mismatch
            if rejected:
                # Burned (committed): a code someone else's card tried to approve is dead.
                row.status, row.used_at = "rejected", self._ctx.clock()
            else:
                row.status = "approved"
                row.approved_resident_id = resident.id
                row.approved_serial = serial
                row.approved_certificate = certificate_pem
                row.approved_signature = signature
            kind = row.kind
        if mismatch:
            raise errors.PermissionDenied(
                "the number does not match the one shown on the screen that asked for this "
                "code, so the code is no longer valid; if you did not start this yourself, "
                "someone else did: do not approve codes you were sent"
            )
        if rejected:
            raise errors.PermissionDenied(
                "this card belongs to someone else than the logged-in resident; the code is "
                "no longer valid"
            )
        return kind

    def poll_login(self, challenge_id: str, poll_secret: str) -> NewSession | None:
        """The browser's poll: a session once its code is approved, None while pending."""
        domain.parse_id("challenge_id", challenge_id)
        if not isinstance(poll_secret, str) or not 16 <= len(poll_secret) <= 128:
            raise errors.InvalidInput("poll_secret must be the secret returned with the code")
        with self._ctx.db.transaction() as session:
            row = session.get(Challenge, challenge_id)
            if (
                row is None
                or row.kind != "login"
                or row.poll_hash != domain.secret_hash(poll_secret)
            ):
                raise errors.NotFound("no such login; start again to get a new code")
            row = self._check_open(row, "login code")
            if row.status != "approved":
                return None
            resident = session.get(Resident, row.approved_resident_id or "")
            if resident is None:
                raise errors.NotFound("no such login; start again to get a new code")
            row.used_at, row.status = self._ctx.clock(), "used"
            issued = self._as_issued(row)
            certificate, signature = row.approved_certificate or "", row.approved_signature or ""
        grant = self._open_grant(issued, certificate, decode_signature(signature))
        with self._ctx.db.transaction() as session:
            resident = resident_by_token(self._ctx, session, grant.token, create=True)
            opened = self._open_session(session, resident, grant)
        log.info("login", method="code")
        return opened

    # ------------------------------------------------------------------ sessions

    def authenticate(self, session_id: str | None) -> SessionInfo:
        """The resident behind a session cookie; UNAUTHENTICATED when missing or expired."""
        if not session_id or len(session_id) > 128:
            raise errors.Unauthenticated("log in with your My Number Card first")
        digest = domain.secret_hash(session_id)
        with self._ctx.db.transaction() as session:
            # One statement for the session and its resident's token (every page runs this).
            found = session.execute(
                select(PortalSession, Resident.token)
                .join(Resident, Resident.id == PortalSession.resident_id)
                .where(PortalSession.id_hash == digest)
            ).first()
            if found is None or found[0].ended_at is not None:
                raise errors.Unauthenticated("your session is not valid; log in again")
            row, token = found
            if aware(row.expires_at) < self._ctx.clock():
                raise errors.Unauthenticated("your session has expired; log in again")
            if self._ctx.cards.is_revoked(row.card_serial):
                row.ended_at = self._ctx.clock()  # committed: the session is over for good
                revoked = True
            else:
                revoked = False
            info = SessionInfo(
                row.resident_id,
                token,
                digest,
                aware(row.expires_at),
                row.registry_grant or "",
            )
        if revoked:
            raise errors.Unauthenticated(
                "the card you logged in with was revoked; log in again with your current card"
            )
        return info

    def logout(self, sess: SessionInfo) -> None:
        """End the session."""
        with self._ctx.db.transaction() as session:
            row = session.get(PortalSession, sess.session_hash)
            if row is not None:
                row.ended_at = self._ctx.clock()
        if sess.grant:
            try:
                self._ctx.registry.end_grant(sess.grant)
            except errors.DomainError:  # the grant expires on its own within minutes
                log.warning("grant not ended at logout")


__all__ = [
    "CHALLENGE_TTL",
    "MAX_DEVICE",
    "PURGE_AFTER",
    "PURGE_EVERY",
    "Auth",
    "IssuedChallenge",
    "NewSession",
    "Requester",
    "SessionInfo",
    "StepUpProof",
    "decode_signature",
    "new_match_number",
]
