"""The card PIN, online only (issue 15): the card file's key sealed under the card
authority's RFC 9497 VOPRF output of the PIN (``mynumber-card/2``), unsealed with one
counted online evaluation, :class:`PinEvaluation`/:class:`PinVerdict`/:class:`PinAuthority`,
and the migration of a legacy ``mynumber-card/1`` file on its next unlock. The design and
the choice of ``voprf`` are in :mod:`mynumber_core.card`'s docstring, which re-exports these.

Proof of possession (issue 15, the serial-only lockout): a ``mynumber-card/2`` file also holds
a PIN-less **access key** (P-256), the software counterpart of a real card having to be
physically present. Its public key is registered at the card authority with the first
successful unlock's confirmation (covered by the card key's signature); from then on every
evaluation must carry the access key's signature over a fresh authority nonce
(:func:`card_access_message`), so someone who knows only the serial cannot spend the card's
three tries. A file without an access key (sealed before it existed) still opens — the
authority asks no proof of a card with no registered key — and gets one on its next
successful unlock (the file is rewritten first, then the key is registered).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from voprf import ristretto as oprf

from mynumber_core.card_base import (
    _KEY_INFO_PREFIX,
    _OPRF_INPUT_PREFIX,
    CARD_FILE_FORMAT,
    LEGACY_CARD_FILE_FORMAT,
    OPRF_SUITE,
    PIN_CONFIRM_PREFIX,
    PIN_TRIES,
    Card,
    CardError,
    _b64d,
    _b64e,
    _canonical,
    _checked_pair,
    _open_legacy,
    _pkcs8,
    _read_card_document,
    _text,
    _write_document,
    serial_hex,
    validate_pin,
)

CARD_ACCESS_PREFIX = b"mynumber-card-access-v1\n"
"""Separates the access key's signed requests from every other signed message."""

# --------------------------------------------------------------- the online PIN (RFC 9497)


@dataclass(frozen=True)
class PinEvaluation:
    """The card authority's answer to one blinded PIN (``Cards.EvaluateCardPin``)."""

    attempt_id: str
    evaluation: bytes
    """RFC 9497 EvaluatedElement and its DLEQ proof (voprf's VerifiableOutput)."""
    public_key: bytes
    """The card's OPRF public key."""
    tries_left: int
    """Attempts left should this one be wrong."""


@dataclass(frozen=True)
class PinVerdict:
    """What the authority says after the holder reported an attempt."""

    tries_left: int
    locked: bool


@dataclass(frozen=True)
class AccessProof:
    """The card file's access key's signature over an authority nonce and the request."""

    nonce: str
    signature: bytes


class PinAuthority(Protocol):
    """The card authority's online PIN step (the registry, directly or through the portal)."""

    def access_challenge(self, serial: str) -> str:
        """A fresh single-use nonce for the card file's access key to sign."""
        ...

    def evaluate_pin(
        self, serial: str, blinded_element: bytes, access: AccessProof | None = None
    ) -> PinEvaluation:
        """Evaluate one blinded PIN for the card (counted before it is evaluated)."""
        ...

    def confirm_pin(
        self,
        serial: str,
        attempt_id: str,
        ok: bool,
        signature: bytes,
        access_public_key: bytes = b"",
    ) -> PinVerdict:
        """Report the attempt: ``ok`` with the card's signature resets the counter (and
        registers ``access_public_key``, which the signature covers)."""
        ...


def pin_confirmation_message(serial: str, attempt_id: str, access_public_key: bytes = b"") -> bytes:
    """The bytes a card signs to prove that attempt ``attempt_id`` unsealed it (and, when
    given, that ``access_public_key`` is its file's access key)."""
    body: dict[str, str] = {
        "attempt": _text(attempt_id, "attempt_id"),
        "serial": _text(serial, "serial"),
    }
    if access_public_key:
        body["access_key"] = _b64e(access_public_key)
    return _canonical(PIN_CONFIRM_PREFIX, body)


def card_access_message(serial: str, nonce: str, blinded_element: bytes) -> bytes:
    """The bytes the card file's access key signs with one evaluation request."""
    return _canonical(
        CARD_ACCESS_PREFIX,
        {
            "blinded": _b64e(blinded_element),
            "nonce": _text(nonce, "nonce"),
            "serial": _text(serial, "serial"),
        },
    )


def access_public_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    """An access key's public half as registered (DER SubjectPublicKeyInfo)."""
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def card_access_key(path: Path) -> ec.EllipticCurvePrivateKey | None:
    """The card file's PIN-less access key (None for a file sealed before it existed)."""
    return _access_key_of(_read_card_document(path), Path(path))


def _access_key_of(document: dict[str, Any], path: Path) -> ec.EllipticCurvePrivateKey | None:
    raw = document.get("access_key")
    if raw is None:
        return None
    try:
        key = serialization.load_der_private_key(_b64d(raw), password=None)
    except (TypeError, ValueError):
        raise CardError(f"{path} is a damaged card file; issue a new card") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CardError(f"{path} is a damaged card file; issue a new card")
    return key


def oprf_input(serial: str, pin: str) -> bytes:
    """The OPRF input of a card's PIN: bound to the card, so no table spans cards."""
    return _OPRF_INPUT_PREFIX + serial.encode() + b"\x00" + validate_pin(pin).encode()


def _online_key(
    authority: PinAuthority,
    serial: str,
    pin: str,
    pinned: bytes | None,
    access_key: ec.EllipticCurvePrivateKey | None = None,
) -> tuple[bytes, PinEvaluation]:
    """(AES key, the authority's answer) for ``pin``; the answer's proof is checked against
    the pinned public key (or, when sealing a new file, the one the authority states). With
    ``access_key`` the request carries the file's proof of possession."""
    client, blinded = oprf.Client.blind(oprf_input(serial, pin))
    element = bytes(blinded.serialize())
    proof = None
    if access_key is not None:
        nonce = authority.access_challenge(serial)
        message = card_access_message(serial, nonce, element)
        proof = AccessProof(nonce, access_key.sign(message, ec.ECDSA(hashes.SHA256())))
    answer = authority.evaluate_pin(serial, element, proof)
    if pinned is not None and answer.public_key != pinned:
        raise CardError(
            "the card authority answered with another key than this card's; "
            "check that you are talking to the real portal or registry"
        )
    try:
        output = client.finalize(
            oprf.VerifiableOutput.deserialize(answer.evaluation),
            oprf.PublicKey.deserialize(pinned or answer.public_key),
        )
    except ValueError:
        raise CardError(
            "the card authority's answer does not verify (RFC 9497 proof); "
            "check that you are talking to the real portal or registry"
        ) from None
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=_KEY_INFO_PREFIX + serial.encode(),
    ).derive(bytes(output))
    return key, answer


def seal_card_file(
    path: Path,
    key: ec.EllipticCurvePrivateKey,
    certificate_pem: bytes,
    ca_pem: bytes,
    pin: str,
    authority: PinAuthority,
    access_key: ec.EllipticCurvePrivateKey | None = None,
) -> None:
    """Write a ``mynumber-card/2`` file: the key sealed under the authority's OPRF of the PIN,
    and the PIN-less access key (``access_key``, or a new one).

    Takes one online evaluation (counted), then proves it with the new card's signature so
    the counter is back at zero and the access key is registered. Owner-only, atomic.
    """
    validate_pin(pin)
    certificate, ca = _checked_pair(key, certificate_pem, ca_pem)
    serial = serial_hex(certificate.serial_number)
    secret, answer = _online_key(authority, serial, pin, None, access_key)
    access_key = access_key or ec.generate_private_key(ec.SECP256R1())
    cert_der = certificate.public_bytes(serialization.Encoding.DER)
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(secret).encrypt(nonce, _pkcs8(key), cert_der)
    _write_document(
        path,
        {
            "format": CARD_FILE_FORMAT,
            "pin": {
                "oprf": f"RFC 9497 VOPRF {OPRF_SUITE}",
                "public_key": _b64e(answer.public_key),
                "tries": PIN_TRIES,
            },
            "encrypted_key": _b64e(nonce + sealed),
            "certificate": certificate.public_bytes(serialization.Encoding.PEM).decode(),
            "ca_certificate": ca.public_bytes(serialization.Encoding.PEM).decode(),
            "access_key": _b64e(_pkcs8(access_key)),
        },
    )
    access = access_public_bytes(access_key)
    message = pin_confirmation_message(serial, answer.attempt_id, access)
    authority.confirm_pin(
        serial, answer.attempt_id, True, key.sign(message, ec.ECDSA(hashes.SHA256())), access
    )


def card_serial(path: Path) -> str:
    """The serial of a card file (any format), read without the PIN."""
    document = _read_card_document(path)
    try:
        certificate = x509.load_pem_x509_certificate(document["certificate"].encode())
    except (KeyError, TypeError, ValueError, AttributeError):
        raise CardError(f"{path} is a damaged card file; issue a new card") from None
    return serial_hex(certificate.serial_number)


def unlock_card(path: Path, pin: str, authority: PinAuthority) -> Card:
    """Open a card file with its PIN and the card authority (one counted online try).

    A wrong PIN is reported to the authority and raises CardError saying how many tries are
    left, or that the card is now locked. A legacy ``mynumber-card/1`` file is opened with
    its PIN and rewritten as ``mynumber-card/2`` (the migration on its next unlock).
    """
    validate_pin(pin)
    path = Path(path)
    document = _read_card_document(path)
    if document["format"] == LEGACY_CARD_FILE_FORMAT:
        card = _open_legacy(path, document, pin)
        seal_card_file(
            path, card.key, card.certificate_pem, card.ca_certificate_pem, pin, authority
        )
        return card
    try:
        pinned = _b64d(document["pin"]["public_key"])
        sealed = _b64d(document["encrypted_key"])
        certificate = x509.load_pem_x509_certificate(document["certificate"].encode())
        ca = x509.load_pem_x509_certificate(document["ca_certificate"].encode())
        if len(sealed) < 12 + 16:
            raise ValueError("short ciphertext")
    except (KeyError, TypeError, ValueError, AttributeError):
        raise CardError(f"{path} is a damaged card file; issue a new card") from None
    serial = serial_hex(certificate.serial_number)
    access_key = _access_key_of(document, path)
    secret, answer = _online_key(authority, serial, pin, pinned, access_key)
    cert_der = certificate.public_bytes(serialization.Encoding.DER)
    try:
        pkcs8 = AESGCM(secret).decrypt(sealed[:12], sealed[12:], cert_der)
    except InvalidTag:
        verdict = authority.confirm_pin(serial, answer.attempt_id, False, b"")
        if verdict.locked:
            raise CardError(
                f"wrong PIN; the card is now locked after {PIN_TRIES} wrong PINs. Unlock it at "
                "the municipality counter (`mynumber card unlock`) or have a new card issued"
            ) from None
        raise CardError(
            f"wrong PIN for this card; {verdict.tries_left} "
            f"{'try' if verdict.tries_left == 1 else 'tries'} left before the card locks"
        ) from None
    key = serialization.load_der_private_key(pkcs8, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != (
        certificate.public_key()
    ):
        raise CardError(f"{path} is a damaged card file; issue a new card")
    card = Card(key, certificate, ca)
    if access_key is None:
        # Migration: the file gets its access key first, then the authority learns it.
        access_key = ec.generate_private_key(ec.SECP256R1())
        _write_document(path, {**document, "access_key": _b64e(_pkcs8(access_key))})
    access = access_public_bytes(access_key)
    authority.confirm_pin(
        serial,
        answer.attempt_id,
        True,
        card.sign(pin_confirmation_message(serial, answer.attempt_id, access)),
        access,
    )
    return card
