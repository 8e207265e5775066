"""The exchange log (やりとり履歴): append-only rows, an RFC 9162 Merkle tree over them, and
Ed25519-signed checkpoints.

Exchanges append through the :class:`~services.registry.sequencer.Sequencer` (group commit:
one transaction per batch with the single ``log_head`` row locked, so the index sequence has
no gaps and replicas take turns per batch); every entry is durable before the hub returns
any data (fail closed). Checkpoints are signed off the exchange path by the
:class:`~services.registry.checkpoints.Checkpointer`, at most every few hundred ms; entries
newer than the newest checkpoint are pending inclusion.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mynumber_core.checkpoint import Checkpoint, sign_checkpoint
from mynumber_core.db import Database
from mynumber_core.errors import IntegrityFailure
from mynumber_core.merkle import MemorySubtreeCache, MerkleTree, leaf_hash
from mynumber_core.sealing import SealedBox
from services.registry.checkpoints import DEFAULT_INTERVAL, Checkpointer, SignedCheckpoint
from services.registry.domain import canonical_entry
from services.registry.models import LogEntry, LogHead
from services.registry.sequencer import Append, Appended, Sequencer
from services.registry.witnessing import Witnessing

CHECKPOINT_ORIGIN = "mynumber.local/exchange-log"
HASH_BYTES = 32


@dataclass(frozen=True)
class NewEntry:
    """What the hub records about one exchange."""

    requester: str
    provider: str
    item: str
    procedure: str
    outcome: str
    reason: str
    request_id: str
    citizen_tag: str
    fingerprint: str
    answer: SealedBox | None = None
    """A single query's sealed answer, kept (ciphertext only) for idempotent replay."""
    status_code: int = 0
    answer_digest: str | None = None
    """SHA-256 (hex) of the ciphertext relayed: the leaf commits to exactly what was sent."""
    answer_position: int | None = None
    """This exchange's place in a batch-sealed answer (``sealed_answers``)."""

    @functools.cached_property
    def leaf_body(self) -> bytes:
        """The canonical leaf without its index and time, computed once per entry, before
        the sequencer's turn (see :func:`leaf_bytes`)."""
        return canonical_entry(
            {
                "requester": self.requester,
                "provider": self.provider,
                "item": self.item,
                "procedure": self.procedure,
                "outcome": self.outcome,
                "reason": self.reason,
                "request_id": self.request_id,
                "tag": self.citizen_tag,
                **({"answer_sha256": self.answer_digest} if self.answer_digest else {}),
                **(
                    {"answer_position": self.answer_position}
                    if self.answer_position is not None
                    else {}
                ),
            }
        )


def leaf_bytes(entry: NewEntry, index: int, now: dt.datetime) -> bytes:
    """The canonical leaf of ``entry`` at ``index`` (sorted-key compact JSON), spliced from
    :attr:`NewEntry.leaf_body`: the sequencer writes one batch at a time with the log head
    locked, and serialising every entry inside that turn was 0.70 s of its 3.6 s in the
    disaster list's timings. ``"index"`` sorts just before ``"item"`` (always present) and
    ``"time"`` after every other key; ``"item":`` can only be that key, as a quote inside a
    JSON string is escaped. Equal to :func:`canonical_entry` of the whole entry (hypothesis:
    ``tests/unit/registry/test_leaf_bytes.py``)."""
    body = entry.leaf_body
    at = body.index(b'"item":')
    stamp = now.isoformat(timespec="milliseconds").encode()
    return b'%s"index":%d,%s,"time":"%s"}' % (body[:at], index, body[at:-1], stamp)


def row_values(entry: NewEntry, index: int, now: dt.datetime) -> dict[str, Any]:
    """The ``log_entries`` row recording ``entry`` at ``index``: the canonical leaf, its
    RFC 9162 leaf hash, and the columns the hub looks entries up by."""
    leaf = leaf_bytes(entry, index, now)
    return {
        "index": index,
        "leaf": leaf,
        "leaf_hash": leaf_hash(leaf),
        "citizen_tag": entry.citizen_tag,
        "requester": entry.requester,
        "provider": entry.provider,
        "request_id": entry.request_id,
        "fingerprint": entry.fingerprint,
        "outcome": entry.outcome,
        "answer": entry.answer.ciphertext if entry.answer else None,
        "answer_key_id": entry.answer.key_id if entry.answer else None,
        "answer_suite": entry.answer.suite if entry.answer else None,
        "answer_digest": entry.answer_digest,
        "answer_position": entry.answer_position,
        "status_code": entry.status_code,
        "message": entry.reason,
        "created_at": now,
    }


@dataclass(frozen=True)
class StoredLeaf:
    """One stored entry as the log's readers see it: its index and its canonical leaf."""

    index: int
    leaf: bytes


class ExchangeLogStore:
    """Appends entries and proves things about them."""

    def __init__(
        self,
        db: Database,
        signing_key: Ed25519PrivateKey,
        *,
        checkpoint_interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self._db = db
        self._signing_key = signing_key
        self.public_key = signing_key.public_key()
        self.key_name = CHECKPOINT_ORIGIN
        self._lock = threading.Lock()
        self._leaf_lock = threading.Lock()
        self._leaves = bytearray()
        self._tree = MerkleTree(self._leaf_hashes, cache=MemorySubtreeCache())
        self.sequencer = Sequencer(db, row_values, on_commit=self._committed)
        self.checkpoints = Checkpointer(db, self.size, self._sign, interval=checkpoint_interval)
        self.witnessing: Witnessing | None = None
        """Set by the wiring when witnesses are configured (services/registry/witnessing.py)."""

    def _committed(self, first: int, hashes: list[bytes]) -> None:
        """A batch is durable: keep its leaf hashes (when contiguous) and wake the signer."""
        with self._leaf_lock:
            if len(self._leaves) // HASH_BYTES == first:
                for digest in hashes:
                    self._leaves += digest
        self.checkpoints.committed(first + len(hashes))

    def record(self, items: Sequence[Append]) -> list[Appended]:
        """Append entries through the sequencer (group commit); returns once durable. Each
        entry's leaf body is serialised here, in the caller's thread, not in the writer's
        turn."""
        for item in items:
            _ = item.entry.leaf_body
        return self.sequencer.append(items)

    def record_one(self, entry: NewEntry) -> int:
        """Append one entry; its index once durable."""
        return self.record([Append(entry)])[0].index

    def _leaf_hashes(self, start: int, end: int) -> Sequence[bytes]:
        """Leaf hashes ``[start, end)``, from a contiguous in-memory copy of the log's leaves.

        Leaves never change once written, so each is read from the database once (32 bytes
        per entry: 32 MB for a million); proofs over the growing right edge of the tree no
        longer cost a database round trip each. A missing row is a gap in the log.
        """
        with self._leaf_lock:
            have = len(self._leaves) // HASH_BYTES
            if end > have:
                with self._db.transaction() as session:
                    rows = list(
                        session.scalars(
                            select(LogEntry.leaf_hash)
                            .where(LogEntry.index >= have, LogEntry.index < end)
                            .order_by(LogEntry.index)
                        )
                    )
                if len(rows) != end - have:
                    raise IntegrityFailure(
                        f"the exchange log has a gap between entries {have} and {end}"
                    )
                for digest in rows:
                    self._leaves += digest
            view = bytes(self._leaves[start * HASH_BYTES : end * HASH_BYTES])
        return [view[i : i + HASH_BYTES] for i in range(0, len(view), HASH_BYTES)]

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction that holds the append lock until it has committed.

        Holding the lock through the commit keeps SQLite writers from colliding (and
        sleeping in the busy handler); on PostgreSQL the ``log_head`` row lock orders
        writers across replicas as well.
        """
        with self._lock, self._db.transaction() as session:
            yield session

    def append(self, session: Session, entry: NewEntry, now: dt.datetime) -> int:
        """Append inside :meth:`writing` (one entry per transaction; exchanges use
        :meth:`record`, which groups concurrent appends); returns the new entry's index."""
        head = session.scalars(select(LogHead).where(LogHead.id == 1).with_for_update()).first()
        if head is None:
            head = LogHead(id=1, size=0)
            session.add(head)
            session.flush()
        index = head.size
        session.add(LogEntry(**row_values(entry, index, now)))
        head.size = index + 1
        session.flush()
        return index

    def size(self) -> int:
        """Entries in the log."""
        with self._db.transaction() as session:
            head = session.get(LogHead, 1)
            return head.size if head else 0

    def _sign(self, size: int) -> tuple[str, bytes]:
        root = self._tree.root(size)
        checkpoint = Checkpoint(CHECKPOINT_ORIGIN, size, root)
        note = sign_checkpoint(checkpoint, self.key_name, self._signing_key)
        if self.witnessing is not None:  # the witnesses' cosignatures travel with the note
            note = self.witnessing.cosign(note, size)
        return note, root

    def signed_checkpoint(self, size: int | None = None) -> tuple[str, int]:
        """A freshly signed checkpoint of the first ``size`` entries (default: all); not
        stored. Residents are shown :meth:`checkpoint`, the newest stored one."""
        size = self.size() if size is None else size
        return self._sign(size)[0], size

    def checkpoint(self) -> SignedCheckpoint:
        """The newest signed checkpoint (entries at or beyond its size are pending)."""
        return self.checkpoints.latest()

    def checkpoint_covering(self, size: int, timeout: float) -> SignedCheckpoint:
        """The newest checkpoint, waiting up to ``timeout`` s for one of at least ``size``."""
        return self.checkpoints.wait_for(size, timeout)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 audit path of entry ``index`` in the tree of ``size`` entries."""
        return self._tree.inclusion_proof(index, size)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """RFC 9162 consistency proof between two tree sizes."""
        return self._tree.consistency_proof(first, second)

    def newest_index(self, citizen_tag: str) -> int | None:
        """The index of one person's newest entry (None: no entries yet)."""
        with self._db.engine.connect() as conn:
            return conn.scalar(
                select(func.max(LogEntry.index)).where(LogEntry.citizen_tag == citizen_tag)
            )

    def entries_for(
        self,
        citizen_tag: str,
        *,
        after: int | None,
        limit: int,
        before: int | None = None,
        newest_first: bool = False,
        agency: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> list[StoredLeaf]:
        """One person's entries in index order (descending when ``newest_first``): each one's
        index and canonical leaf, which is everything a log page shows and proves (not the
        ORM object with its relayed ciphertext: reading those made the portal's log page
        slow for residents with many entries).

        ``after``/``before`` bound the index (exclusive), ``agency`` keeps the entries it
        requested or provided, ``since`` (inclusive) and ``until`` (exclusive) bound the time.
        The (citizen_tag, index) index serves both orders without a sort.
        """
        query = select(LogEntry.index, LogEntry.leaf).where(LogEntry.citizen_tag == citizen_tag)
        if after is not None:
            query = query.where(LogEntry.index > after)
        if before is not None:
            query = query.where(LogEntry.index < before)
        if agency is not None:
            query = query.where(or_(LogEntry.requester == agency, LogEntry.provider == agency))
        if since is not None:
            query = query.where(LogEntry.created_at >= since)
        if until is not None:
            query = query.where(LogEntry.created_at < until)
        order = LogEntry.index.desc() if newest_first else LogEntry.index
        with self._db.reading() as conn:
            rows = conn.execute(query.order_by(order).limit(limit)).all()
        return [StoredLeaf(int(index), bytes(leaf)) for index, leaf in rows]

    def find(
        self,
        session: Session,
        requester: str,
        request_id: str,
        provider: str | None,
        outcomes: Sequence[str],
    ) -> LogEntry | None:
        """A recorded exchange with this idempotency key and one of these outcomes
        (with any provider when ``provider`` is None)."""
        query = select(LogEntry).where(
            LogEntry.requester == requester,
            LogEntry.request_id == request_id,
            LogEntry.outcome.in_(list(outcomes)),
        )
        if provider is not None:
            query = query.where(LogEntry.provider == provider)
        return session.scalars(query.order_by(LogEntry.index).limit(1)).first()


def leaf_fields(leaf: bytes) -> Mapping[str, Any]:
    """Decode a stored leaf (for servicers building LogEntry messages)."""
    return dict(json.loads(leaf))
