"""Attempts reserved atomically before they are evaluated: one counter row per key.

Link guesses, claim PINs and card PINs all go through :class:`AttemptCounters`, so a burst of
parallel guesses is evaluated exactly up to the limit (issue 15): the attempt is taken first,
in its own committed transaction, and only then is the guess checked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, case, false, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from mynumber_core.bound_lists import in_list, insert_many
from mynumber_core.clock import Clock, aware, utc_now
from services.registry.abuse_models import AttemptCounter

_COUNTERS: Table = AttemptCounter.__table__  # type: ignore[assignment]
CHUNK = 1000
"""Keys per statement in the set-based calls (well under SQLite's bound-parameter limit)."""


@dataclass(frozen=True)
class Claim:
    """One attempt to reserve under ``key`` of ``scope``: at most ``limit`` per ``window``
    seconds (``None``: until a reset)."""

    scope: str
    key: str
    limit: int
    window: float | None


@dataclass(frozen=True)
class Refusal:
    """The claim :meth:`AttemptCounters.reserve_all` was refused on, and when its window
    frees up (None: only a reset frees it)."""

    claim: Claim
    until: dt.datetime | None


class _Refused(Exception):
    """Rolls back a :meth:`AttemptCounters.reserve_all` transaction at its first refusal."""


@dataclass(frozen=True)
class Reservation:
    """The outcome of reserving one attempt under a key."""

    reserved: bool
    until: dt.datetime | None = None
    """When refused: when the window frees up (None: only a reset frees it)."""


class AttemptCounters:
    """Attempts reserved atomically *before* they are evaluated, one counter row per key.

    :meth:`reserve` is one conditional ``UPDATE ... SET count = count + 1 WHERE count <
    limit`` (or the window has passed) on the key's row, in its own committed transaction.
    PostgreSQL locks the row and re-checks the condition after waiting, SQLite has one writer
    at a time: so however many attempts race, exactly ``limit`` are reserved and the rest are
    refused before anything is looked up. A success that should not count gives its slot back
    (:meth:`release`); a reset (a confirmed card PIN, an unlock at the counter) empties the
    counter. Shared by every replica (the rows are in the registry database).
    """

    def __init__(self, db: Any, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    def reserve(self, scope: str, key: str, limit: int, window: float | None) -> Reservation:
        """Reserve one attempt; ``window`` seconds after the first one the count restarts
        (``None``: it never does, only :meth:`reset` empties it)."""
        refused = self.reserve_all([Claim(scope, key, limit, window)])
        return Reservation(True) if refused is None else Reservation(False, refused.until)

    def reserve_all(self, claims: Sequence[Claim]) -> Refusal | None:
        """Reserve one attempt under each claim, all or none, in one committed transaction
        (rows locked in the order given: keep one order for every caller). None when all were
        reserved; else the first claim refused and when its window frees up (the transaction
        rolls back, so a claim granted before it takes nothing)."""
        now = self._clock()
        refused: Refusal | None = None
        try:
            with self._db.transaction() as session:
                for claim in claims:
                    if not self._claim(session, claim, now):
                        start = session.scalar(
                            select(_COUNTERS.c.window_start).where(
                                _COUNTERS.c.scope == claim.scope, _COUNTERS.c.key == claim.key
                            )
                        )
                        until = (
                            None
                            if claim.window is None or start is None
                            else aware(start) + dt.timedelta(seconds=claim.window)
                        )
                        refused = Refusal(claim, until)
                        raise _Refused
        except _Refused:
            return refused
        return None

    @staticmethod
    def _claim(session: Any, claim: Claim, now: dt.datetime) -> bool:
        """The conditional ``UPDATE`` of one key's row (created at 0 first); True when an
        attempt was reserved."""
        table = _COUNTERS
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            insert(table)
            .values(scope=claim.scope, key=claim.key, count=0, window_start=now)
            .on_conflict_do_nothing()
        )
        stale = (
            table.c.window_start <= now - dt.timedelta(seconds=claim.window)
            if claim.window is not None
            else false()
        )
        result = session.execute(
            update(table)
            .where(table.c.scope == claim.scope, table.c.key == claim.key)
            .where(or_(table.c.count < claim.limit, stale))
            .values(
                count=case((stale, 1), else_=table.c.count + 1),
                window_start=case((stale, now), else_=table.c.window_start),
            )
        )
        return bool(result.rowcount == 1)

    def reserve_many(
        self, scope: str, keys: Sequence[str], limit: int, window: float | None
    ) -> set[str]:
        """Reserve one attempt under each of ``keys`` (distinct) at once; returns the keys
        reserved. The same conditional ``UPDATE`` as :meth:`reserve`, over a set of rows, in
        one committed transaction (chunks of :data:`CHUNK`): each row is still updated
        atomically, so no key ever gets more than ``limit`` however many batches race."""
        now = self._clock()
        table = _COUNTERS
        reserved: set[str] = set()
        with self._db.transaction() as session:
            pg = session.get_bind().dialect.name == "postgresql"
            stale = (
                table.c.window_start <= now - dt.timedelta(seconds=window)
                if window is not None
                else false()
            )
            claim = (
                update(table)
                .where(table.c.scope == scope, in_list(table.c.key, "keys", postgres=pg))
                .where(or_(table.c.count < limit, stale))
                .values(
                    count=case((stale, 1), else_=table.c.count + 1),
                    window_start=case((stale, now), else_=table.c.window_start),
                )
                .returning(table.c.key)
            )
            for start in range(0, len(keys), CHUNK):
                chunk = sorted(keys[start : start + CHUNK])  # one lock order for every batch
                insert_many(
                    session,
                    table,
                    [{"scope": scope, "key": k, "count": 0, "window_start": now} for k in chunk],
                    skip_existing=True,
                )
                reserved.update(session.scalars(claim, {"keys": chunk}))
        return reserved

    def reserve_up_to(self, scope: str, key: str, n: int, limit: int, window: float | None) -> int:
        """Reserve up to ``n`` more attempts under one key; returns how many were granted
        (all ``n`` in one conditional ``UPDATE`` when they fit, else one at a time until the
        limit refuses)."""
        if n <= 0:
            return 0
        now = self._clock()
        table = _COUNTERS
        with self._db.transaction() as session:
            stale = (
                table.c.window_start <= now - dt.timedelta(seconds=window)
                if window is not None
                else false()
            )
            result = session.execute(
                update(table)
                .where(table.c.scope == scope, table.c.key == key)
                .where(or_(table.c.count + n <= limit, and_(stale, literal(n) <= limit)))
                .values(
                    count=case((stale, n), else_=table.c.count + n),
                    window_start=case((stale, now), else_=table.c.window_start),
                )
            )
            if result.rowcount == 1:
                return n
        granted = 0
        while granted < n and self.reserve(scope, key, limit, window).reserved:
            granted += 1
        return granted

    def release(self, scope: str, key: str) -> None:
        """Give one reserved attempt back (it succeeded, so it does not count)."""
        self.release_all([(scope, key)])

    def release_all(self, held: Sequence[tuple[str, str]]) -> None:
        """Give one reserved attempt back under each (scope, key), in one transaction (in the
        order given, as :meth:`reserve_all` took them)."""
        table = _COUNTERS
        with self._db.transaction() as session:
            for scope, key in held:
                session.execute(
                    update(table)
                    .where(table.c.scope == scope, table.c.key == key, table.c.count > 0)
                    .values(count=table.c.count - 1)
                )

    def release_many(self, scope: str, keys: Sequence[str]) -> None:
        """Give one reserved attempt back under each of ``keys`` (distinct), in one
        transaction."""
        table = _COUNTERS
        with self._db.transaction() as session:
            pg = session.get_bind().dialect.name == "postgresql"
            give_back = (
                update(table)
                .where(
                    table.c.scope == scope,
                    in_list(table.c.key, "keys", postgres=pg),
                    table.c.count > 0,
                )
                .values(count=table.c.count - 1)
            )
            for start in range(0, len(keys), CHUNK):
                session.execute(give_back, {"keys": sorted(keys[start : start + CHUNK])})

    def reset(self, scope: str, key: str) -> None:
        """Empty the counter (a confirmed success, an unlock at the counter)."""
        table = _COUNTERS
        with self._db.transaction() as session:
            session.execute(
                update(table)
                .where(table.c.scope == scope, table.c.key == key)
                .values(count=0, window_start=self._clock())
            )

    def state(self, scope: str, key: str) -> tuple[int, dt.datetime] | None:
        """(count, window start) of a key's counter; None before its first attempt."""
        with self._db.transaction() as session:
            row = session.execute(
                select(AttemptCounter.count, AttemptCounter.window_start).where(
                    AttemptCounter.scope == scope, AttemptCounter.key == key
                )
            ).first()
        return None if row is None else (int(row[0]), aware(row[1]))

    def count(self, scope: str, key: str) -> int:
        """Attempts currently counted under the key (whatever their window)."""
        with self._db.transaction() as session:
            value = session.scalar(
                select(AttemptCounter.count).where(
                    AttemptCounter.scope == scope, AttemptCounter.key == key
                )
            )
        return int(value or 0)
