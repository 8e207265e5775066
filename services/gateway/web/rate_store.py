"""The portal's rate limits kept in the gateway's database, so every replica shares them
(issue 15, remaining gap 5).

:class:`DatabaseRateStore` reserves each request atomically before it goes on, like the
registry's attempt counters: one row per limited key (``rate_counters``), an
``INSERT ... ON CONFLICT DO NOTHING`` and then one conditional
``UPDATE ... SET count = count + 1 WHERE count < limit OR the window has passed``. PostgreSQL
locks the row and re-checks the condition after waiting, SQLite has one writer at a time: so
however many requests race on however many replicas, exactly ``limit`` pass in a window.

Windows are fixed (they start with the first request after the last one ended), so at a
window's edge up to twice the limit can pass within one period: the price of one row per key.
Rows older than the longest window are deleted now and then by whichever replica gets there.

**Leases (issue 10, the portal's hot path).** A database write per request serialised every
page behind SQLite's one writer (39 % of the gateway's samples under 20 residents). So a
replica reserves up to ``amount // LEASE_SHARE`` requests of a window in one round trip (the
same conditional ``UPDATE``, ``count + n <= limit``; when that many no longer fit, one at a
time as before) and hands them out locally until they run out or the window ends. Every
request that passes is still counted in the shared row before it passes, so the limit holds
exactly across replicas; slots a replica leased but did not use only make the others stricter
until the window ends. Limits below ``LEASE_SHARE`` (the login code: 5 a minute) lease one
request at a time, exactly as before.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from limits import RateLimitItem
from sqlalchemy import Table, case, delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite

from mynumber_core.clock import aware, utc_now
from mynumber_core.db import Database
from services.gateway.models import RateCounter

_TABLE: Table = RateCounter.__table__  # type: ignore[assignment]
PURGE_EVERY = dt.timedelta(minutes=1)
MAX_KEY = 120
LEASE_SHARE = 20
"""A replica leases at most 1/LEASE_SHARE of a window's limit per database round trip."""
STRIPES = 64
"""Locks that let one thread per key (by hash) lease from the database at a time."""


@dataclass
class _Lease:
    """Requests of one key's current window already counted in the shared row."""

    ends: dt.datetime
    left: int


class _Over(Exception):
    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


class DatabaseRateStore:
    """Rate-limit windows in the gateway database (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        *,
        longest: dt.timedelta = dt.timedelta(hours=1),
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._db = db
        self._longest = longest
        self._clock = clock
        self._last_purge: dt.datetime | None = None
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()
        self._stripes = [threading.Lock() for _ in range(STRIPES)]

    def hit(self, checks: Sequence[tuple[RateLimitItem, str]]) -> int | None:
        """Reserve one request under every ``(limit, key)``; the index of the first check over
        its limit (nothing is reserved then), or None when all passed. Keys with a leased
        request left take it locally; the others are reserved in one transaction, by one
        thread per key at a time (the others then find its lease instead of leasing again)."""
        now = self._clock()
        keys = [raw_key[:MAX_KEY] for _, raw_key in checks]
        with self._lock:
            if all(self._usable(key, now) for key in keys):
                for key in keys:
                    self._leases[key].left -= 1
                return None
        stripes = [self._stripes[i] for i in sorted({hash(k) % STRIPES for k in keys})]
        for stripe in stripes:  # one order for every request: no deadlock
            stripe.acquire()
        try:
            taken: list[_Lease] = []
            missing: list[int] = []
            with self._lock:
                for i, key in enumerate(keys):
                    if self._usable(key, now):
                        lease = self._leases[key]
                        lease.left -= 1  # taken now; given back if another key is over
                        taken.append(lease)
                    else:
                        missing.append(i)
            if missing:
                try:
                    granted = self._reserve([(checks[i][0], keys[i], i) for i in missing], now)
                except _Over as over:
                    with self._lock:
                        for lease in taken:
                            lease.left += 1
                    return over.index
                with self._lock:
                    for i, (ends, count) in granted.items():
                        self._leases[keys[i]] = _Lease(ends, count - 1)
        finally:
            for stripe in reversed(stripes):
                stripe.release()
        self._maybe_purge(now)
        return None

    def _usable(self, key: str, now: dt.datetime) -> bool:
        lease = self._leases.get(key)
        return lease is not None and lease.left >= 1 and now < lease.ends

    def leased(self, key: str) -> int:
        """Requests of ``key``'s current window this replica has counted but not used yet."""
        with self._lock:
            lease = self._leases.get(key[:MAX_KEY])
            return 0 if lease is None or self._clock() >= lease.ends else lease.left

    def _reserve(
        self, checks: Sequence[tuple[RateLimitItem, str, int]], now: dt.datetime
    ) -> dict[int, tuple[dt.datetime, int]]:
        """Reserve in one transaction: per check, as many requests as one lease takes when
        they fit, else one; ``{index: (window end, requests reserved)}``. _Over (rolled back,
        so the earlier reservations are given back) when one does not fit at all."""
        granted: dict[int, tuple[dt.datetime, int]] = {}
        with self._db.transaction() as session:
            insert = (
                postgresql.insert
                if session.get_bind().dialect.name == "postgresql"
                else sqlite.insert
            )
            for item, key, index in checks:
                period = dt.timedelta(seconds=item.get_expiry())
                session.execute(
                    insert(_TABLE)
                    .values(key=key, window_start=now, count=0)
                    .on_conflict_do_nothing()
                )
                stale = _TABLE.c.window_start <= now - period
                start = None
                for n in sorted({max(1, item.amount // LEASE_SHARE), 1}, reverse=True):
                    start = session.execute(
                        update(_TABLE)
                        .where(_TABLE.c.key == key)
                        .where(or_(_TABLE.c.count + n <= item.amount, stale))
                        .values(
                            count=case((stale, n), else_=_TABLE.c.count + n),
                            window_start=case((stale, now), else_=_TABLE.c.window_start),
                        )
                        .returning(_TABLE.c.window_start)
                    ).scalar()
                    if start is not None:
                        granted[index] = (aware(start) + period, n)
                        break
                if start is None:
                    raise _Over(index)
        return granted

    def _maybe_purge(self, now: dt.datetime) -> None:
        if self._last_purge is not None and now - self._last_purge < PURGE_EVERY:
            return
        self._last_purge = now
        with self._lock:
            self._leases = {k: v for k, v in self._leases.items() if now < v.ends}
        with self._db.transaction() as session:
            session.execute(delete(_TABLE).where(_TABLE.c.window_start < now - self._longest))
