"""Tests of mynumber_core.logverifier: what a resident's portal checks about the exchange log.

A fake log operator (an in-memory tree and a signing key) plays the registry, honest or not;
the verifier holds only the log's verifier key.
"""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from mynumber_core.checkpoint import (
    Checkpoint,
    CheckpointOriginError,
    CheckpointSignatureError,
    sign_checkpoint,
    verifier_key,
)
from mynumber_core.logverifier import (
    HistoryRewrittenError,
    InclusionError,
    LogVerificationError,
    TrustedLog,
    verify_append,
    verify_checkpoint,
    verify_entry_inclusion,
    verify_update,
)
from mynumber_core.merkle import InMemoryMerkleTree

LOG = "registry.mynumber.example/exchange-log"
KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"registry log key").digest())
TRUSTED = TrustedLog.from_verifier_key(verifier_key(LOG, KEY.public_key()))


def _entry(i: int) -> bytes:
    return f'{{"seq":{i},"requester":"pension","provider":"tax","item":"income"}}'.encode()


class FakeLogOperator:
    """Plays the registry: appends entries and serves signed checkpoints and proofs."""

    def __init__(self, entries: list[bytes], key: Ed25519PrivateKey = KEY) -> None:
        self.tree = InMemoryMerkleTree(entries)
        self.key = key

    def checkpoint(self, size: int | None = None) -> str:
        size = self.tree.size if size is None else size
        return sign_checkpoint(Checkpoint(LOG, size, self.tree.root(size)), LOG, self.key)


def test_trusted_log_from_verifier_key() -> None:
    assert TRUSTED.key_name == LOG
    assert TRUSTED.origin == LOG


def test_entry_inclusion_is_verified_against_a_signed_checkpoint() -> None:
    entries = [_entry(i) for i in range(37)]
    operator = FakeLogOperator(entries)
    checkpoint = verify_checkpoint(TRUSTED, operator.checkpoint())
    for index, entry in enumerate(entries):
        verify_entry_inclusion(checkpoint, entry, index, operator.tree.inclusion_proof(index))
    proof = operator.tree.inclusion_proof(5)
    with pytest.raises(InclusionError, match="entry 5 is not proven"):
        verify_entry_inclusion(checkpoint, _entry(5) + b" ", 5, proof)
    with pytest.raises(InclusionError):
        verify_entry_inclusion(checkpoint, _entry(5), 6, proof)


def test_checkpoints_from_another_key_or_log_are_rejected() -> None:
    impostor = FakeLogOperator([_entry(0)], Ed25519PrivateKey.generate())
    with pytest.raises(CheckpointSignatureError):
        verify_checkpoint(TRUSTED, impostor.checkpoint())
    other_log = TrustedLog("pension.mynumber.example/log", LOG, KEY.public_key())
    with pytest.raises(CheckpointOriginError):
        verify_checkpoint(other_log, FakeLogOperator([_entry(0)]).checkpoint())


def test_honest_appends_are_accepted() -> None:
    entries = [_entry(i) for i in range(300)]
    operator = FakeLogOperator(entries[:1])
    trusted = verify_checkpoint(TRUSTED, operator.checkpoint())
    for size in (1, 2, 3, 8, 9, 64, 100, 255, 256, 300):
        while operator.tree.size < size:
            operator.tree.append(entries[operator.tree.size])
        proof = operator.tree.consistency_proof(trusted.size)
        trusted = verify_update(TRUSTED, trusted, operator.checkpoint(), proof)
        assert trusted.size == size
    # Re-fetching the same checkpoint is consistent with itself.
    assert verify_update(TRUSTED, trusted, operator.checkpoint(), []) == trusted


def test_starting_from_the_empty_log() -> None:
    operator = FakeLogOperator([])
    empty = verify_checkpoint(TRUSTED, operator.checkpoint())
    operator.tree.append(_entry(0))
    assert verify_update(TRUSTED, empty, operator.checkpoint(), []).size == 1


def test_different_logs_are_not_compared() -> None:
    a = Checkpoint(LOG, 1, bytes(32))
    b = Checkpoint("other.example/log", 2, bytes(32))
    with pytest.raises(LogVerificationError, match="different logs"):
        verify_append(a, b, [])


@settings(max_examples=60, deadline=None)
@given(
    old_size=st.integers(1, 120),
    extra=st.integers(0, 40),
    rewrite=st.sampled_from(["edit", "delete", "swap", "truncate"]),
    data=st.data(),
)
def test_rewritten_history_is_detected(
    old_size: int, extra: int, rewrite: str, data: st.DataObject
) -> None:
    if rewrite == "swap" and old_size == 1:
        rewrite = "edit"  # one entry cannot be reordered
    entries = [_entry(i) for i in range(old_size)]
    trusted = verify_checkpoint(TRUSTED, FakeLogOperator(entries).checkpoint())

    forged = list(entries)
    index = data.draw(st.integers(0, old_size - 1), label="index")
    if rewrite == "edit":
        forged[index] = b'{"seq":-1,"requester":"nobody"}'
    elif rewrite == "delete":
        del forged[index]
    elif rewrite == "swap":
        other = data.draw(st.integers(0, old_size - 1).filter(lambda o: o != index), label="other")
        forged[index], forged[other] = forged[other], forged[index]
    else:
        forged = forged[:index]
    # The operator then keeps appending honestly-looking entries on top of the forgery.
    forged.extend(_entry(old_size + i) for i in range(extra))
    operator = FakeLogOperator(forged)
    new_note = operator.checkpoint()  # validly signed by the real log key
    proof = (
        operator.tree.consistency_proof(trusted.size) if operator.tree.size >= trusted.size else []
    )
    with pytest.raises(HistoryRewrittenError):
        verify_update(TRUSTED, trusted, new_note, proof)


def test_history_rewritten_error_explains_itself() -> None:
    entries = [_entry(i) for i in range(10)]
    trusted = verify_checkpoint(TRUSTED, FakeLogOperator(entries).checkpoint())
    shrunk = FakeLogOperator(entries[:7])
    with pytest.raises(HistoryRewrittenError, match="shrank from 10 to 7"):
        verify_update(TRUSTED, trusted, shrunk.checkpoint(), [])
    forked = FakeLogOperator([*entries[:9], b"forged", _entry(10)])
    with pytest.raises(HistoryRewrittenError, match=r"not proven to extend .* size 10"):
        verify_update(TRUSTED, trusted, forked.checkpoint(), forked.tree.consistency_proof(10))
    same_size = FakeLogOperator([*entries[:9], b"forged"])
    with pytest.raises(HistoryRewrittenError, match="two different root hashes"):
        verify_update(TRUSTED, trusted, same_size.checkpoint(), [])
