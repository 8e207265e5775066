"""Client-side verification of the exchange log: what the portal and the CLI run.

A client trusts one thing: the log's public key (:class:`TrustedLog`). With it, it

1. verifies a signed checkpoint the registry hands out (:func:`verify_checkpoint`);
2. verifies that an exchange-log entry is in the tree that checkpoint commits to
   (:func:`verify_entry_inclusion`);
3. verifies that a new checkpoint extends the one it stored last time
   (:func:`verify_append`, or :func:`verify_update` for a freshly received signed note), so a
   log operator who rewrites, reorders or drops past entries is caught
   (:class:`HistoryRewrittenError`).

Everything here is a pure function over bytes and text: no gRPC, no storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mynumber_core.checkpoint import Checkpoint, parse_and_verify, parse_verifier_key
from mynumber_core.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion

__all__ = [
    "HistoryRewrittenError",
    "InclusionError",
    "LogVerificationError",
    "TrustedLog",
    "verify_append",
    "verify_checkpoint",
    "verify_entry_inclusion",
    "verify_leaf_inclusion",
    "verify_update",
]


class LogVerificationError(ValueError):
    """The log's answer could not be verified."""


class InclusionError(LogVerificationError):
    """An entry is not proven to be in the tree a checkpoint commits to."""


class HistoryRewrittenError(LogVerificationError):
    """A new checkpoint is not an append-only extension of a previously trusted one.

    Both checkpoints carry valid signatures, so this is evidence that the log operator forked
    or rewrote the log (or is serving a bad proof): the client must keep its old checkpoint and
    report the two signed checkpoints.
    """


@dataclass(frozen=True)
class TrustedLog:
    """The one piece of configuration a verifier needs: the log's name and signing key."""

    origin: str
    key_name: str
    public_key: Ed25519PublicKey

    @classmethod
    def from_verifier_key(cls, vkey: str, origin: str | None = None) -> TrustedLog:
        """Build from a C2SP verifier key string; the origin defaults to the key name."""
        name, public_key = parse_verifier_key(vkey)
        return cls(origin=origin or name, key_name=name, public_key=public_key)


def verify_checkpoint(log: TrustedLog, note: str | bytes) -> Checkpoint:
    """Verify a signed checkpoint of ``log`` and return it (raises ``CheckpointError``)."""
    return parse_and_verify(note, log.key_name, log.public_key, origin=log.origin)


def verify_leaf_inclusion(
    checkpoint: Checkpoint, leaf: bytes, index: int, proof: Sequence[bytes]
) -> None:
    """Verify that leaf hash ``leaf`` is leaf ``index`` of the tree ``checkpoint`` commits to."""
    try:
        verify_inclusion(leaf, index, checkpoint.size, proof, checkpoint.root_hash)
    except ProofError as exc:
        raise InclusionError(
            f"entry {index} is not proven to be in checkpoint of size {checkpoint.size}: {exc}"
        ) from exc


def verify_entry_inclusion(
    checkpoint: Checkpoint, entry: bytes, index: int, proof: Sequence[bytes]
) -> None:
    """Verify that the exchange-log ``entry`` bytes are leaf ``index`` under ``checkpoint``."""
    verify_leaf_inclusion(checkpoint, leaf_hash(entry), index, proof)


def verify_append(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Verify that ``new`` only appends to ``old`` (both already signature-checked).

    Raises :class:`HistoryRewrittenError` if the log shrank, changed the root of the same size, or
    the consistency proof fails; :class:`LogVerificationError` if they are different logs.
    """
    if old.origin != new.origin:
        raise LogVerificationError(
            f"checkpoints are for different logs: {old.origin!r} and {new.origin!r}"
        )
    if new.size < old.size:
        raise HistoryRewrittenError(
            f"log {old.origin!r} shrank from {old.size} to {new.size} entries"
        )
    try:
        verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)
    except ProofError as exc:
        raise HistoryRewrittenError(
            f"log {old.origin!r} at size {new.size} is not proven to extend the trusted "
            f"checkpoint at size {old.size}: {exc}"
        ) from exc


def verify_update(
    log: TrustedLog, trusted: Checkpoint, new_note: str | bytes, proof: Sequence[bytes]
) -> Checkpoint:
    """Verify a newly received signed checkpoint and its consistency with the stored one.

    Returns the new checkpoint, which the caller may store in place of ``trusted``.
    """
    new = verify_checkpoint(log, new_note)
    verify_append(trusted, new, proof)
    return new
