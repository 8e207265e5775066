"""The sequencer's group commit on a real registry database (SQLite and PostgreSQL).

- Appends that arrive while a batch is being written go together into the next one: one
  transaction for all of them, consecutive indices, and nobody returns before it commits.
- A batch that fails to commit fails every exchange in it and writes nothing: no index is
  used up, and the next batch starts where the log ended.
- An entry marked for replay is not appended again when its request id is already recorded
  (in the log, or earlier in the same batch); the earlier record is returned.
- An exchange that searched the log below some index (``checked_below``) has only the newer
  entries re-checked: a retry recorded after its read is still replayed, one below is not
  searched again.
- A large batch (``COPY`` on PostgreSQL) stores exactly the rows a small one (``INSERT``) does.
- Two sequencers over one database (two replicas) keep indices dense and unique.
- The thread that takes the writer's turn writes the queue's front; when that batch does not
  hold its own entries (more than one batch waiting), it goes on writing until they are in.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select, text

from mynumber_core.clock import aware
from mynumber_core.db import Database
from mynumber_core.migrations import upgrade
from services.registry.exchange_log import NewEntry, row_values
from services.registry.models import LogEntry
from services.registry.sequencer import COPY_AT_LEAST, Append, Sequencer, _Ticket


def entry(request_id: str, outcome: str = "provided") -> NewEntry:
    return NewEntry(
        "pension", "tax", "income", "pension.exemption", outcome, "", request_id, "t" * 32, "f"
    )


@pytest.fixture
def db(backend: Any) -> Iterator[Database]:
    url = backend("registry")
    upgrade("registry", url)
    database = Database.from_url(url, pool_size=4, max_overflow=8)
    try:
        yield database
    finally:
        database.dispose()


def _indices(db: Database) -> list[int]:
    with db.engine.connect() as conn:
        return [r[0] for r in conn.execute(text('SELECT "index" FROM log_entries ORDER BY 1'))]


def _head(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT size FROM log_head WHERE id = 1")).scalar_one())


def test_appends_waiting_during_a_commit_share_the_next_transaction(db: Database) -> None:
    entered, release = threading.Event(), threading.Event()

    def build(e: Any, index: int, now: dt.datetime) -> Mapping[str, Any]:
        if e.request_id == "first":  # hold the first batch open until the others queue
            entered.set()
            assert release.wait(30)
        return row_values(e, index, now)

    sequencer = Sequencer(db, build)
    with ThreadPoolExecutor(64) as pool:
        first = pool.submit(sequencer.append, [Append(entry("first"))])
        assert entered.wait(30)
        rest = [pool.submit(sequencer.append, [Append(entry(f"r{i}"))]) for i in range(63)]
        while sum(len(t.items) for t in sequencer._queue) < 63:  # all 63 are waiting
            threading.Event().wait(0.01)
        assert not any(f.done() for f in rest), "nothing returns before its commit"
        assert _indices(db) == []
        release.set()
        assert first.result()[0].index == 0
        indices = sorted(f.result()[0].index for f in rest)
    assert indices == list(range(1, 64))
    assert sequencer.batches == 2 and sequencer.largest_batch == 63
    assert _indices(db) == list(range(64)) and _head(db) == 64


def test_a_writer_whose_entries_are_not_in_the_front_batch_writes_again(db: Database) -> None:
    # A waiter woken after a commit has not taken the writer's turn yet, and a new append
    # takes it: the front of the queue is the waiter's ticket, a whole batch by itself. The
    # new append must not return until its own entries are durable (it used to return an
    # empty result: 8 disaster-list BatchQuery calls in flight failed with INTERNAL).
    sequencer = Sequencer(db, row_values, max_batch=2)
    waiting = _Ticket([Append(entry("w0")), Append(entry("w1"))])
    sequencer._queue.append(waiting)  # the waiter's ticket, queued first
    mine = sequencer.append([Append(entry("mine"))])
    assert waiting.done and [a.index for a in waiting.result] == [0, 1]
    assert [a.index for a in mine] == [2]
    assert sequencer.batches == 2 and _indices(db) == [0, 1, 2]


def test_a_failed_batch_fails_every_exchange_in_it_and_uses_no_index(db: Database) -> None:
    def build(e: Any, index: int, now: dt.datetime) -> Mapping[str, Any]:
        if e.request_id == "bad":
            raise RuntimeError("simulated failure inside the batch's transaction")
        return row_values(e, index, now)

    sequencer = Sequencer(db, build)
    sequencer.append([Append(entry("ok-0"))])
    with pytest.raises(RuntimeError):
        sequencer.append([Append(entry("ok-1")), Append(entry("bad")), Append(entry("ok-2"))])
    assert _indices(db) == [0] and _head(db) == 1
    assert sequencer.append([Append(entry("ok-3"))])[0].index == 1


def test_a_recorded_request_id_is_replayed_not_appended_again(db: Database) -> None:
    sequencer = Sequencer(db, row_values)
    replay = ("provided",)
    [done] = sequencer.append([Append(entry("q1"), replay)])
    assert done.replayed is None
    again, twin, other, failed = sequencer.append(
        [
            Append(entry("q1"), replay),  # already in the log
            Append(entry("q2"), replay),
            Append(entry("q2"), replay),  # earlier in this batch
            Append(entry("q2", outcome="failed")),  # not a replay candidate: appended
        ]
    )
    assert again.replayed is not None and again.index == done.index == 0
    assert twin.replayed is None and twin.index == 1
    assert other.replayed is not None and other.index == 1
    assert failed.replayed is None and failed.index == 2
    assert _indices(db) == [0, 1, 2]


def test_only_entries_from_the_checked_floor_on_are_searched_again(db: Database) -> None:
    sequencer = Sequencer(db, row_values)
    replay = ("provided",)
    sequencer.append([Append(entry("old"), replay)])  # index 0
    # An exchange read the log's size (1) and searched below it; then a concurrent retry of
    # "late" was recorded at index 1, after that read.
    [late] = sequencer.append([Append(entry("late"), replay)])
    assert late.index == 1
    again, fresh = sequencer.append(
        [Append(entry("late"), replay, checked_below=1), Append(entry("new"), replay, 1)]
    )
    assert again.replayed is not None and again.index == 1, "a retry newer than the read wins"
    assert fresh.replayed is None and fresh.index == 2
    # Below the floor is the exchange's own read's business: not searched again.
    [below] = sequencer.append([Append(entry("old"), replay, checked_below=3)])
    assert below.replayed is None and below.index == 3
    assert _indices(db) == [0, 1, 2, 3] and _head(db) == 4


def _rows(db: Database) -> list[dict[str, Any]]:
    """Every log row as the registry's own table reads it (times as aware UTC)."""
    with db.engine.connect() as conn:
        rows = conn.execute(select(LogEntry.__table__).order_by(LogEntry.index)).mappings()
        return [
            {k: aware(v) if isinstance(v, dt.datetime) else v for k, v in row.items()}
            for row in rows
        ]


def test_a_large_batch_stores_the_same_rows_as_single_appends(db: Database) -> None:
    at = dt.datetime(2026, 4, 1, 9, 30, tzinfo=dt.UTC)
    sequencer = Sequencer(db, row_values, clock=lambda: at)
    count = COPY_AT_LEAST + 8
    answered = [
        NewEntry(
            "municipality",
            "tax",
            "income",
            "disaster.support",
            "provided",
            "",
            f"b{i}",
            f"{i:032x}",
            "f" * 64,
            None,
            0,
            answer_digest="d" * 64,
            answer_position=i,
        )
        for i in range(count)
    ]
    big = sequencer.append([Append(e, ("provided",)) for e in answered])  # COPY on PostgreSQL
    assert [a.index for a in big] == list(range(count))
    singles = [sequencer.append([Append(e)])[0].index for e in answered]  # one INSERT each
    assert singles == list(range(count, 2 * count))
    rows = _rows(db)
    assert len(rows) == 2 * count
    for copied, inserted in zip(rows[:count], rows[count:], strict=True):
        assert copied["index"] + count == inserted["index"]
        expected = dict(row_values(answered[copied["index"]], copied["index"], at))
        stored = {k: copied[k] for k in expected}
        assert stored["created_at"] == at
        assert stored == {**expected, "created_at": stored["created_at"]}
        assert {k: v for k, v in copied.items() if k not in ("index", "leaf", "leaf_hash")} == {
            k: v for k, v in inserted.items() if k not in ("index", "leaf", "leaf_hash")
        }


def test_two_sequencers_on_one_database_keep_indices_dense_and_unique(db: Database) -> None:
    second_db = Database.from_url(str(db.engine.url.render_as_string(hide_password=False)))
    try:
        replicas = [Sequencer(db, row_values), Sequencer(second_db, row_values)]

        def one(i: int) -> int:
            return replicas[i % 2].append([Append(entry(f"x{i}"))])[0].index

        with ThreadPoolExecutor(16) as pool:
            got = sorted(pool.map(one, range(200)))
    finally:
        second_db.dispose()
    assert got == list(range(200))
    assert _indices(db) == list(range(200)) and _head(db) == 200
