"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and proof verification.

The exchange log is an append-only list of entries. Each entry is hashed into a *leaf hash*
(``SHA-256(0x00 || entry)``); the Merkle Tree Hash (MTH) of the first ``n`` leaves is defined
recursively by RFC 9162 §2.1.1 with interior nodes ``SHA-256(0x01 || left || right)`` and the
empty tree hashing to ``SHA-256("")``.

:class:`MerkleTree` computes roots and proofs over any :data:`LeafSource` — a callable that
returns the leaf hashes of a half-open index range, e.g. one SQL query over the registry's
leaf table — and memoises the hashes of complete, power-of-two aligned subtrees in a
:class:`SubtreeCache`. Because the log is append-only, such a subtree never changes once all of
its leaves exist, so a cached hash is valid for every later tree size and the cache never needs
invalidating. :class:`InMemoryMerkleTree` and the module-level functions are in-memory
conveniences over a plain list.

:func:`verify_inclusion` and :func:`verify_consistency` implement exactly the verification
procedures of RFC 9162 §2.1.3.2 and §2.1.4.2 and raise :class:`ProofError` saying which check
failed.

Why about 470 lines: RFC 9162's tree hash, inclusion and consistency proofs and their
verification are one specification and are checked against each other; each function is
short and names its section.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from typing import Protocol

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "InMemoryMerkleTree",
    "LeafSource",
    "MemorySubtreeCache",
    "MerkleTree",
    "ProofError",
    "SubtreeCache",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Size in bytes of every hash in the tree (SHA-256)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1)."""

LeafSource = Callable[[int, int], Sequence[bytes]]
"""``source(start, end)`` returns the leaf hashes of leaves ``start`` .. ``end - 1``, in order.

It must return exactly ``end - start`` hashes, or raise if some of those leaves do not exist.
"""


class ProofError(ValueError):
    """A Merkle proof did not verify; the message says which check failed."""


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 leaf hash ``SHA-256(0x00 || data)`` of one log entry."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(width: int) -> int:
    """Return k, the largest power of two strictly smaller than ``width`` (``width`` > 1)."""
    return 1 << ((width - 1).bit_length() - 1)


def _is_power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


class SubtreeCache(Protocol):
    """Storage for hashes of complete subtrees, keyed by (level, index).

    The subtree at ``(level, index)`` covers leaves ``index * 2**level`` to
    ``(index + 1) * 2**level - 1``. Entries are immutable once written, so implementations may
    ignore concurrent duplicate writes of the same value.
    """

    def get(self, level: int, index: int) -> bytes | None:
        """Return the cached hash, or None if it is not cached."""
        ...

    def put(self, level: int, index: int, digest: bytes) -> None:
        """Remember the hash of a complete subtree."""
        ...


class MemorySubtreeCache:
    """A :class:`SubtreeCache` in a dict (unbounded; about 2 * n / 2**min_level entries)."""

    def __init__(self) -> None:
        self._hashes: dict[tuple[int, int], bytes] = {}

    def get(self, level: int, index: int) -> bytes | None:
        """Return the cached hash, or None if it is not cached."""
        return self._hashes.get((level, index))

    def put(self, level: int, index: int, digest: bytes) -> None:
        """Remember the hash of a complete subtree."""
        self._hashes[(level, index)] = digest

    def __len__(self) -> int:
        return len(self._hashes)


class MerkleTree:
    """RFC 9162 roots and proofs over an append-only leaf source, with a subtree-hash cache.

    The tree does not know its own size: every method takes the tree size to work on, and the
    leaf source decides which leaves exist. Only subtrees lying entirely inside the requested
    size are ever cached, so a cache filled at one size is correct for every later size as long
    as the source is append-only.

    ``min_cached_level``: subtrees below this level (fewer than ``2**min_cached_level`` leaves)
    are recomputed from their leaves instead of cached, which keeps the cache about
    ``2 / 2**min_cached_level`` times the number of leaves. ``batch_level``: a cache miss on a
    subtree of at most ``2**batch_level`` leaves fetches all its leaves in one source call and
    fills the cache bottom-up, so a cold tree of n leaves costs about ``n / 2**batch_level``
    source calls.
    """

    def __init__(
        self,
        source: LeafSource,
        *,
        cache: SubtreeCache | None = None,
        min_cached_level: int = 4,
        batch_level: int = 10,
    ) -> None:
        if min_cached_level < 1:
            raise ValueError("min_cached_level must be at least 1 (leaves are never cached)")
        if batch_level < min_cached_level:
            raise ValueError("batch_level must be at least min_cached_level")
        self._source = source
        self._cache: SubtreeCache = cache if cache is not None else MemorySubtreeCache()
        self._min_cached_level = min_cached_level
        self._batch_level = batch_level

    # -- public API -------------------------------------------------------------------------

    def root(self, size: int) -> bytes:
        """Return MTH(D[0:size]), the root hash of the first ``size`` leaves."""
        _check_size(size)
        return self._mth(0, size)

    def leaf(self, index: int) -> bytes:
        """Return the leaf hash at ``index``."""
        if index < 0:
            raise ValueError(f"leaf index {index} is negative")
        return self._fetch(index, index + 1)[0]

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """Return PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, ordered from leaf to root."""
        _check_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf index {index} is outside a tree of size {size}")
        proof: list[bytes] = []
        start, end = 0, size
        # Walk down from the root; RFC order is bottom-up, so reverse at the end.
        while end - start > 1:
            k = _split(end - start)
            if index < start + k:
                proof.append(self._mth(start + k, end))
                end = start + k
            else:
                proof.append(self._mth(start, start + k))
                start += k
        proof.reverse()
        return proof

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """Return PROOF(old_size, D[0:new_size]) of RFC 9162 §2.1.4.1.

        RFC 9162 defines the proof for 0 < old_size < new_size; for old_size 0 or equal sizes
        the proof is empty (nothing needs proving beyond comparing the roots).
        """
        _check_size(new_size)
        if not 0 <= old_size <= new_size:
            raise ValueError(f"old size {old_size} is outside 0..{new_size}")
        if old_size in (0, new_size):
            return []
        proof: list[bytes] = []
        start, end = 0, new_size
        complete = True  # the RFC's flag b: still on the old tree's left spine
        while True:
            width = end - start
            m = old_size - start
            if m == width:
                # SUBPROOF(m, D[m], b): the old tree's own hash is implied when b is true.
                if not complete:
                    proof.append(self._mth(start, end))
                break
            k = _split(width)
            if m <= k:
                proof.append(self._mth(start + k, end))
                end = start + k
            else:
                proof.append(self._mth(start, start + k))
                start += k
                complete = False
        proof.reverse()
        return proof

    # -- internals --------------------------------------------------------------------------

    def _fetch(self, start: int, end: int) -> Sequence[bytes]:
        hashes = self._source(start, end)
        if len(hashes) != end - start:
            raise ValueError(
                f"leaf source returned {len(hashes)} hashes for leaves {start}..{end - 1}"
            )
        return hashes

    def _mth(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end) as a subtree of a tree that starts at leaf 0."""
        width = end - start
        if width == 0:
            return EMPTY_ROOT
        if _is_power_of_two(width) and start % width == 0:
            level = width.bit_length() - 1
            return self._complete(level, start >> level)
        k = _split(width)
        return node_hash(self._mth(start, start + k), self._mth(start + k, end))

    def _complete(self, level: int, index: int) -> bytes:
        """Hash of the complete subtree at (level, index), through the cache."""
        if level == 0:
            return self._fetch(index, index + 1)[0]
        cacheable = level >= self._min_cached_level
        if cacheable:
            cached = self._cache.get(level, index)
            if cached is not None:
                return cached
        if level <= self._batch_level:
            start = index << level
            return self._build(level, index, self._fetch(start, start + (1 << level)))
        digest = node_hash(
            self._complete(level - 1, 2 * index), self._complete(level - 1, 2 * index + 1)
        )
        self._cache.put(level, index, digest)
        return digest

    def _build(self, level: int, index: int, leaves: Sequence[bytes]) -> bytes:
        """Hash a complete subtree bottom-up from its leaves, caching every cacheable level."""
        layer = list(leaves)
        current = 0
        while len(layer) > 1:
            layer = [node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
            current += 1
            if current >= self._min_cached_level:
                first = index << (level - current)
                for offset, digest in enumerate(layer):
                    self._cache.put(current, first + offset, digest)
        return layer[0]


def _check_size(size: int) -> None:
    if size < 0:
        raise ValueError(f"tree size {size} is negative")


class InMemoryMerkleTree(MerkleTree):
    """A :class:`MerkleTree` whose leaves live in a Python list; sizes default to all leaves."""

    def __init__(
        self,
        entries: Sequence[bytes] = (),
        *,
        cache: SubtreeCache | None = None,
        min_cached_level: int = 4,
        batch_level: int = 10,
    ) -> None:
        self._leaves: list[bytes] = [leaf_hash(entry) for entry in entries]
        super().__init__(
            self._range, cache=cache, min_cached_level=min_cached_level, batch_level=batch_level
        )

    def _range(self, start: int, end: int) -> Sequence[bytes]:
        if not 0 <= start <= end <= len(self._leaves):
            raise IndexError(f"leaves {start}..{end - 1} are not in a log of {len(self._leaves)}")
        return self._leaves[start:end]

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return len(self._leaves)

    def append(self, entry: bytes) -> int:
        """Append one entry (hashed into a leaf) and return its leaf index."""
        return self.append_leaf_hash(leaf_hash(entry))

    def append_leaf_hash(self, digest: bytes) -> int:
        """Append an already computed leaf hash and return its leaf index."""
        if len(digest) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, got {len(digest)}")
        self._leaves.append(digest)
        return len(self._leaves) - 1

    def _tree_size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if size > self.size:
            raise ValueError(f"tree size {size} is larger than the log ({self.size} leaves)")
        return size

    def root(self, size: int | None = None) -> bytes:
        """Return the root hash of the first ``size`` leaves (default: all)."""
        return super().root(self._tree_size(size))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return the inclusion proof of leaf ``index`` in the tree of ``size`` (default: all)."""
        return super().inclusion_proof(index, self._tree_size(size))

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Return the consistency proof from ``old_size`` to ``new_size`` (default: all)."""
        return super().consistency_proof(old_size, self._tree_size(new_size))


def _list_source(leaf_hashes: Sequence[bytes]) -> LeafSource:
    def source(start: int, end: int) -> Sequence[bytes]:
        if not 0 <= start <= end <= len(leaf_hashes):
            raise IndexError(f"leaves {start}..{end - 1} are not in a list of {len(leaf_hashes)}")
        return leaf_hashes[start:end]

    return source


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the MTH of a list of leaf hashes (uncached one-off computation)."""
    return MerkleTree(_list_source(leaf_hashes)).root(len(leaf_hashes))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Return the inclusion proof of leaf ``index`` in the tree of all ``leaf_hashes``."""
    return MerkleTree(_list_source(leaf_hashes)).inclusion_proof(index, len(leaf_hashes))


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """Return the consistency proof from the first ``old_size`` leaves to all ``leaf_hashes``."""
    return MerkleTree(_list_source(leaf_hashes)).consistency_proof(old_size, len(leaf_hashes))


# -- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) -------------------------------------------


def _check_hash(what: str, digest: bytes) -> None:
    if not isinstance(digest, bytes | bytearray) or len(digest) != HASH_SIZE:
        raise ProofError(f"{what} is not a {HASH_SIZE}-byte hash")


def _check_path(proof: Sequence[bytes]) -> None:
    for position, digest in enumerate(proof):
        _check_hash(f"proof element {position}", digest)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Verify that ``leaf`` (a leaf hash) is leaf ``index`` of the tree of ``size`` with ``root``.

    Follows RFC 9162 §2.1.3.2 step by step; raises :class:`ProofError` on any failure.
    """
    _check_hash("leaf hash", leaf)
    _check_hash("root hash", root)
    _check_path(proof)
    # Step 1.
    if index < 0 or index >= size:
        raise ProofError(f"leaf index {index} is not inside a tree of size {size}")
    # Steps 2-3.
    fn, sn = index, size - 1
    r = bytes(leaf)
    # Step 4.
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # Step 5.
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the path to the root")
    if not hmac.compare_digest(r, root):
        raise ProofError("inclusion proof does not lead to the expected root hash")


def verify_consistency(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Verify that the tree (``new_size``, ``new_root``) extends (``old_size``, ``old_root``).

    For 0 < old_size < new_size this is exactly RFC 9162 §2.1.4.2. The RFC leaves the edge
    cases to the caller; here equal sizes require equal roots and an empty proof, and the empty
    old tree requires the empty-tree hash and an empty proof. Raises :class:`ProofError`.
    """
    _check_hash("old root hash", old_root)
    _check_hash("new root hash", new_root)
    _check_path(proof)
    if old_size < 0 or new_size < old_size:
        raise ProofError(f"tree size went from {old_size} to {new_size}; a log only grows")
    if old_size == new_size:
        if proof:
            raise ProofError("a consistency proof between equal sizes must be empty")
        if not hmac.compare_digest(old_root, new_root):
            raise ProofError(f"two different root hashes for the same tree size {old_size}")
        return
    if old_size == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        if not hmac.compare_digest(old_root, EMPTY_ROOT):
            raise ProofError("old root hash of the empty tree is not SHA-256 of the empty string")
        return
    # Step 1.
    if not proof:
        raise ProofError("consistency proof is empty")
    path = [bytes(p) for p in proof]
    # Step 2.
    if _is_power_of_two(old_size):
        path.insert(0, bytes(old_root))
    # Steps 3-4.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the path to the new root")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise ProofError("consistency proof is shorter than the path to the new root")
    if not hmac.compare_digest(fr, old_root):
        raise ProofError("consistency proof does not reproduce the old root hash")
    if not hmac.compare_digest(sr, new_root):
        raise ProofError("consistency proof does not lead to the new root hash")
