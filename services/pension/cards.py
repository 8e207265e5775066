"""Card-signed pension claims: check the claimant's My Number Card signature and that the card
belongs to the claimant.

The signature is checked locally by the shared :class:`mynumber_core.card.CardVerifier`
(chain to the card CA, validity, key usage, the CA's cached CRL, ECDSA); who holds the card is
asked of the registry (``Cards.IdentifyCard``), which answers with the pension token of a
holder pension enrolled.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Protocol

from mynumber_core import errors
from mynumber_core.card import CardRegistry, CardVerifier, action_message

CLAIM_ACTION = "pension_claim"
NONCE_MAX_AGE = dt.timedelta(minutes=10)
_NONCE_RE = re.compile(r"([0-9]{10})\.[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True)
class CardSignature:
    """What a card-signed claim carries."""

    certificate_pem: bytes
    signature: bytes
    nonce: str


def claim_message(basic_pension_number: str, claim_id: str, nonce: str) -> bytes:
    """The exact bytes the claimant's card signs."""
    return action_message(
        CLAIM_ACTION, {"basic_pension_number": basic_pension_number, "claim_id": claim_id}, nonce
    )


def check_nonce(nonce: str, now: dt.datetime) -> str:
    """``<unix seconds>.<random>``, made at most ten minutes ago (a fresh signature)."""
    match = _NONCE_RE.fullmatch(nonce or "")
    if match is None:
        raise errors.InvalidInput(
            "card.nonce must be '<unix seconds>.<16-64 random letters/digits>' made when signing"
        )
    made = dt.datetime.fromtimestamp(int(match.group(1)), dt.UTC)
    if not now - NONCE_MAX_AGE <= made <= now + dt.timedelta(minutes=1):
        raise errors.Unauthenticated(
            "the card signature is not fresh (older than 10 minutes); sign the claim again"
        )
    return nonce


@dataclass(frozen=True)
class CardHolder:
    """Who signed: the holder's pension token and the card's serial (lowercase hex)."""

    token: str
    serial: str


class ClaimCards(Protocol):
    """Verify a card signature and name its holder (tests may pass a fake)."""

    def holder(self, card: CardSignature, message: bytes) -> CardHolder:
        """The card's holder and serial; Unauthenticated/PermissionDenied else."""
        ...


class RegistryClaimCards:
    """Card checks through the shared :class:`mynumber_core.card.CardVerifier` (CA, cached
    CRL, card records), worded for a pension claimant."""

    def __init__(self, registry: CardRegistry, *, cache_seconds: float = 30.0) -> None:
        self._authority = CardVerifier(registry, cache_seconds=cache_seconds)

    def holder(self, card: CardSignature, message: bytes) -> CardHolder:
        """Verify chain, validity, usage, revocation and signature, then identify the holder."""
        serial = self._authority.verify(card.certificate_pem, message, card.signature)
        try:
            record = self._authority.identify(serial)
        except (errors.NotFound, errors.FailedPrecondition) as error:
            raise errors.Unauthenticated(error.message) from None
        except errors.PermissionDenied:
            raise errors.PermissionDenied(
                "this card does not belong to the claimant (its holder is not enrolled here)"
            ) from None
        return CardHolder(token=record.token, serial=serial)
