"""The portal's rate limits hold across replicas (issue 15): the counts live in the gateway
database and each request is reserved atomically before it goes on, so two gateway front
doors — two ``RequestGuard`` instances, each with its own engine and pool, as two replicas
have — on one database let exactly the limit through, however the requests race. SQLite and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
from sqlalchemy import event, text

from mynumber_core.db import Database
from mynumber_core.migrations import upgrade
from services.gateway.web.guard import GuardLimits, RequestGuard
from services.gateway.web.rate_store import DatabaseRateStore

ORIGIN = "https://portal.test"
LIMITS = GuardLimits(
    per_ip="1000 per minute", login_per_ip="5 per minute", per_session="4 per minute"
)


def _scope(path: str, ip: str, cookie: str | None = None) -> dict[str, Any]:
    headers = [(b"host", b"portal.test")]
    if cookie:
        headers.append((b"cookie", f"mnp_session={cookie}".encode()))
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": headers,
        "client": (ip, 40000),
        "query_string": b"",
    }


def _call(guard: RequestGuard, scope: dict[str, Any]) -> int:
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    return int(sent[0]["status"])


class Replicas:
    """Two front doors on one gateway database, and what reached the app behind them."""

    def __init__(self, url: str) -> None:
        self.now = dt.datetime.now(dt.UTC)
        self.reached: list[str] = []
        self._lock = threading.Lock()
        self.databases = [Database.from_url(url) for _ in range(2)]

        async def app(scope: Any, receive: Any, send: Any) -> None:
            with self._lock:
                self.reached.append(scope["path"])
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})

        self.stores = [DatabaseRateStore(db, clock=lambda: self.now) for db in self.databases]
        self.guards = [
            RequestGuard(app, origin=ORIGIN, limits=LIMITS, store=store) for store in self.stores
        ]

    def race(self, scopes: list[dict[str, Any]]) -> list[int]:
        """Send every request at once, alternating between the two replicas."""
        barrier = threading.Barrier(len(scopes))
        statuses = [0] * len(scopes)

        def one(i: int) -> None:
            barrier.wait()
            statuses[i] = _call(self.guards[i % 2], scopes[i])

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(scopes))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return statuses

    def close(self) -> None:
        for db in self.databases:
            db.dispose()


@pytest.fixture
def replicas(backend: Any) -> Iterator[Replicas]:
    url = backend("gateway")
    upgrade("gateway", url)
    pair = Replicas(url)
    try:
        yield pair
    finally:
        pair.close()


def test_fifty_parallel_logins_on_two_replicas_pass_exactly_the_limit(
    replicas: Replicas,
) -> None:
    statuses = replicas.race([_scope("/api/login/code", "203.0.113.7") for _ in range(50)])
    assert statuses.count(200) == 5, statuses
    assert statuses.count(429) == 45
    assert len(replicas.reached) == 5
    # Both replicas served some of the five and refused the rest: one count, not two.
    with replicas.databases[0].transaction() as session:
        count = session.execute(
            text("SELECT count FROM rate_counters WHERE key = 'login:203.0.113.7'")
        ).scalar_one()
    assert count == 5
    # Another address has its own limit; the window's end frees this one.
    assert _call(replicas.guards[1], _scope("/api/login/code", "198.51.100.2")) == 200
    replicas.now += dt.timedelta(seconds=61)
    assert _call(replicas.guards[0], _scope("/api/login/code", "203.0.113.7")) == 200


def test_the_session_limit_holds_across_replicas_and_a_refusal_reserves_nothing(
    replicas: Replicas,
) -> None:
    statuses = replicas.race([_scope("/api/me", "192.0.2.1", "s-1") for _ in range(20)])
    assert statuses.count(200) == 4 and statuses.count(429) == 16
    # The refused requests took nothing from the address's own (wider) budget: what the
    # shared row counts is the four that passed plus what the replicas leased and still hold.
    with replicas.databases[1].transaction() as session:
        used = session.execute(
            text("SELECT count FROM rate_counters WHERE key = 'ip:192.0.2.1'")
        ).scalar_one()
    assert used - sum(s.leased("ip:192.0.2.1") for s in replicas.stores) == 4


def test_leases_keep_the_limit_exact_with_a_write_per_lease_not_per_request(
    replicas: Replicas,
) -> None:
    """A wide limit (1000 a minute per address) is leased 50 at a time: 1,200 requests racing
    on two replicas pass exactly 1,000, and the shared row is written about once per 50 of
    them."""
    writes: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE RATE_COUNTERS"):
            writes.append(statement)

    for db in replicas.databases:
        event.listen(db.engine, "before_cursor_execute", count)
    scopes = [_scope("/api/me", "198.51.100.9") for _ in range(1200)]
    statuses: list[int] = []
    for start in range(0, len(scopes), 100):  # 100 threads at a time
        statuses += replicas.race(scopes[start : start + 100])
    assert statuses.count(200) == 1000 and statuses.count(429) == 200
    assert len(replicas.reached) == 1000
    with replicas.databases[0].transaction() as session:
        used = session.execute(
            text("SELECT count FROM rate_counters WHERE key = 'ip:198.51.100.9'")
        ).scalar_one()
    assert used == 1000
    assert sum(s.leased("ip:198.51.100.9") for s in replicas.stores) == 0
    # The 1,000 that passed cost a few dozen writes (20 leases of 50 fill the window, a few
    # single ones near its end); each of the 200 refused tried a lease and then one request.
    assert len(writes) <= 2 * 200 + 60, len(writes)
