"""Witness cosignatures of checkpoints in the C2SP ``tlog-cosignature`` format (Ed25519, v1).

A witness that has checked a checkpoint is consistent with everything it saw before adds a note
signature line to it::

    — witness-1.mynumber.local base64(key id || u64 timestamp || Ed25519 signature)

* the key id is ``SHA-256(name || 0x0A || 0x04 || public key)[:4]`` (0x04 = Ed25519
  cosignature; the log's own signature uses 0x01, so one key cannot be mistaken for the other);
* the signed message is ``cosignature/v1\\n`` + ``time <timestamp>\\n`` + the checkpoint's note
  body (origin, size, root hash and any extension lines, with the final newline);
* the timestamp is POSIX seconds, big-endian, and never zero.

Clients are configured with (name, public key) pairs: they ignore signature lines by other keys,
and treat a line that carries a trusted name and key id but does not verify as an error (the
note is then malformed per C2SP signed-note). Pure functions over text and bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mynumber_core.checkpoint import (
    CheckpointSignatureError,
    MalformedCheckpointError,
    parse_ed25519_vkey,
    split_note,
)

__all__ = [
    "COSIGNATURE_TYPE_ED25519",
    "Cosignature",
    "QuorumError",
    "Witness",
    "add_signature_lines",
    "cosign",
    "cosigned_message",
    "cosigner_key_id",
    "cosigner_vkey",
    "parse_cosigner_vkey",
    "parse_signature_lines",
    "require_quorum",
    "verify_cosignatures",
]

COSIGNATURE_TYPE_ED25519 = 0x04
"""Signature type byte of Ed25519 cosignatures (tlog-cosignature/v1) in key ids and vkeys."""

_HEADER = "cosignature/v1\n"
_PREFIX = "\u2014 "
_KEY_ID_SIZE = 4
_TIMESTAMP_SIZE = 8
_SIGNATURE_SIZE = 64
_MAX_TIMESTAMP = (1 << 63) - 1


class QuorumError(CheckpointSignatureError):
    """Fewer trusted witnesses cosigned the checkpoint than the client requires."""


@dataclass(frozen=True)
class Witness:
    """A trusted cosigner: its key name and Ed25519 public key."""

    name: str
    public_key: Ed25519PublicKey

    @classmethod
    def from_vkey(cls, vkey: str) -> Witness:
        """Build from a C2SP verifier key with signature type 0x04."""
        return cls(*parse_cosigner_vkey(vkey))

    @property
    def key_id(self) -> bytes:
        """The 4-byte key id its signature lines carry."""
        return cosigner_key_id(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        """Its C2SP verifier key string."""
        return cosigner_vkey(self.name, self.public_key)


@dataclass(frozen=True)
class Cosignature:
    """One verified cosignature: who signed, and when (POSIX seconds)."""

    witness: str
    timestamp: int


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _check_name(name: str) -> None:
    if not name or any(ch.isspace() or ch == "+" for ch in name):
        raise ValueError(f"invalid cosigner name {name!r}: empty, spaces or '+'")


def cosigner_key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """``SHA-256(name || "\\n" || 0x04 || public key)[:4]``, as tlog-cosignature requires."""
    material = name.encode() + b"\n" + bytes([COSIGNATURE_TYPE_ED25519]) + _raw(public_key)
    return hashlib.sha256(material).digest()[:_KEY_ID_SIZE]


def cosigner_vkey(name: str, public_key: Ed25519PublicKey) -> str:
    """The verifier key ``name+hex(key id)+base64(0x04 || public key)``."""
    _check_name(name)
    blob = base64.b64encode(bytes([COSIGNATURE_TYPE_ED25519]) + _raw(public_key)).decode()
    return f"{name}+{cosigner_key_id(name, public_key).hex()}+{blob}"


def parse_cosigner_vkey(vkey: str) -> tuple[str, Ed25519PublicKey]:
    """Parse a cosigner verifier key; raises ValueError saying what is wrong."""
    return parse_ed25519_vkey(
        vkey.strip(), COSIGNATURE_TYPE_ED25519, cosigner_key_id, _check_name, "a witness key"
    )


def cosigned_message(body: str, timestamp: int) -> bytes:
    """The bytes an Ed25519 v1 cosignature signs: header, time line, checkpoint body."""
    if not body.endswith("\n"):
        raise ValueError("the checkpoint body must end with a newline")
    if not 0 < timestamp <= _MAX_TIMESTAMP:
        raise ValueError("a cosignature timestamp must be between 1 and 2**63 - 1")
    return f"{_HEADER}time {timestamp}\n{body}".encode()


def cosign(body: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> str:
    """Return the signature line (ending in a newline) cosigning checkpoint ``body``."""
    _check_name(name)
    signature = private_key.sign(cosigned_message(body, timestamp))
    blob = cosigner_key_id(name, private_key.public_key()) + struct.pack(">Q", timestamp)
    return f"{_PREFIX}{name} {base64.b64encode(blob + signature).decode()}\n"


def parse_signature_lines(text: str) -> list[str]:
    """Split a witness response (one or more signature lines) into lines; ValueError if bad."""
    if not text.endswith("\n"):
        raise ValueError("signature lines must each end with a newline")
    lines = text[:-1].split("\n")
    for line in lines:
        name, _, encoded = line.removeprefix(_PREFIX).partition(" ")
        if not line.startswith(_PREFIX) or not name or not encoded:
            raise ValueError("each signature line must be '— <name> <base64>'")
        try:
            base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise ValueError("a signature line's signature is not base64") from exc
    return [line + "\n" for line in lines]


def add_signature_lines(note: str, lines: Iterable[str]) -> str:
    """Append signature lines to a signed note (skipping any it already carries)."""
    if not note.endswith("\n"):
        raise ValueError("a signed note ends with a newline")
    have = set(note.split("\n"))
    extra = [line for line in lines if line.rstrip("\n") not in have]
    return note + "".join(extra)


def verify_cosignatures(note: str | bytes, witnesses: Sequence[Witness]) -> list[Cosignature]:
    """The valid cosignatures in ``note`` by the trusted ``witnesses`` (one per witness).

    Lines by unknown keys are ignored. A line with a trusted name and key id that does not
    verify raises :class:`CheckpointSignatureError`; a malformed note raises
    :class:`MalformedCheckpointError`.
    """
    body, signatures = split_note(note)
    found: dict[str, Cosignature] = {}
    for witness in witnesses:
        expected = witness.key_id
        for signer, blob in signatures:
            if signer != witness.name or blob[:_KEY_ID_SIZE] != expected:
                continue
            if len(blob) != _KEY_ID_SIZE + _TIMESTAMP_SIZE + _SIGNATURE_SIZE:
                raise MalformedCheckpointError(
                    f"cosignature by witness {witness.name!r} has the wrong length"
                )
            (timestamp,) = struct.unpack(">Q", blob[_KEY_ID_SIZE : _KEY_ID_SIZE + 8])
            try:
                message = cosigned_message(body, timestamp)
                witness.public_key.verify(blob[_KEY_ID_SIZE + 8 :], message)
            except (ValueError, InvalidSignature) as exc:
                raise CheckpointSignatureError(
                    f"cosignature by witness {witness.name!r} does not verify: the checkpoint "
                    "or the cosignature was altered"
                ) from exc
            found.setdefault(witness.name, Cosignature(witness.name, timestamp))
    return list(found.values())


def require_quorum(
    note: str | bytes, witnesses: Sequence[Witness], quorum: int
) -> list[Cosignature]:
    """Verify at least ``quorum`` distinct trusted witnesses cosigned ``note``; else raise."""
    valid = verify_cosignatures(note, witnesses)
    if len(valid) < quorum:
        names = ", ".join(sorted(c.witness for c in valid)) or "none"
        raise QuorumError(
            f"checkpoint is cosigned by {len(valid)} of the {len(witnesses)} trusted witnesses "
            f"({names}), but {quorum} are required: the log may be showing you a view the "
            "witnesses never saw"
        )
    return valid
