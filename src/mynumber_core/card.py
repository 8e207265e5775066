"""The My Number Card's user-authentication function (JPKI 利用者証明用電子証明書), in software.

A card is an ECDSA P-256 key pair made on the resident's side and a certificate the registry's
card CA issues for it. The certificate says nothing about the holder: no My Number, no name,
no address — only a random serial, which the registry alone maps to a person (as a real JPKI
user-authentication certificate carries no basic facts). The private key never leaves the card
file, which is PIN-protected like the real card's 4-digit user-authentication PIN.

**The PIN can only be tried online, three times** (issue 15). A card file
(``mynumber-card/2``) seals the PKCS#8 key with AES-256-GCM under a key derived from the
output of an oblivious PRF of the PIN, evaluated by the registry (the card authority) with a
per-card secret key: RFC 9497 VOPRF mode, suite ristretto255-SHA512, through the ``voprf``
package. The registry sees only a blinded group element, never the PIN; the card file alone
holds nothing that tells a right PIN from a wrong one, so an offline search of the 10,000 PINs
learns nothing. Each evaluation is reserved against the card's counter first: three
evaluations not followed by a proof of success (a signature by the unsealed card key,
:func:`pin_confirmation_message`) lock the card, JPKI style, until the municipality counter
unlocks it or a new card is issued; the resident is told. The registry's public OPRF key for
the card is pinned in the file and every answer's DLEQ proof is checked, so a false
"authority" cannot feed the client another key's outputs.

Why ``voprf`` and this suite: RFC 9497 needs prime-order group arithmetic and hash-to-group,
which ``cryptography`` does not expose (only ECDH/ECDSA on whole keys), so an OPRF "on
cryptography primitives" would mean home-made point arithmetic. ``voprf`` binds the Rust
``voprf`` crate (curve25519-dalek; the OPRF under ``opaque-ke``), ships wheels, is typed,
and its outputs match the RFC's test vectors (tests/unit/test_card_pin.py). It is young and
has one maintainer, and offers ristretto255 and P-384 but not P-256; ristretto255 is the
RFC's first suite. OPAQUE (RFC 9807) would add a login protocol the card does not need: the
card only needs a key that a counted online step releases.

Older ``mynumber-card/1`` files (AES-GCM under scrypt of the PIN: offline-guessable) still
open with :func:`load_card`; :func:`unlock_card` migrates one to ``mynumber-card/2`` on its
next successful unlock.

This module is shared by everyone who touches a card:

* the counter (CLI, demo seeding) makes a key (:func:`new_card_key`), a CSR with no personal
  data (:func:`make_csr`), and writes the issued card (:func:`write_card_file`);
* the resident's side unlocks it with the PIN and the card authority (:func:`unlock_card`,
  a :class:`PinAuthority`) and signs either a login
  challenge (:func:`login_challenge_message`) or, for a sensitive action, the action itself
  (:func:`action_message`): a fresh signature over exactly what is being approved;
* the gateway checks a signature with :func:`verify_card_signature`: chain to the card CA,
  validity period, key usage, the CA's current CRL and the ECDSA signature. Each failure has
  its own :class:`RejectReason`;
* every service that checks cards (the portal, pension claims) does it through
  :class:`CardVerifier`, the one adapter to the registry's card CA, with its CRL cache.

The card's basics (errors, PIN and serial rules, key, CSR, card file, messages) live in
:mod:`mynumber_core.card_base` and the online PIN in :mod:`mynumber_core.card_pin`; this
module re-exports both, so callers import everything card-related from here.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from mynumber_core.card_base import (
    ACTION_PREFIX,
    CARD_FILE_FORMAT,
    CARD_SUBJECT_CN,
    CLOCK_SKEW,
    LEGACY_CARD_FILE_FORMAT,
    LOGIN_PREFIX,
    MAX_SCRYPT_N,
    MAX_SERIAL_HEX,
    OPRF_SUITE,
    PIN_CONFIRM_PREFIX,
    PIN_LENGTH,
    PIN_TRIES,
    SCRYPT_N,
    Card,
    CardError,
    CardRejected,
    RejectReason,
    action_message,
    load_card,
    login_challenge_message,
    make_csr,
    new_card_key,
    parse_serial,
    serial_hex,
    validate_pin,
    write_card_file,
)
from mynumber_core.card_pin import (
    CARD_ACCESS_PREFIX,
    AccessProof,
    PinAuthority,
    PinEvaluation,
    PinVerdict,
    access_public_bytes,
    card_access_key,
    card_access_message,
    card_serial,
    oprf_input,
    pin_confirmation_message,
    seal_card_file,
    unlock_card,
)

if TYPE_CHECKING:
    from mynumber_core.registry_client import CardHolderRecord, RevocationList


# ------------------------------------------------------------------------- verification


def _reject(reason: RejectReason, message: str) -> CardRejected:
    return CardRejected(reason, message)


def _is_user_auth_certificate(cert: x509.Certificate) -> bool:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if basic.ca:
            return False
    except x509.ExtensionNotFound:
        pass
    key = cert.public_key()
    return (
        usage.digital_signature
        and ExtendedKeyUsageOID.CLIENT_AUTH in eku
        and isinstance(key, ec.EllipticCurvePublicKey)
        and isinstance(key.curve, ec.SECP256R1)
    )


def verify_card_signature(
    certificate_pem: bytes,
    ca_pem: bytes,
    crl_pem: bytes,
    message: bytes,
    signature: bytes,
    *,
    now: dt.datetime | None = None,
) -> str:
    """Check a card signature end to end and return the card's serial (lowercase hex).

    Raises :class:`CardRejected` whose ``reason`` names the first check that failed: the
    certificate parses, chains to the card CA, is within its validity period, is a
    user-authentication certificate, the CRL is the CA's and current, the serial is not on it,
    and the signature verifies.
    """
    now = now or dt.datetime.now(dt.UTC)
    try:
        cert = x509.load_pem_x509_certificate(certificate_pem)
        serial = serial_hex(cert.serial_number)
    except (ValueError, TypeError):
        raise _reject(
            RejectReason.MALFORMED, "the card certificate is not valid PEM X.509"
        ) from None
    try:
        ca = x509.load_pem_x509_certificate(ca_pem)
    except (ValueError, TypeError):
        raise _reject(
            RejectReason.UNTRUSTED_ISSUER, "the card CA certificate is not valid PEM X.509"
        ) from None
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise _reject(
            RejectReason.UNTRUSTED_ISSUER, "this certificate was not issued by the card CA"
        ) from None
    if not ca.not_valid_before_utc - CLOCK_SKEW <= now <= ca.not_valid_after_utc:
        raise _reject(RejectReason.UNTRUSTED_ISSUER, "the card CA certificate is not valid now")
    if now > cert.not_valid_after_utc:
        raise _reject(RejectReason.EXPIRED, "this card's certificate has expired; renew the card")
    if now < cert.not_valid_before_utc - CLOCK_SKEW:
        raise _reject(RejectReason.EXPIRED, "this card's certificate is not valid yet")
    if not _is_user_auth_certificate(cert):
        raise _reject(
            RejectReason.WRONG_USAGE,
            "this is not a user-authentication certificate (digitalSignature, clientAuth, P-256)",
        )
    try:
        crl = x509.load_pem_x509_crl(crl_pem)
    except (ValueError, TypeError):
        raise _reject(RejectReason.CRL_INVALID, "the revocation list is not valid PEM") from None
    if crl.issuer != ca.subject or not crl.is_signature_valid(ca.public_key()):  # type: ignore[arg-type]
        raise _reject(RejectReason.CRL_INVALID, "the revocation list was not signed by the card CA")
    next_update = crl.next_update_utc
    if next_update is None or now > next_update or crl.last_update_utc > now + CLOCK_SKEW:
        raise _reject(
            RejectReason.CRL_INVALID, "the revocation list is out of date; fetch a fresh one"
        )
    if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
        raise _reject(RejectReason.REVOKED, "this card has been revoked")
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)  # checked by _is_user_auth_certificate
    try:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise _reject(
            RejectReason.BAD_SIGNATURE, "the card signature does not match this message"
        ) from None
    return serial


# ------------------------------------------------------------------ the card authority adapter


class CardRegistry(Protocol):
    """The registry calls a card authority needs (``RegistryClient`` or a test fake)."""

    def revocation_list(self) -> RevocationList:
        """The card CA's CRL and certificate."""
        ...

    def identify_card(self, serial: str) -> CardHolderRecord:
        """The card's holder as the caller's token."""
        ...


class CardVerifier:
    """Card checks against the registry's card CA: verify a signature locally, identify a holder.

    The CA certificate and the CRL (``Cards.GetRevocationList``) are cached for
    ``cache_seconds`` (0: fetched for every check), so a busy caller does not ask the registry
    for every signature; a revocation takes effect within that time. Who holds a card is asked
    of the registry every time (``Cards.IdentifyCard``); its errors come back as raised, for
    each caller to word for its own users.
    """

    def __init__(
        self,
        registry: CardRegistry,
        *,
        cache_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._registry = registry
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cached: tuple[float, RevocationList] | None = None

    def revocation_list(self) -> RevocationList:
        """The CA's CRL and certificate, from the cache while it is fresh."""
        with self._lock:
            if self._cached and self._monotonic() - self._cached[0] < self._cache_seconds:
                return self._cached[1]
        fresh = self._registry.revocation_list()
        with self._lock:
            self._cached = (self._monotonic(), fresh)
        return fresh

    def verify(self, certificate_pem: bytes, message: bytes, signature: bytes) -> str:
        """Verify chain, validity, usage, revocation and signature; return the card serial."""
        crl = self.revocation_list()
        return verify_card_signature(
            certificate_pem,
            crl.ca_certificate_pem,
            crl.crl_pem,
            message,
            signature,
            now=self._clock() if self._clock else None,
        )

    def identify(self, serial: str) -> CardHolderRecord:
        """Ask the registry who holds this card (the caller's token, and whether active)."""
        return self._registry.identify_card(serial)


__all__ = [
    "ACTION_PREFIX",
    "CARD_ACCESS_PREFIX",
    "CARD_FILE_FORMAT",
    "CARD_SUBJECT_CN",
    "CLOCK_SKEW",
    "LEGACY_CARD_FILE_FORMAT",
    "LOGIN_PREFIX",
    "MAX_SCRYPT_N",
    "MAX_SERIAL_HEX",
    "OPRF_SUITE",
    "PIN_CONFIRM_PREFIX",
    "PIN_LENGTH",
    "PIN_TRIES",
    "SCRYPT_N",
    "AccessProof",
    "Card",
    "CardError",
    "CardRegistry",
    "CardRejected",
    "CardVerifier",
    "PinAuthority",
    "PinEvaluation",
    "PinVerdict",
    "RejectReason",
    "access_public_bytes",
    "action_message",
    "card_access_key",
    "card_access_message",
    "card_serial",
    "load_card",
    "login_challenge_message",
    "make_csr",
    "new_card_key",
    "oprf_input",
    "parse_serial",
    "pin_confirmation_message",
    "seal_card_file",
    "serial_hex",
    "unlock_card",
    "validate_pin",
    "verify_card_signature",
    "write_card_file",
]
