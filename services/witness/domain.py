"""The rules of C2SP tlog-witness add-checkpoint, as pure functions (no gRPC, no SQL).

:func:`parse_request_body` reads the protocol's text request; :func:`check_checkpoint` decides
whether a checkpoint may be cosigned given what the witness last cosigned for its log, and
raises the domain error whose status the spec prescribes (404, 403, 400, 409, 422).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mynumber_core import errors
from mynumber_core.checkpoint import (
    Checkpoint,
    CheckpointSignatureError,
    MalformedCheckpointError,
    parse_and_verify,
    parse_verifier_key,
)
from mynumber_core.merkle import EMPTY_ROOT, HASH_SIZE, ProofError, verify_consistency

MAX_PROOF_LINES = 63
"""The most consistency-proof hashes a client may send (tlog-witness)."""

_OLD_RE = re.compile(r"old (0|[1-9][0-9]*)")


class SizeConflict(errors.Conflict):
    """``old_size`` is not the size this witness last cosigned (HTTP 409)."""

    def __init__(self, message: str, latest_size: int) -> None:
        super().__init__(message)
        self.latest_size = latest_size


class Inconsistent(errors.FailedPrecondition):
    """The checkpoint does not extend what the witness saw (HTTP 422): possible misbehaviour."""


@dataclass(frozen=True)
class TrustedLog:
    """A log this witness follows: its origin and the key that signs its checkpoints."""

    origin: str
    key_name: str
    public_key: Ed25519PublicKey

    @classmethod
    def from_vkey(cls, vkey: str) -> TrustedLog:
        """Build from the log's C2SP verifier key; the origin is the key name."""
        try:
            name, key = parse_verifier_key(vkey)
        except ValueError as exc:
            raise ValueError(f"trusted log key is not a valid verifier key: {exc}") from exc
        return cls(name, name, key)


@dataclass(frozen=True)
class AddCheckpoint:
    """One add-checkpoint request."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str


@dataclass(frozen=True)
class Latest:
    """What the witness last cosigned for one log."""

    size: int
    root_hash: bytes


def parse_request_body(body: bytes) -> AddCheckpoint:
    """Parse the C2SP request body: ``old N``, proof lines, an empty line, the checkpoint."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.InvalidInput("the add-checkpoint body is not UTF-8 text") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise errors.InvalidInput(
            "the add-checkpoint body needs an 'old <size>' line, proof lines, an empty line "
            "and the checkpoint"
        )
    lines = head.split("\n")
    match = _OLD_RE.fullmatch(lines[0])
    if match is None:
        raise errors.InvalidInput("the first line must be 'old <size>' (decimal, no leading 0)")
    proof: list[bytes] = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            digest = base64.b64decode(line, validate=True)
        except binascii.Error:
            raise errors.InvalidInput(f"line {number}: a proof line must be base64") from None
        proof.append(digest)
    return AddCheckpoint(int(match.group(1)), tuple(proof), note)


def origin_of(note: str) -> str:
    """The origin line of a checkpoint note (before its signature is checked)."""
    origin = note.split("\n", 1)[0]
    if not origin:
        raise errors.InvalidInput("the checkpoint's first line (its origin) is empty")
    return origin


def find_log(logs: Mapping[str, TrustedLog], note: str) -> TrustedLog:
    """The trusted log the note claims to be from; NotFound (404) for an unknown origin."""
    origin = origin_of(note)
    log = logs.get(origin)
    if log is None:
        raise errors.NotFound(
            "this witness does not follow the log named in the checkpoint's origin line; "
            "ask its operator to add the log's key"
        )
    return log


def check_checkpoint(log: TrustedLog, request: AddCheckpoint, latest: Latest | None) -> Checkpoint:
    """Return the checkpoint if it may be cosigned; raise the error tlog-witness prescribes."""
    if len(request.proof) > MAX_PROOF_LINES:
        raise errors.InvalidInput(f"a consistency proof has at most {MAX_PROOF_LINES} hashes")
    if any(len(node) != HASH_SIZE for node in request.proof):
        raise errors.InvalidInput(f"every consistency-proof hash must be {HASH_SIZE} bytes")
    try:
        checkpoint = parse_and_verify(request.note, log.key_name, log.public_key, origin=log.origin)
    except CheckpointSignatureError as exc:
        raise errors.PermissionDenied(
            f"the checkpoint is not validly signed by the log's trusted key: {exc}"
        ) from None
    except MalformedCheckpointError as exc:
        raise errors.InvalidInput(f"the checkpoint is malformed: {exc}") from None
    if request.old_size > checkpoint.size:
        raise errors.InvalidInput(
            f"old size {request.old_size} is larger than the checkpoint's size {checkpoint.size}"
        )
    have = latest.size if latest else 0
    if request.old_size != have:
        raise SizeConflict(
            f"this witness last cosigned size {have} for this log, not {request.old_size}; "
            f"resend with old size {have} and a consistency proof from it",
            have,
        )
    if checkpoint.size == 0 and checkpoint.root_hash != EMPTY_ROOT:
        raise Inconsistent("a checkpoint of size 0 must carry the empty tree's root hash")
    if latest is None or latest.size == 0:
        if request.proof:
            raise Inconsistent("the consistency proof must be empty when the old size is 0")
        return checkpoint
    if checkpoint.size == latest.size:
        if checkpoint.root_hash != latest.root_hash:
            raise Inconsistent(
                f"the log signed two different trees of size {checkpoint.size}: a fork"
            )
        return checkpoint
    try:
        verify_consistency(
            latest.size, checkpoint.size, latest.root_hash, checkpoint.root_hash, request.proof
        )
    except ProofError as exc:
        raise Inconsistent(
            f"the checkpoint of size {checkpoint.size} is not proven to extend the one of size "
            f"{latest.size} this witness cosigned: {exc}"
        ) from None
    return checkpoint


def proof_list(proof: Sequence[bytes]) -> tuple[bytes, ...]:
    """Normalise proof hashes from the wire."""
    return tuple(bytes(node) for node in proof)
