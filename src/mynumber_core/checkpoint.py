"""Signed checkpoints of the exchange log in the C2SP ``tlog-checkpoint`` / ``signed-note`` format.

A checkpoint commits the log operator to one tree: its origin (the log's name), its size and
its RFC 9162 root hash. On the wire it is a C2SP signed note::

    registry.mynumber.example/exchange-log
    42
    <base64 root hash>

    — registry.mynumber.example/exchange-log <base64(key id || Ed25519 signature)>

The signature covers the note text up to and including its final newline; the 4-byte key id is
``SHA-256(key name || 0x0A || 0x01 || public key)[:4]`` (0x01 = Ed25519). Verification checks
the signature *before* interpreting the text, and signature lines by other keys (for example
witnesses) are ignored, as the signed-note spec requires.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mynumber_core.merkle import HASH_SIZE

__all__ = [
    "SIGNATURE_TYPE_ED25519",
    "Checkpoint",
    "CheckpointError",
    "CheckpointOriginError",
    "CheckpointSignatureError",
    "MalformedCheckpointError",
    "key_id",
    "parse_and_verify",
    "parse_body",
    "parse_verifier_key",
    "sign_checkpoint",
    "sign_note",
    "split_note",
    "verifier_key",
    "verify_note",
]

SIGNATURE_TYPE_ED25519 = 0x01
"""Signature type byte of Ed25519 in C2SP signed-note key ids and verifier keys."""

_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_MAX_SIGNATURES = 100  # the cap Go's sumdb/note applies; more is a malformed note
_MAX_NOTE_BYTES = 1 << 20
_KEY_ID_SIZE = 4
_ED25519_SIGNATURE_SIZE = 64
_SIZE_RE = re.compile(r"0|[1-9][0-9]*")
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f]")


class CheckpointError(ValueError):
    """A checkpoint could not be accepted; subclasses say why."""


class MalformedCheckpointError(CheckpointError):
    """The text is not a well-formed signed checkpoint."""


class CheckpointSignatureError(CheckpointError):
    """The checkpoint is not validly signed by the trusted key."""


class CheckpointOriginError(CheckpointError):
    """The checkpoint is validly signed but is for a different log than expected."""


@dataclass(frozen=True)
class Checkpoint:
    """One tree head of a log: which log, how many leaves, and their RFC 9162 root hash."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()
    """Optional extra body lines (deprecated by tlog-checkpoint; kept so they round-trip)."""

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _CONTROL_RE.search(self.origin):
            raise ValueError("checkpoint origin must be one non-empty line without control chars")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise ValueError(f"checkpoint size must be a non-negative integer, got {self.size!r}")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise ValueError(f"checkpoint root hash must be {HASH_SIZE} bytes")
        for line in self.extensions:
            if not line or "\n" in line or _CONTROL_RE.search(line):
                raise ValueError("checkpoint extension lines must be non-empty single lines")

    def body(self) -> str:
        """Return the note text that gets signed (ends with a newline)."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode("ascii")]
        return "".join(line + "\n" for line in [*lines, *self.extensions])


def _check_key_name(name: str) -> None:
    if not name or any(ch.isspace() or ch == "+" for ch in name) or _CONTROL_RE.search(name):
        raise ValueError(f"invalid signed-note key name {name!r}: empty, spaces or '+'")


def _raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """Return the 4-byte C2SP key id: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    material = name.encode() + b"\n" + bytes([SIGNATURE_TYPE_ED25519]) + _raw_public_key(public_key)
    return hashlib.sha256(material).digest()[:_KEY_ID_SIZE]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """Return the C2SP verifier key string ``name+hex(key id)+base64(0x01 || public key)``."""
    _check_key_name(name)
    encoded = base64.b64encode(bytes([SIGNATURE_TYPE_ED25519]) + _raw_public_key(public_key))
    return f"{name}+{key_id(name, public_key).hex()}+{encoded.decode('ascii')}"


def parse_verifier_key(vkey: str) -> tuple[str, Ed25519PublicKey]:
    """Parse a verifier key string into (key name, public key); raises ValueError if invalid."""
    return parse_ed25519_vkey(
        vkey, SIGNATURE_TYPE_ED25519, key_id, _check_key_name, "a verifier key"
    )


def parse_ed25519_vkey(
    vkey: str,
    key_type: int,
    key_id_of: Callable[[str, Ed25519PublicKey], bytes],
    check_name: Callable[[str], None],
    what: str,
) -> tuple[str, Ed25519PublicKey]:
    """Parse a C2SP verifier key ``name+hex(key id)+base64(type || Ed25519 public key)`` whose
    type byte must be ``key_type`` (0x01 note signer, 0x04 cosigner) and whose id must be
    ``key_id_of(name, key)``; ValueError naming ``what`` and the fault."""
    parts = vkey.split("+", 2)  # names never contain "+", but base64 may
    if len(parts) != 3:
        raise ValueError(f"{what} must look like name+keyid+base64key")
    name, hex_id, encoded = parts
    check_name(name)
    try:
        raw = base64.b64decode(encoded, validate=True)
        claimed = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{what} has bad hex or base64") from exc
    if len(raw) != 33 or raw[0] != key_type:
        raise ValueError(f"{what} must be an Ed25519 key of type 0x{key_type:02x}")
    public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    if claimed != key_id_of(name, public_key):
        raise ValueError(f"{what}: key id does not match its name and key")
    return name, public_key


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Return the C2SP signed note of ``text`` (which must end with a newline) by key ``name``."""
    _check_key_name(name)
    if not text.endswith("\n") or "\n\n" in text or _CONTROL_RE.search(text):
        raise ValueError("note text must end with a newline and have no blank or control chars")
    signature = private_key.sign(text.encode())
    blob = key_id(name, private_key.public_key()) + signature
    return f"{text}\n{_SIGNATURE_PREFIX}{name} {base64.b64encode(blob).decode('ascii')}\n"


def sign_checkpoint(checkpoint: Checkpoint, name: str, private_key: Ed25519PrivateKey) -> str:
    """Return the signed note for ``checkpoint``, signed by key ``name``."""
    return sign_note(checkpoint.body(), name, private_key)


def _split_note(note: str | bytes) -> tuple[str, list[tuple[str, bytes]]]:
    """Split a signed note into its text and (key name, key id || signature) pairs."""
    if isinstance(note, bytes):
        if len(note) > _MAX_NOTE_BYTES:
            raise MalformedCheckpointError("signed note is too large")
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedCheckpointError("signed note is not valid UTF-8") from exc
    elif len(note.encode("utf-8", "surrogatepass")) > _MAX_NOTE_BYTES:
        raise MalformedCheckpointError("signed note is too large")
    if _CONTROL_RE.search(note):
        raise MalformedCheckpointError("signed note contains a control character")
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedCheckpointError("signed note has no blank line before its signatures")
    text, signature_block = note[: split + 1], note[split + 2 :]
    if not signature_block.endswith("\n"):
        raise MalformedCheckpointError("signed note does not end with a newline")
    lines = signature_block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise MalformedCheckpointError(f"signed note has more than {_MAX_SIGNATURES} signatures")
    signatures: list[tuple[str, bytes]] = []
    for number, line in enumerate(lines, start=1):
        if not line.startswith(_SIGNATURE_PREFIX):
            raise MalformedCheckpointError(f"signature line {number} does not start with '— '")
        name, _, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
        try:
            _check_key_name(name)
            blob = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise MalformedCheckpointError(f"signature line {number} is malformed") from exc
        if base64.b64encode(blob).decode("ascii") != encoded:
            # Non-canonical base64 (stray low bits) would let a flipped bit go unnoticed.
            raise MalformedCheckpointError(f"signature line {number} is not canonical base64")
        if len(blob) <= _KEY_ID_SIZE:
            raise MalformedCheckpointError(f"signature line {number} is too short")
        signatures.append((name, blob))
    return text, signatures


def _parse_body(text: str) -> Checkpoint:
    lines = text[:-1].split("\n")  # text ends with exactly one newline (split_note ensures it)
    if len(lines) < 3:
        raise MalformedCheckpointError("checkpoint needs an origin, a size and a root hash line")
    origin, size_line, root_line, *extensions = lines
    if not origin:
        raise MalformedCheckpointError("checkpoint origin line is empty")
    if not _SIZE_RE.fullmatch(size_line):
        raise MalformedCheckpointError(f"checkpoint size {size_line!r} is not a decimal number")
    try:
        root_hash = base64.b64decode(root_line, validate=True)
    except binascii.Error as exc:
        raise MalformedCheckpointError("checkpoint root hash is not base64") from exc
    if len(root_hash) != HASH_SIZE or base64.b64encode(root_hash).decode() != root_line:
        raise MalformedCheckpointError(f"checkpoint root hash is not {HASH_SIZE} bytes of base64")
    if any(not line for line in extensions):
        raise MalformedCheckpointError("checkpoint has an empty extension line")
    return Checkpoint(origin, int(size_line), root_hash, tuple(extensions))


def verify_note(note: str | bytes, name: str, public_key: Ed25519PublicKey) -> str:
    """Verify ``note`` carries a valid signature by key (``name``, ``public_key``).

    Returns the signed text (ending with its newline). Signature lines by other keys are
    ignored; the first line by this key decides, as in Go's ``note.Open``. Raises
    :class:`MalformedCheckpointError` or :class:`CheckpointSignatureError`.
    """
    _check_key_name(name)
    text, signatures = _split_note(note)
    expected_id = key_id(name, public_key)
    for signer, blob in signatures:
        if signer != name or blob[:_KEY_ID_SIZE] != expected_id:
            continue
        signature = blob[_KEY_ID_SIZE:]
        if len(signature) != _ED25519_SIGNATURE_SIZE:
            raise CheckpointSignatureError(f"signature by {name!r} has the wrong length")
        try:
            public_key.verify(signature, text.encode())
        except InvalidSignature as exc:
            raise CheckpointSignatureError(
                f"signature by {name!r} does not verify: the checkpoint text or its signature "
                "was altered"
            ) from exc
        return text
    raise CheckpointSignatureError(
        f"checkpoint is not signed by the trusted key {name!r} (key id {expected_id.hex()})"
    )


def parse_and_verify(
    note: str | bytes,
    name: str,
    public_key: Ed25519PublicKey,
    *,
    origin: str | None = None,
) -> Checkpoint:
    """Verify ``note`` is signed by key (``name``, ``public_key``) and return its checkpoint.

    The signature is checked before the text is interpreted. ``origin`` is the log the caller
    expects the checkpoint to be for; by default the key name, the usual convention. Raises
    :class:`MalformedCheckpointError`, :class:`CheckpointSignatureError` or
    :class:`CheckpointOriginError`.
    """
    checkpoint = _parse_body(verify_note(note, name, public_key))
    expected_origin = name if origin is None else origin
    if checkpoint.origin != expected_origin:
        raise CheckpointOriginError(
            f"checkpoint is for log {checkpoint.origin!r}, expected {expected_origin!r}"
        )
    return checkpoint


def split_note(note: str | bytes) -> tuple[str, list[tuple[str, bytes]]]:
    """Split a signed note into its text and (key name, key id || signature) pairs.

    Raises :class:`MalformedCheckpointError`; no signature is checked here.
    """
    return _split_note(note)


def parse_body(text: str) -> Checkpoint:
    """Parse a checkpoint's note text (ending with its newline) without checking signatures."""
    if not text.endswith("\n"):
        raise MalformedCheckpointError("checkpoint text must end with a newline")
    return _parse_body(text)
