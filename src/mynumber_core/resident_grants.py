"""The wire form of the resident's authority (issue 15): the gRPC metadata a portal call in a
resident's name carries to the registry, shared by the registry (which checks it) and the
portal's :class:`~mynumber_core.registry_client.RegistryClient` (which sends it).

- :data:`GRANT_HEADER`: the grant secret the registry returned for a card-signed login;
- :data:`STEP_UP_HEADER`: a fresh step-up, base64url(JSON ``{nonce, fields, signature}``), the
  card's signature over ``action_message(action, fields, nonce)`` for a registry challenge.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from mynumber_core import errors

GRANT_HEADER = "mynumber-resident-grant"
STEP_UP_HEADER = "mynumber-step-up"
MAX_STEP_UP_CHARS = 4096


@dataclass(frozen=True)
class StepUpEvidence:
    """A card signature over one registry step-up challenge for an action and its values."""

    nonce: str
    fields: Mapping[str, str]
    signature: bytes

    def encode(self) -> str:
        """The :data:`STEP_UP_HEADER` value."""
        body = {
            "nonce": self.nonce,
            "fields": dict(self.fields),
            "signature": base64.b64encode(self.signature).decode(),
        }
        return base64.urlsafe_b64encode(json.dumps(body, sort_keys=True).encode()).decode()

    @classmethod
    def decode(cls, value: str) -> StepUpEvidence:
        """Parse a :data:`STEP_UP_HEADER` value; UNAUTHENTICATED when malformed."""
        malformed = errors.Unauthenticated(
            f"the {STEP_UP_HEADER} metadata is malformed: base64url JSON with nonce, fields "
            "and signature"
        )
        if not isinstance(value, str) or len(value) > MAX_STEP_UP_CHARS:
            raise malformed
        try:
            body = json.loads(base64.urlsafe_b64decode(value.encode()))
            nonce, fields = body["nonce"], body["fields"]
            signature = base64.b64decode(body["signature"], validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
            raise malformed from None
        if (
            not isinstance(nonce, str)
            or not isinstance(fields, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
        ):
            raise malformed
        return cls(nonce, fields, signature)


@dataclass(frozen=True)
class Acting:
    """What a portal call in a resident's name carries: the grant, and a step-up if the
    action is sensitive."""

    grant: str
    step_up: StepUpEvidence | None = field(default=None)

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The gRPC metadata pairs."""
        pairs = [(GRANT_HEADER, self.grant)]
        if self.step_up is not None:
            pairs.append((STEP_UP_HEADER, self.step_up.encode()))
        return tuple(pairs)


@dataclass(frozen=True)
class RegistryChallenge:
    """A single-use challenge the registry issued for the resident's card."""

    nonce: str
    issued_at: int
    expires_at: dt.datetime


@dataclass(frozen=True)
class OpenedGrant:
    """A grant the registry opened for a card-signed login: the secret (kept by the portal
    for the session), the holder's portal token, its expiry and the card's serial."""

    grant: str
    token: str
    expires_at: dt.datetime
    serial: str
