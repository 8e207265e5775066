"""The card's basics, shared by :mod:`mynumber_core.card` and :mod:`mynumber_core.card_pin`:
its constants and errors, PIN and serial rules, the key and CSR, the card file (the legacy
``mynumber-card/1`` format read and written offline), the unlocked :class:`Card`, and the
exact messages a card signs. Import these from :mod:`mynumber_core.card`, which re-exports
them; see its docstring for the whole design.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.x509.oid import NameOID

from mynumber_core import errors

CARD_SUBJECT_CN = "JPKI user authentication"
"""The only subject a card certificate (and its CSR) carries: no personal data."""
PIN_LENGTH = 4
"""The real card's user-authentication PIN is four digits."""
LEGACY_CARD_FILE_FORMAT = "mynumber-card/1"
"""Key sealed under scrypt(PIN): opens offline (kept readable; migrated on unlock)."""
CARD_FILE_FORMAT = "mynumber-card/2"
"""Key sealed under the card authority's OPRF of the PIN: opens only online."""
OPRF_SUITE = "ristretto255-SHA512"
"""The RFC 9497 suite (VOPRF mode) of the card PIN."""
PIN_TRIES = 3
"""Wrong PINs before the card locks (JPKI's user-authentication PIN)."""
PIN_CONFIRM_PREFIX = b"mynumber-card-pin-ok-v1\n"
_OPRF_INPUT_PREFIX = b"mynumber-card-pin/1\x00"
_KEY_INFO_PREFIX = b"mynumber-card/2 key\x00"
SCRYPT_N = 2**15
"""scrypt cost of the card file (~0.1 s, 32 MiB per try: slows offline PIN guessing)."""
MAX_SCRYPT_N = 2**20
_SCRYPT_R, _SCRYPT_P = 8, 1
LOGIN_PREFIX = b"mynumber-login-v1\n"
ACTION_PREFIX = b"mynumber-action-v1\n"
CLOCK_SKEW = dt.timedelta(minutes=5)
"""Tolerance for clocks that disagree a little (validity periods, CRL issue time)."""
MAX_SERIAL_HEX = 40
"""RFC 5280 serial numbers are at most 20 octets."""

_ACTION_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_FIELD_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SERIAL_RE = re.compile(r"^[0-9a-fA-F]{1,40}$")
_MAX_TEXT = 512


def _b64e(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _b64d(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


class CardError(errors.InvalidInput):
    """A card file or PIN problem on the holder's side (wrong PIN, bad file, bad PIN format)."""


class RejectReason(enum.StrEnum):
    """Why a card signature was not accepted; one value per distinct failure."""

    MALFORMED = "malformed"
    """The certificate or signature could not be parsed."""
    UNTRUSTED_ISSUER = "untrusted_issuer"
    """The certificate was not issued by the card CA."""
    EXPIRED = "expired"
    """Outside the certificate's validity period (expired, or not yet valid)."""
    WRONG_USAGE = "wrong_usage"
    """The certificate is not a user-authentication certificate (key usage, EKU, key type)."""
    CRL_INVALID = "crl_invalid"
    """The revocation list is not the card CA's, or is out of date: fail closed."""
    REVOKED = "revoked"
    """The card was revoked (lost, stolen, or replaced by a new card)."""
    BAD_SIGNATURE = "bad_signature"
    """The signature does not match the message and the card's key."""


class CardRejected(errors.Unauthenticated):
    """A card signature was refused; ``reason`` says which check failed."""

    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# ----------------------------------------------------------------------------- PIN and serial


def validate_pin(pin: str) -> str:
    """A user-authentication PIN: exactly four ASCII digits; CardError otherwise."""
    if not isinstance(pin, str) or len(pin) != PIN_LENGTH or not pin.isascii() or not pin.isdigit():
        raise CardError(
            f"the card PIN must be exactly {PIN_LENGTH} digits 0-9 "
            "(the user-authentication PIN set at the counter)"
        )
    return pin


def serial_hex(serial: int) -> str:
    """The canonical text of a certificate serial: lowercase hex, no leading zeros."""
    return format(serial, "x")


def parse_serial(text: str) -> int:
    """A serial as given by a person or a peer (hex, any case); InvalidInput otherwise."""
    if not isinstance(text, str) or not _SERIAL_RE.fullmatch(text.strip()):
        raise errors.InvalidInput(
            f"a card serial is 1-{MAX_SERIAL_HEX} hexadecimal digits, as printed by "
            "`mynumber card show`"
        )
    value = int(text.strip(), 16)
    if value == 0:
        raise errors.InvalidInput("a card serial is never zero")
    return value


# ------------------------------------------------------------------------------ the card


def new_card_key() -> ec.EllipticCurvePrivateKey:
    """A fresh card key pair (ECDSA P-256, as JPKI's newer cards use elliptic curves)."""
    return ec.generate_private_key(ec.SECP256R1())


def make_csr(key: ec.EllipticCurvePrivateKey) -> bytes:
    """A PEM PKCS#10 request for ``key``; its subject carries no personal data."""
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CARD_SUBJECT_CN)]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )


def _load_cert(pem: bytes, what: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except (ValueError, TypeError):
        raise CardError(f"the {what} is not a PEM X.509 certificate") from None


def _scrypt(pin: str, salt: bytes, n: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=_SCRYPT_R, p=_SCRYPT_P).derive(pin.encode())


def _pkcs8(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _checked_pair(
    key: ec.EllipticCurvePrivateKey, certificate_pem: bytes, ca_pem: bytes
) -> tuple[x509.Certificate, x509.Certificate]:
    certificate = _load_cert(certificate_pem, "card certificate")
    ca = _load_cert(ca_pem, "card CA certificate")
    if certificate.public_key() != key.public_key():
        raise CardError("the certificate does not belong to this key; issue the card again")
    return certificate, ca


def write_card_file(
    path: Path,
    key: ec.EllipticCurvePrivateKey,
    certificate_pem: bytes,
    ca_pem: bytes,
    pin: str,
) -> None:
    """Write a *legacy* ``mynumber-card/1`` file: key sealed under scrypt(PIN).

    Such a file opens offline with :func:`load_card`, so its PIN can be searched offline:
    new cards are written with :func:`seal_card_file`; this stays for files made before
    issue 15 (and tests of their migration). The certificate is the associated data, so a
    key cannot be paired with another card's certificate.
    """
    validate_pin(pin)
    certificate, ca = _checked_pair(key, certificate_pem, ca_pem)
    cert_der = certificate.public_bytes(serialization.Encoding.DER)
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    sealed = AESGCM(_scrypt(pin, salt, SCRYPT_N)).encrypt(nonce, _pkcs8(key), cert_der)
    document = {
        "format": LEGACY_CARD_FILE_FORMAT,
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": _SCRYPT_R, "p": _SCRYPT_P},
        "salt": _b64e(salt),
        "encrypted_key": _b64e(nonce + sealed),
        "certificate": certificate.public_bytes(serialization.Encoding.PEM).decode(),
        "ca_certificate": ca.public_bytes(serialization.Encoding.PEM).decode(),
    }
    _write_document(path, document)


def _write_document(path: Path, document: Mapping[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class Card:
    """An unlocked card: the private key, its certificate and the card CA's certificate."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    ca_certificate: x509.Certificate

    @property
    def serial(self) -> str:
        """The certificate serial (lowercase hex): the only handle on the holder."""
        return serial_hex(self.certificate.serial_number)

    @property
    def certificate_pem(self) -> bytes:
        """The card certificate, PEM."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def ca_certificate_pem(self) -> bytes:
        """The card CA certificate, PEM."""
        return self.ca_certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def not_before(self) -> dt.datetime:
        """Start of the certificate's validity (UTC)."""
        return self.certificate.not_valid_before_utc

    @property
    def not_after(self) -> dt.datetime:
        """End of the certificate's validity (UTC)."""
        return self.certificate.not_valid_after_utc

    def sign(self, message: bytes) -> bytes:
        """ECDSA-SHA256 signature (DER) over ``message``."""
        return self.key.sign(message, ec.ECDSA(hashes.SHA256()))


def _read_card_document(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CardError(f"no card file at {path}") from None
    except IsADirectoryError:
        raise CardError(f"{path} is a folder, not a card file") from None
    except UnicodeDecodeError:
        text = ""
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    formats = (CARD_FILE_FORMAT, LEGACY_CARD_FILE_FORMAT)
    if not isinstance(document, dict) or document.get("format") not in formats:
        raise CardError(f"{path} is not a My Number card file ({CARD_FILE_FORMAT})")
    return document


def load_card(path: Path, pin: str) -> Card:
    """Open a legacy ``mynumber-card/1`` file offline with its PIN.

    A ``mynumber-card/2`` file cannot be opened this way (that is the point): CardError
    pointing to :func:`unlock_card`. CardError also for a wrong PIN or an unusable file.
    """
    validate_pin(pin)
    document = _read_card_document(path)
    if document["format"] != LEGACY_CARD_FILE_FORMAT:
        raise CardError(
            f"{path} opens only online: the card authority must take part in every PIN try "
            "(unlock it with the portal or the counter, e.g. `mynumber card login`)"
        )
    return _open_legacy(path, document, pin)


def _open_legacy(path: Path, document: Mapping[str, Any], pin: str) -> Card:
    try:
        kdf = document["kdf"]
        n = int(kdf["n"])
        if kdf["name"] != "scrypt" or kdf["r"] != _SCRYPT_R or kdf["p"] != _SCRYPT_P:
            raise ValueError("unsupported key derivation")
        if not 2**10 <= n <= MAX_SCRYPT_N or n & (n - 1):
            raise ValueError("scrypt cost out of range")
        salt = _b64d(document["salt"])
        sealed = _b64d(document["encrypted_key"])
        certificate = x509.load_pem_x509_certificate(document["certificate"].encode())
        ca = x509.load_pem_x509_certificate(document["ca_certificate"].encode())
    except (KeyError, TypeError, ValueError, AttributeError):
        raise CardError(f"{path} is a damaged card file; issue a new card") from None
    cert_der = certificate.public_bytes(serialization.Encoding.DER)
    try:
        pkcs8 = AESGCM(_scrypt(pin, salt, n)).decrypt(sealed[:12], sealed[12:], cert_der)
    except InvalidTag:
        raise CardError(
            "wrong PIN for this card file (the 4-digit user-authentication PIN set at issue)"
        ) from None
    key = serialization.load_der_private_key(pkcs8, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != (
        certificate.public_key()
    ):
        raise CardError(f"{path} is a damaged card file; issue a new card")
    return Card(key, certificate, ca)


# ---------------------------------------------------------------------------- messages


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_TEXT:
        raise errors.InvalidInput(f"{what} must be a non-empty string of at most {_MAX_TEXT} chars")
    return value


def _canonical(prefix: bytes, body: Mapping[str, object]) -> bytes:
    # Sorted-key compact JSON is injective over these inputs, so two different challenges or
    # actions never produce the same bytes; the prefix separates the two kinds of message.
    return prefix + json.dumps(
        dict(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def login_challenge_message(nonce: str, audience: str, issued_at: int) -> bytes:
    """The exact bytes a card signs to log in to ``audience`` (the gateway's origin)."""
    if isinstance(issued_at, bool) or not isinstance(issued_at, int) or issued_at < 0:
        raise errors.InvalidInput("issued_at must be a non-negative integer (Unix seconds)")
    return _canonical(
        LOGIN_PREFIX,
        {
            "audience": _text(audience, "audience"),
            "issued_at": issued_at,
            "nonce": _text(nonce, "nonce"),
        },
    )


def action_message(action: str, fields: Mapping[str, str], nonce: str) -> bytes:
    """The exact bytes a card signs to approve one sensitive action with these values.

    E.g. ``action_message("change_payout_account", {"bank_code": "0001", ...}, nonce)``: the
    signature covers the new account itself, so it cannot be replayed for another one.
    """
    if not isinstance(action, str) or not _ACTION_RE.fullmatch(action):
        raise errors.InvalidInput("action must be a lowercase name such as 'change_payout_account'")
    clean: dict[str, str] = {}
    for name, value in fields.items():
        if not isinstance(name, str) or not _FIELD_RE.fullmatch(name):
            raise errors.InvalidInput("action field names must be lowercase names")
        if not isinstance(value, str) or len(value) > _MAX_TEXT:
            raise errors.InvalidInput(
                f"action field {name!r} must be a string of at most {_MAX_TEXT} characters"
            )
        clean[name] = value
    return _canonical(
        ACTION_PREFIX, {"action": action, "fields": clean, "nonce": _text(nonce, "nonce")}
    )
