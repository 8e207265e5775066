"""Card-signed pension claims: check the claimant's My Number Card signature and that the card
belongs to the claimant.

The signature is checked locally (:func:`mynumber_core.card.verify_card_signature`: chain to
the card CA, validity, key usage, the CA's current CRL, ECDSA) against the CA certificate and
CRL from ``Cards.GetRevocationList``; who holds the card is asked of the registry
(``Cards.IdentifyCard``), which answers with the pension token of a holder pension enrolled.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Protocol

import grpc
from mynumber.registry.v1 import registry_pb2 as rpb

from mynumber_core import errors
from mynumber_core.card import action_message, verify_card_signature
from mynumber_core.registry_client import RegistryClient
from mynumber_core.rpc_errors import as_domain_error

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
    """Card checks against the registry's CA, CRL and card records."""

    def __init__(self, registry: RegistryClient) -> None:
        self._registry = registry

    def holder(self, card: CardSignature, message: bytes) -> CardHolder:
        """Verify chain, validity, usage, revocation and signature, then identify the holder."""
        try:
            crl = self._registry.cards.GetRevocationList(rpb.GetRevocationListRequest())
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        serial = verify_card_signature(
            card.certificate_pem,
            bytes(crl.ca_certificate_pem),
            bytes(crl.crl_pem),
            message,
            card.signature,
        )
        try:
            holder = self._registry.cards.IdentifyCard(rpb.IdentifyCardRequest(serial=serial))
        except grpc.RpcError as exc:
            error = as_domain_error(exc, "registry")
            if isinstance(error, errors.NotFound | errors.FailedPrecondition):
                raise errors.Unauthenticated(error.message) from None
            if isinstance(error, errors.PermissionDenied):
                raise errors.PermissionDenied(
                    "this card does not belong to the claimant (its holder is not enrolled here)"
                ) from None
            raise error from None
        return CardHolder(token=str(holder.token), serial=serial)
