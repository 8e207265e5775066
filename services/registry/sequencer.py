"""The exchange log's sequencer: group commit of concurrent appends.

Exchanges hand their entries to :meth:`Sequencer.append` and block. Whichever waiting thread
finds the sequencer idle becomes the writer for everything queued at that moment (never more
than ``max_batch`` entries): one transaction, one ``log_head`` row lock, consecutive indices,
one commit (one fsync on SQLite). Only after the commit does it wake the exchanges in that
batch; the next waiting thread then writes what queued up meanwhile. The batch is sized by
what is waiting, never by a timer, so one exchange alone is written at once.

On PostgreSQL every registry replica runs a sequencer over the same ``log_head`` row: the row
lock makes replicas take turns per batch, so indices stay dense and unique across replicas.
Nothing is acknowledged before it is durable (invariant 6): a failed commit fails every
exchange in its batch, and none of them returns data. Each durable append's latency (wait
and commit) is the ``mynumber_log_append_seconds`` histogram.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from opentelemetry import context as otel_context
from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.engine import Connection

from mynumber_core import metrics
from mynumber_core.bound_lists import PerDialect, in_list, insert_many
from mynumber_core.clock import utc_now
from mynumber_core.db import Database
from mynumber_core.log import get_logger
from services.registry.models import LogEntry, LogHead

log = get_logger(__name__)

MAX_BATCH = 1024
"""Entries written in one transaction at most (the rest wait for the next batch)."""

_LOG = cast(Table, LogEntry.__table__)
_HEAD = cast(Table, LogHead.__table__)

RowBuilder = Callable[[Any, int, dt.datetime], Mapping[str, Any]]
"""(entry, index, time) → the ``log_entries`` row's column values."""

_BUMP = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(size=_HEAD.c.size + bindparam("count"))
    .returning(_HEAD.c.size)
)
"""Move ``log_head`` on by the bound ``count`` (locking its row); the new size."""
_RECORDED_COLUMNS = (
    _LOG.c.index,
    _LOG.c.requester,
    _LOG.c.request_id,
    _LOG.c.outcome,
    _LOG.c.fingerprint,
    _LOG.c.message,
    _LOG.c.result,
    _LOG.c.status_code,
)
_FROM_FLOOR = _LOG.c.index >= bindparam("floor")
_RECORDED_ONE = (
    select(*_RECORDED_COLUMNS)
    .where(_LOG.c.requester == bindparam("requester"), _LOG.c.request_id == bindparam("request_id"))
    .order_by(_LOG.c.index)
)
"""The entries of one idempotency key (the usual batch of one exchange)."""
_RECORDED_MANY = PerDialect(
    lambda pg: (
        select(*_RECORDED_COLUMNS)
        .where(
            in_list(_LOG.c.requester, "requesters", postgres=pg),
            in_list(_LOG.c.request_id, "request_ids", postgres=pg),
        )
        .order_by(_LOG.c.index)
    )
)
"""The entries of the bound requesters and request ids: a superset of the wanted pairs when a
batch has several requesters (the caller keeps only its pairs). Two plain lists (each one
bound parameter: ``mynumber_core.bound_lists``), not a row-value ``IN``: PostgreSQL planned
``(requester, request_id) IN (500 pairs)`` as 500 OR-ed index scans, 45 ms of planning per
batch inside the sequencer's transaction."""
_RECORDED_ONE_FROM = _RECORDED_ONE.where(_FROM_FLOOR)
_RECORDED_MANY_FROM = PerDialect(lambda pg: _RECORDED_MANY.build(pg).where(_FROM_FLOOR))
"""The same from the bound ``floor`` index on: only the log's newest entries, when the
exchanges searched everything below it already (:attr:`Append.checked_below`)."""

COPY_AT_LEAST = 32
"""On PostgreSQL, a batch of at least this many log rows is written with ``COPY`` (one
stream) instead of an ``executemany`` of ``INSERT``s: half the time for 500 rows."""
_LOG_NAMES = tuple(column.name for column in _LOG.columns)
_COPY_LOG = "COPY log_entries ({}) FROM STDIN".format(", ".join(f'"{n}"' for n in _LOG_NAMES))


@dataclass(frozen=True)
class Append:
    """One entry to append.

    ``replay_outcomes``: when set, the entry is appended only if no entry with the same
    requester and request id and one of these outcomes exists yet (in the log or earlier in
    the same batch); otherwise that entry is returned instead (a concurrent retry won).

    ``checked_below``: the exchange already searched the log below this index for such an
    entry and found none (in a statement that began after the log's size was read, so every
    entry below it was visible). The batch's transaction then re-checks only the entries from
    there on, the few appended since, instead of the whole index for every key.
    """

    entry: Any
    replay_outcomes: tuple[str, ...] = ()
    checked_below: int | None = None
    with_rows: tuple[tuple[Table, Mapping[str, Any]], ...] = ()
    """Rows written in the batch's transaction too, before the entries (insert-or-ignore on
    their primary key): a batch's sealed answer, which its entries commit to, lands with them
    in the one group commit instead of taking a write transaction of its own."""


@dataclass(frozen=True)
class Recorded:
    """An entry already in the log, as an idempotent retry needs it."""

    index: int
    outcome: str
    fingerprint: str
    message: str
    result: str | None
    status_code: int


@dataclass(frozen=True)
class Appended:
    """Where an entry landed: its new index, or the earlier entry it replays."""

    index: int
    replayed: Recorded | None = None


@dataclass
class _Ticket:
    items: Sequence[Append]
    done: bool = False
    result: list[Appended] = field(default_factory=list)
    error: BaseException | None = None


def _recorded(row: Any) -> Recorded:
    return Recorded(
        row.index, row.outcome, row.fingerprint, row.message, row.result, row.status_code
    )


class Sequencer:
    """Group commit of log appends (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        build_row: RowBuilder,
        *,
        on_commit: Callable[[int, list[bytes]], None] | None = None,
        max_batch: int = MAX_BATCH,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._db = db
        self._build_row = build_row
        self._on_commit = on_commit
        self._max_batch = max_batch
        self._clock = clock
        self._cv = threading.Condition()
        self._queue: list[_Ticket] = []
        self._busy = False
        self.batches = 0
        """Transactions committed (for tests and metrics)."""
        self.largest_batch = 0
        """Most entries committed in one transaction so far."""

    def append(self, items: Sequence[Append]) -> list[Appended]:
        """Append ``items`` (consecutive indices, in order); returns once they are durable."""
        if not items:
            return []
        started = time.perf_counter()
        ticket = _Ticket(list(items))
        with self._cv:
            self._queue.append(ticket)
        while True:
            with self._cv:
                while self._busy and not ticket.done:
                    self._cv.wait()
                if ticket.done:
                    return self._timed(ticket, started)
                # Nobody is writing: this thread writes the queue's front. That batch need
                # not hold this ticket (the queue may hold more than one batch, and a woken
                # waiter may not have taken the turn yet), so it goes round until it is done.
                self._busy = True
                batch = self._take()
            try:
                self._write(batch)
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()

    @classmethod
    def _timed(cls, ticket: _Ticket, started: float) -> list[Appended]:
        """The ticket's outcome; a durable append's latency goes to the metrics."""
        result = cls._outcome(ticket)
        metrics.LOG_APPEND.observe(time.perf_counter() - started)
        return result

    def _take(self) -> list[_Ticket]:
        """The queued tickets for one batch (at least one, at most ``max_batch`` entries)."""
        batch: list[_Ticket] = []
        count = 0
        while self._queue and (not batch or count + len(self._queue[0].items) <= self._max_batch):
            ticket = self._queue.pop(0)
            batch.append(ticket)
            count += len(ticket.items)
        return batch

    @staticmethod
    def _outcome(ticket: _Ticket) -> list[Appended]:
        if ticket.error is not None:
            raise ticket.error
        return ticket.result

    def _write(self, batch: list[_Ticket]) -> None:
        detached = otel_context.attach(otel_context.Context())  # no one exchange's trace
        try:
            with self._db.engine.begin() as conn:  # Core, not ORM: the hot path
                results, first, hashes = self._append_batch(conn, batch)
        except BaseException as exc:  # nothing was committed: every exchange in it fails
            for ticket in batch:
                ticket.error, ticket.done = exc, True
            return
        finally:
            otel_context.detach(detached)
        self.batches += 1
        self.largest_batch = max(self.largest_batch, sum(len(t.items) for t in batch))
        if self._on_commit is not None and hashes:
            try:
                self._on_commit(first, hashes)
            except Exception as exc:  # committed is committed: the exchanges still succeed
                log.warning("after-commit hook failed", error=type(exc).__name__)
        for ticket, result in zip(batch, results, strict=True):
            ticket.result, ticket.done = result, True

    @staticmethod
    def _reserve(conn: Connection, count: int) -> int:
        """Lock the ``log_head`` row and move it on by ``count``; returns the first index.

        It is the transaction's first statement: on PostgreSQL the row lock orders replicas
        (they take turns per batch); on SQLite the write takes the database's write lock at
        once (waiting in the busy handler), so no read snapshot goes stale before the writes.
        """
        size = conn.scalar(_BUMP, {"count": count})
        if size is None:  # a new log; another replica may be creating the row right now
            conn.execute(
                text("INSERT INTO log_head (id, size) VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
            )
            size = conn.scalar(_BUMP, {"count": count})
        assert size is not None  # the row exists now
        return int(size) - count

    @staticmethod
    def _insert_with_rows(conn: Connection, batch: list[_Ticket]) -> None:
        """The items' ``with_rows``, once each (by table and primary key)."""
        rows: dict[tuple[str, tuple[Any, ...]], tuple[Table, Mapping[str, Any]]] = {}
        for ticket in batch:
            for item in ticket.items:
                for table, row in item.with_rows:
                    key = tuple(row[column.name] for column in table.primary_key.columns)
                    rows.setdefault((table.name, key), (table, row))
        tables: dict[str, tuple[Table, list[Mapping[str, Any]]]] = {}
        for table, row in rows.values():
            tables.setdefault(table.name, (table, []))[1].append(row)
        for table, values in tables.values():
            insert_many(conn, table, values, skip_existing=True)

    @staticmethod
    def _recorded_statement(
        conn: Connection, keys: set[tuple[str, str]], floor: int | None
    ) -> tuple[Any, dict[str, Any]]:
        """The statement reading the log's entries of ``keys`` (from ``floor`` on when set),
        with its parameters."""
        params: dict[str, Any] = {} if floor is None else {"floor": floor}
        if len(keys) == 1:
            ((requester, request_id),) = keys
            params.update(requester=requester, request_id=request_id)
            return (_RECORDED_ONE if floor is None else _RECORDED_ONE_FROM), params
        params.update(
            requesters=sorted({requester for requester, _ in keys}),
            request_ids=sorted({request_id for _, request_id in keys}),
        )
        return (_RECORDED_MANY if floor is None else _RECORDED_MANY_FROM)(conn), params

    @staticmethod
    def _insert_log_rows(conn: Connection, values: list[Mapping[str, Any]]) -> None:
        """The batch's log rows: ``COPY`` for a large batch on PostgreSQL, else ``INSERT``."""
        if conn.dialect.name != "postgresql" or len(values) < COPY_AT_LEAST:
            conn.execute(_LOG.insert(), values)
            return
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(_COPY_LOG) as copy:
            for row in values:
                copy.write_row([row.get(name) for name in _LOG_NAMES])

    def _append_batch(
        self, conn: Connection, batch: list[_Ticket]
    ) -> tuple[list[list[Appended]], int, list[bytes]]:
        reserved = sum(len(ticket.items) for ticket in batch)
        first = index = self._reserve(conn, reserved)
        self._insert_with_rows(conn, batch)
        checking = [item for ticket in batch for item in ticket.items if item.replay_outcomes]
        keys = {(item.entry.requester, item.entry.request_id) for item in checking}
        known: dict[tuple[str, str], list[Recorded]] = {}
        if keys:
            floors = [item.checked_below for item in checking]
            floor = None if None in floors else min(cast(list[int], floors))
            for row in conn.execute(*self._recorded_statement(conn, keys, floor)):
                if (row.requester, row.request_id) in keys:
                    known.setdefault((row.requester, row.request_id), []).append(_recorded(row))
        now = self._clock()
        values: list[Mapping[str, Any]] = []
        results: list[list[Appended]] = []
        for ticket in batch:
            mine: list[Appended] = []
            for item in ticket.items:
                key = (item.entry.requester, item.entry.request_id)
                if item.replay_outcomes:
                    earlier = next(
                        (r for r in known.get(key, []) if r.outcome in item.replay_outcomes), None
                    )
                    if earlier is not None:
                        mine.append(Appended(earlier.index, earlier))
                        continue
                new = self._build_row(item.entry, index, now)
                values.append(new)
                known.setdefault(key, []).append(
                    Recorded(
                        index,
                        new["outcome"],
                        new["fingerprint"],
                        new["message"],
                        new.get("result"),
                        new["status_code"],
                    )
                )
                mine.append(Appended(index))
                index += 1
            results.append(mine)
        if values:
            self._insert_log_rows(conn, values)
        if index - first != reserved:  # replays took no index: give the rest back
            conn.execute(update(_HEAD).where(_HEAD.c.id == 1).values(size=index))
        return results, first, [bytes(v["leaf_hash"]) for v in values]
