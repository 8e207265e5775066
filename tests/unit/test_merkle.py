"""Tests of mynumber_core.merkle: RFC 9162 hashing, proofs, verification and tamper evidence.

Two independent oracles check the tree: pymerkle (whose default hashing is configured and
checked below to be RFC 9162's) and a tiny recursive transcription of the RFC's own
definitions of MTH, PATH and PROOF written here, straight from the RFC text.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence

import pymerkle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mynumber_core.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    InMemoryMerkleTree,
    MemorySubtreeCache,
    MerkleTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

# -- the RFC 9162 §2.1 definitions, transcribed literally ------------------------------------


def _ref_k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over entries (not leaf hashes), as RFC 9162 §2.1.1 defines it."""
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _ref_k(n)
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1."""
    n = len(d)
    if n == 1:
        return []
    k = _ref_k(n)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1."""
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _ref_k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1 (0 < m < n)."""
    return ref_subproof(m, d, True)


# -- fixtures --------------------------------------------------------------------------------

ENTRIES = [f"exchange-{i}".encode() for i in range(1000)]
LEAVES = [leaf_hash(e) for e in ENTRIES]
BIG = 5000
BIG_ENTRIES = [i.to_bytes(4, "big") for i in range(BIG)]
BIG_TREE = InMemoryMerkleTree(BIG_ENTRIES)


def _pymerkle_tree(entries: Sequence[bytes]) -> pymerkle.InmemoryTree:
    # RFC 9162 hashing: SHA-256 with the 0x00 / 0x01 domain-separation prefixes ("security").
    tree = pymerkle.InmemoryTree(algorithm="sha256", disable_security=False)
    for entry in entries:
        tree.append_entry(entry)
    return tree


PYMERKLE = _pymerkle_tree(ENTRIES)


# -- hashing ---------------------------------------------------------------------------------


def test_hash_primitives_follow_rfc_9162() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = b"L" * 32, b"R" * 32
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()


def test_pymerkle_is_configured_with_rfc_9162_prefixes() -> None:
    assert PYMERKLE.algorithm == "sha256"
    assert PYMERKLE.leaf_prefix == b"\x00"
    assert PYMERKLE.node_prefix == b"\x01"
    assert PYMERKLE.get_leaf(1) == leaf_hash(ENTRIES[0])
    assert PYMERKLE.get_root(0) == EMPTY_ROOT


def test_reference_mth_matches_known_vectors() -> None:
    # Values from the RFC 6962/9162 reference test data (Certificate Transparency's
    # merkle_tree_test inputs), confirming the reference itself before it judges anything.
    inputs = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ]
    expected_roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
    for size, expected in enumerate(expected_roots, start=1):
        assert ref_mth(inputs[:size]).hex() == expected, size
        assert root_hash([leaf_hash(x) for x in inputs[:size]]).hex() == expected, size


def test_root_matches_pymerkle_and_rfc_reference_for_sizes_1_to_1000() -> None:
    tree = MerkleTree(lambda start, end: LEAVES[start:end])
    for size in range(1, 1001):
        expected = PYMERKLE.get_root(size)
        assert tree.root(size) == expected, size
    for size in range(0, 300):  # the reference is quadratic; its agreement on 0..299 suffices
        assert tree.root(size) == ref_mth(ENTRIES[:size]), size


def test_empty_tree() -> None:
    assert root_hash([]) == EMPTY_ROOT
    assert InMemoryMerkleTree().root() == EMPTY_ROOT
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])


# -- proofs against the oracles ----------------------------------------------------------------


def test_inclusion_proofs_for_all_pairs_up_to_64() -> None:
    for size in range(1, 65):
        root = ref_mth(ENTRIES[:size])
        for index in range(size):
            proof = inclusion_proof(LEAVES[:size], index)
            assert proof == ref_path(index, ENTRIES[:size])
            # pymerkle's path starts with the leaf itself, then the RFC's PATH.
            assert proof == PYMERKLE.prove_inclusion(index + 1, size).path[1:]
            verify_inclusion(LEAVES[index], index, size, proof, root)


def test_consistency_proofs_for_all_pairs_up_to_64() -> None:
    for new in range(1, 65):
        new_root = ref_mth(ENTRIES[:new])
        for old in range(1, new + 1):
            old_root = ref_mth(ENTRIES[:old])
            proof = consistency_proof(LEAVES[:new], old)
            assert proof == (ref_proof(old, ENTRIES[:new]) if old < new else [])
            verify_consistency(old, new, old_root, new_root, proof)
            # pymerkle lays its consistency paths out differently from RFC 9162 PROOF (it
            # always carries the base hash and splits m == k to the right), so paths are not
            # comparable; but its proofs must check out against our roots.
            pymerkle.verify_consistency(old_root, new_root, PYMERKLE.prove_consistency(old, new))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_inclusion_proofs_random_large_sizes(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, BIG), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = BIG_TREE.inclusion_proof(index, size)
    verify_inclusion(leaf_hash(BIG_ENTRIES[index]), index, size, proof, BIG_TREE.root(size))
    assert proof == root_path_via_pymerkle(index, size)


_BIG_PYMERKLE = _pymerkle_tree(BIG_ENTRIES)


def root_path_via_pymerkle(index: int, size: int) -> list[bytes]:
    """pymerkle's inclusion path for a zero-based index, without its leading leaf hash."""
    return list(_BIG_PYMERKLE.prove_inclusion(index + 1, size).path[1:])


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_consistency_proofs_random_large_sizes(data: st.DataObject) -> None:
    new = data.draw(st.integers(1, BIG), label="new")
    old = data.draw(st.integers(0, new), label="old")
    proof = BIG_TREE.consistency_proof(old, new)
    old_root, new_root = BIG_TREE.root(old), BIG_TREE.root(new)
    assert new_root == _BIG_PYMERKLE.get_root(new)
    verify_consistency(old, new, old_root, new_root, proof)


# -- proof verification rejects bad proofs -------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_inclusion_rejects_any_altered_proof(data: st.DataObject) -> None:
    size = data.draw(st.integers(2, 300), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = BIG_TREE.inclusion_proof(index, size)
    root, leaf = BIG_TREE.root(size), BIG_TREE.leaf(index)
    position = data.draw(st.integers(0, len(proof) - 1), label="position")
    bit = data.draw(st.integers(0, 8 * HASH_SIZE - 1), label="bit")
    flipped = list(proof)
    flipped[position] = _flip(flipped[position], bit)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, flipped, root)
    with pytest.raises(ProofError):
        verify_inclusion(_flip(leaf, bit), index, size, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, proof[:-1], root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, [*proof, proof[0]], root)
    other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="other")
    with pytest.raises(ProofError):
        verify_inclusion(leaf, other, size, proof, root)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_consistency_rejects_any_altered_proof(data: st.DataObject) -> None:
    new = data.draw(st.integers(2, 300), label="new")
    old = data.draw(st.integers(1, new - 1), label="old")
    proof = BIG_TREE.consistency_proof(old, new)
    old_root, new_root = BIG_TREE.root(old), BIG_TREE.root(new)
    position = data.draw(st.integers(0, len(proof) - 1), label="position")
    bit = data.draw(st.integers(0, 8 * HASH_SIZE - 1), label="bit")
    flipped = list(proof)
    flipped[position] = _flip(flipped[position], bit)
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, new_root, flipped)
    with pytest.raises(ProofError):
        verify_consistency(old, new, _flip(old_root, bit), new_root, proof)
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, _flip(new_root, bit), proof)
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, new_root, proof[:-1])
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, new_root, [*proof, proof[0]])


def test_verification_errors_say_what_failed() -> None:
    root = root_hash(LEAVES[:10])
    proof = inclusion_proof(LEAVES[:10], 3)
    with pytest.raises(ProofError, match="not inside a tree of size 10"):
        verify_inclusion(LEAVES[3], 10, 10, proof, root)
    with pytest.raises(ProofError, match="expected root hash"):
        verify_inclusion(LEAVES[4], 3, 10, proof, root)
    with pytest.raises(ProofError, match="shorter"):
        verify_inclusion(LEAVES[3], 3, 10, proof[:-1], root)
    with pytest.raises(ProofError, match="proof element 0 is not a 32-byte hash"):
        verify_inclusion(LEAVES[3], 3, 10, [b"short", *proof[1:]], root)
    with pytest.raises(ProofError, match="consistency proof is empty"):
        verify_consistency(3, 10, root_hash(LEAVES[:3]), root, [])
    with pytest.raises(ProofError, match="a log only grows"):
        verify_consistency(10, 3, root, root_hash(LEAVES[:3]), [])
    with pytest.raises(ProofError, match="two different root hashes"):
        verify_consistency(10, 10, root, root_hash(LEAVES[:9]), [])
    with pytest.raises(ProofError, match="old root hash"):
        bad = consistency_proof(LEAVES[:10], 3)
        verify_consistency(3, 10, root_hash(LEAVES[:4]), root, bad)


def test_proof_generation_rejects_out_of_range_arguments() -> None:
    tree = InMemoryMerkleTree(ENTRIES[:5])
    with pytest.raises(ValueError, match="outside a tree of size 5"):
        tree.inclusion_proof(5)
    with pytest.raises(ValueError, match=r"outside 0\.\.5"):
        tree.consistency_proof(6)
    with pytest.raises(ValueError, match="larger than the log"):
        tree.root(6)
    with pytest.raises(IndexError):
        MerkleTree(CountingSource(LEAVES[:5])).root(6)  # the source has no sixth leaf


# -- tamper evidence -------------------------------------------------------------------------

unique_entries = st.lists(st.binary(max_size=12), min_size=2, max_size=80, unique=True)


def _assert_tampered_log_fails(original: list[bytes], tampered: list[bytes]) -> None:
    """Nothing the tampered log can produce verifies against the original checkpoint."""
    size, root = len(original), root_hash([leaf_hash(e) for e in original])
    tampered_leaves = [leaf_hash(e) for e in tampered]
    if len(tampered) >= size:
        assert root_hash(tampered_leaves[:size]) != root
    # Every inclusion proof the tampered log hands out fails against the original root.
    for index in range(min(len(tampered), size)):
        proof = inclusion_proof(tampered_leaves[:size], index) if len(tampered) >= size else []
        with pytest.raises(ProofError):
            verify_inclusion(tampered_leaves[index], index, size, proof, root)
    # The tampered log, even after appending more entries, cannot prove it extends the
    # original checkpoint.
    extended = [*tampered_leaves, leaf_hash(b"appended later")]
    proof = consistency_proof(extended, min(size, len(extended)))
    with pytest.raises(ProofError):
        verify_consistency(size, len(extended), root, root_hash(extended), proof)


@settings(max_examples=60, deadline=None)
@given(entries=unique_entries, data=st.data())
def test_editing_any_leaf_is_detected(entries: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(entries) - 1), label="index")
    replacement = data.draw(st.binary(max_size=12).filter(lambda b: b != entries[index]))
    tampered = list(entries)
    tampered[index] = replacement
    _assert_tampered_log_fails(entries, tampered)
    # The honest proof for that position does not vouch for the edited entry either.
    proof = inclusion_proof([leaf_hash(e) for e in entries], index)
    with pytest.raises(ProofError):
        verify_inclusion(
            leaf_hash(replacement),
            index,
            len(entries),
            proof,
            root_hash([leaf_hash(e) for e in entries]),
        )


@settings(max_examples=60, deadline=None)
@given(entries=unique_entries, data=st.data())
def test_deleting_a_leaf_is_detected(entries: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(entries) - 1), label="index")
    _assert_tampered_log_fails(entries, entries[:index] + entries[index + 1 :])
    # Re-filling the gap by appending keeps the size but still changes the history.
    refilled = [*entries[:index], *entries[index + 1 :], b"\xff" * 13]
    _assert_tampered_log_fails(entries, refilled)


@settings(max_examples=60, deadline=None)
@given(entries=unique_entries, data=st.data())
def test_swapping_two_leaves_is_detected(entries: list[bytes], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(entries) - 2), label="i")
    j = data.draw(st.integers(i + 1, len(entries) - 1), label="j")
    tampered = list(entries)
    tampered[i], tampered[j] = tampered[j], tampered[i]
    _assert_tampered_log_fails(entries, tampered)


@settings(max_examples=60, deadline=None)
@given(entries=unique_entries, data=st.data())
def test_truncating_the_log_is_detected(entries: list[bytes], data: st.DataObject) -> None:
    keep = data.draw(st.integers(0, len(entries) - 1), label="keep")
    truncated = entries[:keep]
    _assert_tampered_log_fails(entries, truncated)
    # A truncated log cannot prove consistency with the larger checkpoint either way round.
    leaves = [leaf_hash(e) for e in entries]
    with pytest.raises(ProofError):
        verify_consistency(len(entries), keep, root_hash(leaves), root_hash(leaves[:keep]), [])


# -- the cached tree over an abstract leaf source ------------------------------------------------


class CountingSource:
    """A leaf source that counts its calls, like a database table of leaf hashes would."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.leaves = leaves
        self.calls = 0

    def __call__(self, start: int, end: int) -> Sequence[bytes]:
        self.calls += 1
        if end > len(self.leaves):
            raise IndexError(f"no leaf {end - 1}")
        return self.leaves[start:end]


def test_cache_is_filled_once_and_reused_after_appends() -> None:
    source = CountingSource(list(LEAVES[:600]))
    cache = MemorySubtreeCache()
    tree = MerkleTree(source, cache=cache, min_cached_level=2, batch_level=4)
    assert tree.root(600) == PYMERKLE.get_root(600)
    cold_calls, cached = source.calls, len(cache)
    assert cached > 0
    assert tree.root(600) == PYMERKLE.get_root(600)
    assert source.calls == cold_calls  # 600 = 512 + 64 + 16 + 8: all cached subtrees
    # Appending leaves never invalidates a cached subtree: later sizes still match the oracle.
    source.leaves.extend(LEAVES[600:1000])
    for size in (601, 777, 1000):
        assert tree.root(size) == PYMERKLE.get_root(size)
        assert tree.consistency_proof(600, size) == ref_proof(600, ENTRIES[:size])
    # A fresh tree over the same (shared, e.g. persisted) cache needs no leaf reads for roots
    # that are made only of cached subtrees.
    again = CountingSource(source.leaves)
    assert MerkleTree(again, cache=cache, min_cached_level=2).root(1000) == PYMERKLE.get_root(1000)
    assert again.calls == 0


def test_source_returning_the_wrong_number_of_leaves_is_an_error() -> None:
    tree = MerkleTree(lambda start, end: LEAVES[start : end - 1])
    with pytest.raises(ValueError, match="leaf source returned"):
        tree.root(8)


def test_in_memory_tree_appends() -> None:
    tree = InMemoryMerkleTree()
    for size, entry in enumerate(ENTRIES[:70], start=1):
        assert tree.append(entry) == size - 1
        assert tree.root() == PYMERKLE.get_root(size)
    with pytest.raises(ValueError, match="32 bytes"):
        tree.append_leaf_hash(b"x")


def test_100k_leaves_are_fast_after_warm_up() -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(100_000)]
    tree = MerkleTree(lambda start, end: leaves[start:end])
    tree.root(100_000)  # warm-up: fills the subtree cache
    started = time.perf_counter()
    for size in range(99_000, 100_001, 100):
        tree.root(size)
        tree.inclusion_proof(size // 3, size)
        tree.consistency_proof(size // 2, size)
    per_call = (time.perf_counter() - started) / (3 * 11)
    assert per_call < 0.1, f"{per_call * 1000:.1f} ms per call"


def _flip(digest: bytes, bit: int) -> bytes:
    flipped = bytearray(digest)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)
