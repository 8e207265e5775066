"""Passkeys at the registry (issue 15, remaining gap 3): a passkey opens a grant, and the
gateway still cannot act alone.

* **Registration.** A resident holding a card grant registers a passkey's public key here
  (``RegisterPasskey``). The resident-authority interceptor
  (:mod:`services.registry.resident_authority`) has checked the grant and a fresh card
  step-up ``register_passkey`` over the WebAuthn registration challenge; this module
  verifies the registration itself (the challenge the card approved, the origin, RP ID =
  the origin's host, user verification) with the ``webauthn`` package and keeps the COSE
  public key, bound to the person and to the card whose grant registered it.
* **Login.** ``OpenPasskeyGrant`` takes a WebAuthn assertion over one of the registry's own
  single-use login challenges (the nonce's bytes are the WebAuthn challenge; consumed before
  the assertion is checked, so one attempt each) and verifies it with the key held here:
  origin = the challenge's audience, the RP ID registered, user verification required, a sign
  count that must grow (moved forward with a compare-and-set, so a cloned authenticator or a
  replay racing the real login fails). Then a grant is opened exactly as for a card login,
  bound to the registering card: revoking that card ends passkey grants as well.

A compromised gateway holds no passkey private key, so it can answer none of the registry's
challenges, and it cannot register a key of its own without the card's step-up: it opens no
grant by itself.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from urllib.parse import urlsplit

import structlog
from sqlalchemy import update
from webauthn import verify_authentication_response, verify_registration_response
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException

from mynumber_core import errors
from mynumber_core.clock import utc_now
from services.registry.grant_models import ResidentPasskey
from services.registry.resident_authority import (
    PORTAL_IDENTITY,
    OpenedGrant,
    ResidentAuthority,
)
from services.registry.usecases import Registry

log = structlog.get_logger("mynumber.registry")

MAX_CREDENTIAL_JSON = 16_384
MAX_CREDENTIAL_ID = 1400
_BAD_WEBAUTHN = (WebAuthnException, ValueError, KeyError, TypeError, AttributeError)
"""Everything the ``webauthn`` checks raise for a malformed or wrong credential."""


def _credential_json(value: str) -> str:
    if not isinstance(value, str) or not 2 <= len(value) <= MAX_CREDENTIAL_JSON:
        raise errors.InvalidInput(
            "credential_json must be the browser's PublicKeyCredential as JSON "
            f"(credential.toJSON(), at most {MAX_CREDENTIAL_JSON} characters)"
        )
    return value


def _origin(value: str) -> tuple[str, str]:
    """(origin, RP ID) of a portal origin such as ``https://myna.example``."""
    parts = urlsplit(value if isinstance(value, str) else "")
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/"):
        raise errors.InvalidInput(
            "origin must be the portal's origin, e.g. https://myna.example (scheme and host)"
        )
    return f"{parts.scheme}://{parts.netloc}", parts.hostname


class PasskeyGrants:
    """Register passkeys under a card grant; open grants from passkey assertions."""

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

    def register(
        self, grant: str | None, token: str, credential_json: str, challenge: bytes, origin: str
    ) -> str:
        """Verify a WebAuthn registration the card approved (the interceptor checked the
        grant and the step-up over ``challenge``) and keep its public key."""
        raw = _credential_json(credential_json)
        expected_origin, rp_id = _origin(origin)
        if not 16 <= len(challenge) <= 64:
            raise errors.InvalidInput("challenge must be the 16 to 64 bytes the browser signed")
        try:
            verified = verify_registration_response(
                credential=raw,
                expected_challenge=challenge,
                expected_rp_id=rp_id,
                expected_origin=expected_origin,
                require_user_verification=True,
            )
        except _BAD_WEBAUTHN as exc:
            raise errors.PermissionDenied(
                f"the passkey registration could not be verified ({type(exc).__name__}); "
                "register it again from the portal's own page"
            ) from None
        credential_id = bytes_to_base64url(verified.credential_id)
        if len(credential_id) > MAX_CREDENTIAL_ID:
            raise errors.InvalidInput("the credential id is too long")
        now = self._clock()
        with self._db.transaction() as session:
            held = self._authority._grant(session, grant)
            _, person = self._registry.person_for(session, PORTAL_IDENTITY, token)
            if session.get(ResidentPasskey, credential_id) is not None:
                raise errors.AlreadyExists("this passkey is already registered")
            session.add(
                ResidentPasskey(
                    credential_id=credential_id,
                    person_id=person.id,
                    serial=held.serial,
                    public_key=verified.credential_public_key,
                    rp_id=rp_id,
                    sign_count=verified.sign_count,
                    created_at=now,
                )
            )
        log.info("passkey registered at the registry")
        return credential_id

    def open_grant(self, nonce: str, audience: str, credential_json: str) -> OpenedGrant:
        """A grant for the holder of the passkey that signed this registry login challenge."""
        raw = _credential_json(credential_json)
        try:
            credential_id = str(json.loads(raw).get("id", ""))
        except (ValueError, AttributeError):
            raise errors.InvalidInput(
                "credential_json must be a PublicKeyCredential as JSON"
            ) from None
        if not credential_id or len(credential_id) > MAX_CREDENTIAL_ID:
            raise errors.InvalidInput("credential_json has no valid credential id")
        challenge = self._authority._consume(nonce, "login")
        if challenge.audience != audience:
            raise errors.Unauthenticated(
                "the passkey login does not match the challenge's origin; start again"
            )
        expected_origin, rp_id = _origin(audience)
        with self._db.transaction() as session:
            key = session.get(ResidentPasskey, credential_id)
            if key is None:
                raise errors.Unauthenticated(
                    "this passkey is not registered at the registry; log in with your card "
                    "and register it"
                )
            public_key, count, registered_rp = key.public_key, key.sign_count, key.rp_id
        if registered_rp != rp_id:
            raise errors.Unauthenticated("this passkey was registered for another site")
        try:
            verified = verify_authentication_response(
                credential=raw,
                expected_challenge=nonce.encode(),
                expected_rp_id=rp_id,
                expected_origin=expected_origin,
                credential_public_key=public_key,
                credential_current_sign_count=count,
                require_user_verification=True,
            )
        except _BAD_WEBAUTHN as exc:
            raise errors.Unauthenticated(
                f"the passkey assertion could not be verified ({type(exc).__name__})"
            ) from None
        now = self._clock()
        with self._db.transaction() as session:
            moved = session.execute(
                update(ResidentPasskey)
                .where(
                    ResidentPasskey.credential_id == credential_id,
                    ResidentPasskey.sign_count == count,
                )
                .values(sign_count=verified.new_sign_count, last_used_at=now)
            )
            if moved.rowcount != 1:
                raise errors.Unauthenticated(
                    "this passkey was used concurrently (a cloned authenticator?); log in again"
                )
            key = session.get(ResidentPasskey, credential_id)
            assert key is not None
            try:
                card = self._authority._active_card(session, key.serial, now)
            except errors.Unauthenticated:
                raise errors.Unauthenticated(
                    "the card this passkey was registered with is no longer active; log in "
                    "with your current card and register the passkey again"
                ) from None
            return self._authority.grant_for_card(session, card, now)
