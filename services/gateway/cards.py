"""The portal's view of the card authority: verify a card signature, identify its holder.

Verification is local (:func:`mynumber_core.card.verify_card_signature`: chain to the card CA,
validity, key usage, CRL, signature); the CA certificate and the CRL come from the registry's
``Cards.GetRevocationList`` and are cached for a short, configurable time. Who holds a card is
asked of the registry (``Cards.IdentifyCard``), which answers with the portal's token.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol

import grpc
from mynumber.registry.v1 import registry_pb2 as pb

from mynumber_core import errors
from mynumber_core.card import verify_card_signature
from mynumber_core.registry_client import RegistryClient
from mynumber_core.rpc_errors import as_domain_error


@dataclass(frozen=True)
class Holder:
    """The person a card belongs to, as the portal knows them."""

    token: str
    active: bool


class CardAuthority(Protocol):
    """What the use cases need from the card authority (tests may pass a fake)."""

    def verify(self, certificate_pem: bytes, message: bytes, signature: bytes) -> str:
        """The card serial, or :class:`~mynumber_core.card.CardRejected`."""
        ...

    def identify(self, serial: str) -> Holder:
        """The holder of a card; Unauthenticated when the registry knows no such card."""
        ...


class RegistryCardAuthority:
    """Card checks against the registry's CA and CRL (cached ``cache_seconds``)."""

    def __init__(self, registry: RegistryClient, *, cache_seconds: float = 30.0) -> None:
        self._registry = registry
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: tuple[float, bytes, bytes] | None = None

    def _revocation(self) -> tuple[bytes, bytes]:
        with self._lock:
            now = time.monotonic()
            if self._cached and now - self._cached[0] < self._cache_seconds:
                return self._cached[1], self._cached[2]
        try:
            response = self._registry.cards.GetRevocationList(pb.GetRevocationListRequest())
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        crl, ca = bytes(response.crl_pem), bytes(response.ca_certificate_pem)
        with self._lock:
            self._cached = (time.monotonic(), crl, ca)
        return crl, ca

    def verify(self, certificate_pem: bytes, message: bytes, signature: bytes) -> str:
        """Verify chain, validity, usage, revocation and signature; return the serial."""
        crl, ca = self._revocation()
        return verify_card_signature(certificate_pem, ca, crl, message, signature)

    def identify(self, serial: str) -> Holder:
        """Ask the registry which resident holds this card (as a portal token)."""
        try:
            response = self._registry.cards.IdentifyCard(pb.IdentifyCardRequest(serial=serial))
        except grpc.RpcError as exc:
            error = as_domain_error(exc, "registry")
            if isinstance(error, errors.NotFound | errors.PermissionDenied):
                raise errors.Unauthenticated(
                    "this card is not registered to a resident; ask your municipality"
                ) from None
            if isinstance(error, errors.FailedPrecondition):
                raise errors.Unauthenticated(error.message) from None
            raise error from None
        active = response.status in (
            pb.PERSON_STATUS_ACTIVE,
            pb.PERSON_STATUS_NUMBER_REISSUED,
            pb.PERSON_STATUS_UNSPECIFIED,
        )
        return Holder(token=str(response.token), active=active)
