"""Passkeys (WebAuthn) for the portal: a resident who logged in with the card registers a
passkey; later a passkey login opens a portal session that can act at the registry.

A passkey assertion is bound to the portal's origin by the browser, so a phished login code is
worthless against it. The registry, not the portal, decides what a passkey is worth:

- **registration** needs the card: after the browser created the credential, the resident
  approves a ``register_passkey`` step-up over the registration challenge with the card, and
  the portal hands the registration to the registry (``RegisterPasskey``), which verifies it
  itself and keeps the public key bound to the person and the card;
- **login** answers a challenge the *registry* issued (its nonce's bytes are the WebAuthn
  challenge); the registry verifies the assertion with the key it holds (origin, RP ID, user
  verification, sign count) and opens a grant (``OpenPasskeyGrant``), which the session
  carries like a card login's. The gateway never holds a credential that could open a grant
  by itself.

Sensitive actions still need a fresh card signature (step-up). Revoking the card that
registered a passkey ends its grants at the registry.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy import delete, select
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from mynumber_core import errors
from mynumber_core.clock import aware
from services.gateway import domain
from services.gateway.models import Passkey, PasskeyChallenge, PortalSession
from services.gateway.usecases.auth import Auth, NewSession, SessionInfo, StepUpProof
from services.gateway.usecases.context import PortalContext, new_id, resident_by_token

log = structlog.get_logger("mynumber.gateway")

CHALLENGE_TTL = dt.timedelta(minutes=5)
MAX_CREDENTIAL_JSON = 16_384
RP_NAME = "マイナポータル"


@dataclass(frozen=True)
class PasskeyOptions:
    """Options for ``navigator.credentials.create/get`` (WebAuthn JSON) and their challenge."""

    challenge_id: str
    options: dict[str, Any]
    approve: dict[str, str] | None = None
    """For a registration: the ``register_passkey`` step-up fields the card approves."""


def _credential(value: Any) -> str:
    if isinstance(value, dict):
        value = json.dumps(value)
    if not isinstance(value, str) or not 2 <= len(value) <= MAX_CREDENTIAL_JSON:
        raise errors.InvalidInput(
            "credential must be the browser's PublicKeyCredential as JSON (credential.toJSON())"
        )
    return value


class Passkeys:
    """Register a passkey from a card session; log in with it."""

    def __init__(self, ctx: PortalContext, auth: Auth | None = None) -> None:
        self._ctx = ctx
        self._auth = auth
        parts = urlsplit(ctx.audience)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.rp_id = parts.hostname or "localhost"

    def _store_challenge(self, kind: str, challenge: bytes, session_hash: str | None) -> str:
        now = self._ctx.clock()
        challenge_id = new_id("K")
        with self._ctx.db.transaction() as session:
            session.execute(
                delete(PasskeyChallenge).where(PasskeyChallenge.expires_at < now - CHALLENGE_TTL)
            )
            session.add(
                PasskeyChallenge(
                    id=challenge_id,
                    kind=kind,
                    challenge=bytes_to_base64url(challenge),
                    session_hash=session_hash,
                    expires_at=now + CHALLENGE_TTL,
                )
            )
        return challenge_id

    def _consume(self, challenge_id: str, kind: str, session_hash: str | None) -> bytes:
        domain.parse_id("challenge_id", challenge_id)
        now = self._ctx.clock()
        with self._ctx.db.transaction() as session:
            row = session.get(PasskeyChallenge, challenge_id)
            if row is None or row.kind != kind or row.session_hash != session_hash:
                raise errors.NotFound("no such passkey challenge; start again")
            if row.used_at is not None:
                raise errors.Unauthenticated("this passkey challenge was already used; start again")
            if aware(row.expires_at) < now:
                raise errors.Unauthenticated("this passkey challenge has expired; start again")
            row.used_at = now  # consumed before the response is checked: one attempt
            return base64url_to_bytes(row.challenge)

    # ------------------------------------------------------------------ registration

    def registration_options(self, sess: SessionInfo) -> PasskeyOptions:
        """Options to create a passkey; only a session opened with the card may add one."""
        sess.acting()  # a passkey session (no card grant) cannot add passkeys
        with self._ctx.db.transaction() as session:
            existing = session.scalars(
                select(Passkey.credential_id).where(Passkey.resident_id == sess.resident_id)
            ).all()
        challenge = secrets.token_bytes(32)
        options = generate_registration_options(
            rp_id=self.rp_id,
            rp_name=RP_NAME,
            user_id=sess.resident_id.encode(),
            user_name=f"resident-{sess.resident_id[-6:]}",
            user_display_name="マイナポータル",
            challenge=challenge,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in existing
            ],
        )
        challenge_id = self._store_challenge("register", challenge, sess.session_hash)
        return PasskeyOptions(
            challenge_id,
            json.loads(options_to_json(options)),
            {"challenge": bytes_to_base64url(challenge)},
        )

    def register(
        self,
        sess: SessionInfo,
        challenge_id: str,
        credential: Any,
        proof: StepUpProof | None = None,
    ) -> str:
        """Verify the browser's new credential, have the registry register it under the
        card's ``register_passkey`` step-up over the registration challenge, and bind it to
        the resident here too; returns its id."""
        sess.acting()
        raw = _credential(credential)
        if proof is None:
            raise errors.Unauthenticated(
                "registering a passkey needs your card: request a register_passkey approval "
                "for this registration's challenge (POST /api/step-up) and approve it"
            )
        expected = self._consume(challenge_id, "register", sess.session_hash)
        try:
            verified = verify_registration_response(
                credential=raw,
                expected_challenge=expected,
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                require_user_verification=True,
            )
        except (
            WebAuthnException,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
        ) as exc:
            raise errors.PermissionDenied(
                f"the passkey could not be verified ({exc}); try again from the portal's own page"
            ) from None
        assert self._auth is not None, "Passkeys needs Auth to register"
        evidence = self._auth.consume_step_up(
            sess, proof, "register_passkey", {"challenge": bytes_to_base64url(expected)}
        )
        credential_id = self._ctx.registry.register_passkey(
            sess.token, raw, expected, self.origin, acting=sess.acting(evidence)
        )
        now = self._ctx.clock()
        with self._ctx.db.transaction() as session:
            owner = session.get(PortalSession, sess.session_hash)
            if owner is None:
                raise errors.Unauthenticated("your session is not valid; log in again")
            if session.get(Passkey, credential_id) is not None:
                raise errors.AlreadyExists("this passkey is already registered")
            session.add(
                Passkey(
                    credential_id=credential_id,
                    resident_id=sess.resident_id,
                    card_serial=owner.card_serial,
                    public_key=bytes_to_base64url(verified.credential_public_key),
                    sign_count=verified.sign_count,
                    created_at=now,
                )
            )
        log.info("passkey registered")
        return credential_id

    def count(self, sess: SessionInfo) -> int:
        """How many passkeys the resident has."""
        with self._ctx.db.transaction() as session:
            return len(
                session.scalars(
                    select(Passkey.credential_id).where(Passkey.resident_id == sess.resident_id)
                ).all()
            )

    # ------------------------------------------------------------------ login

    def login_options(self) -> PasskeyOptions:
        """Options to log in with a discoverable passkey (the browser offers the resident's);
        the challenge is a registry login challenge's nonce (its bytes)."""
        challenge = self._ctx.registry.resident_challenge(audience=self.origin).nonce.encode()
        options = generate_authentication_options(
            rp_id=self.rp_id,
            challenge=challenge,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        challenge_id = self._store_challenge("login", challenge, None)
        return PasskeyOptions(challenge_id, json.loads(options_to_json(options)))

    def login(self, challenge_id: str, credential: Any) -> NewSession:
        """Hand a passkey assertion to the registry, which verifies it (origin and RP ID
        bound, its own single-use challenge, sign count) and opens the resident's grant; the
        session carries that grant like a card login's."""
        raw = _credential(credential)
        nonce = self._consume(challenge_id, "login", None).decode()
        grant = self._ctx.registry.open_passkey_grant(nonce, self.origin, raw)
        now = self._ctx.clock()
        with self._ctx.db.transaction() as session:
            resident = resident_by_token(self._ctx, session, grant.token, create=True)
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
            try:
                credential_id = str(json.loads(raw).get("id", ""))[:1400]
            except (ValueError, AttributeError):
                credential_id = ""
            key = session.get(Passkey, credential_id) if credential_id else None
            if key is not None:
                key.last_used_at = now
        log.info("login", method="passkey")
        return NewSession(session_id, expires)
