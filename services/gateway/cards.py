"""The portal's view of the card authority: verify a card signature, identify its holder.

The checks themselves are :class:`mynumber_core.card.CardVerifier` (local verification
against the registry's CA and CRL, cached for a short, configurable time; ``IdentifyCard`` for
the holder, as the portal's token). This module only words the registry's answers for a
resident at the portal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cryptography import x509

from mynumber_core import card, errors
from mynumber_core.registry_client import RegistryClient


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

    def is_revoked(self, serial: str) -> bool:
        """Whether the card is on the card CA's current revocation list."""
        ...


class RegistryCardAuthority:
    """Card checks against the registry's CA and CRL (cached ``cache_seconds``)."""

    def __init__(self, registry: RegistryClient, *, cache_seconds: float = 30.0) -> None:
        self._authority = card.CardVerifier(registry, cache_seconds=cache_seconds)
        self._parsed: tuple[bytes, frozenset[int]] | None = None

    def is_revoked(self, serial: str) -> bool:
        """Whether the card's serial is on the CRL (the cached list, parsed once per list)."""
        pem = self._authority.revocation_list().crl_pem
        parsed = self._parsed
        if parsed is None or parsed[0] != pem:
            crl = x509.load_pem_x509_crl(pem)
            parsed = (pem, frozenset(r.serial_number for r in crl))
            self._parsed = parsed
        try:
            return card.parse_serial(serial) in parsed[1]
        except errors.DomainError:
            return True  # a session whose card serial does not parse has no valid card

    def verify(self, certificate_pem: bytes, message: bytes, signature: bytes) -> str:
        """Verify chain, validity, usage, revocation and signature; return the serial."""
        return self._authority.verify(certificate_pem, message, signature)

    def identify(self, serial: str) -> Holder:
        """Ask the registry which resident holds this card (as a portal token)."""
        try:
            record = self._authority.identify(serial)
        except (errors.NotFound, errors.PermissionDenied):
            raise errors.Unauthenticated(
                "this card is not registered to a resident; ask your municipality"
            ) from None
        except errors.FailedPrecondition as error:
            raise errors.Unauthenticated(error.message) from None
        return Holder(token=record.token, active=record.active)
