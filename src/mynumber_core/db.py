"""SQLAlchemy 2 engine and sessions for one service database (SQLite or PostgreSQL).

SQLite runs in WAL mode with ``synchronous=NORMAL`` by default (:data:`SQLITE_SYNCHRONOUS`):
a commit has written its WAL frames to the operating system before it returns, so an
acknowledged commit survives the crash or SIGKILL of any process (invariant 6); only a crash
of the machine itself (power loss, kernel panic) may roll back the last commits, and the
database stays consistent. The fsync per commit that ``FULL`` adds took 2.9 ms at the median
and 13 ms at p90 on the loaded 2-core machine, more than the hub's whole Query otherwise
costs (issue 10). SQLite is the embedded and development backend; an operator who needs
commits to survive power loss on it sets ``MYNUMBER_SQLITE_SYNCHRONOUS=FULL``. PostgreSQL,
the production backend, keeps its own durable commit (``synchronous_commit`` on) and gets a
pool sized by settings. Every engine is traced (one span per statement inside a recorded
trace, :func:`mynumber_core.tracing.instrument_engine`).

A PostgreSQL server that restarts is waited for, not failed on: pooled connections are checked
before use (``pool_pre_ping``), and opening a connection while the server refuses it or is
still starting up (see :func:`restarting`) is retried with backoff for up to
:data:`CONNECT_WAIT_SECONDS`, within the deadline of the call being served. So a call that
starts during a short restart only takes longer; a call whose statement was cut off by the
restart fails UNAVAILABLE and the client's retry policy sends it again (the fault suite,
``tests/chaos``, measures this). Other connection errors (authentication, a missing database)
fail at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from mynumber_core import tracing
from mynumber_core.interceptors import remaining_seconds

CONNECT_WAIT_SECONDS = float(os.environ.get("MYNUMBER_DB_CONNECT_WAIT_SECONDS", "10"))
"""How long opening a PostgreSQL connection waits for a restarting server at most
(``MYNUMBER_DB_CONNECT_WAIT_SECONDS``, default 10; 0 fails at once, as before this wait)."""
_CONNECT_BACKOFF = (0.05, 0.5)
"""First and largest pause between connection attempts (doubling)."""
SQLITE_SYNCHRONOUS = os.environ.get("MYNUMBER_SQLITE_SYNCHRONOUS", "NORMAL").strip().upper()
"""SQLite's ``synchronous`` pragma in WAL mode (``MYNUMBER_SQLITE_SYNCHRONOUS``): NORMAL
(default: durable against any process crash) or FULL (also against power loss; one fsync per
commit); see the module docstring."""
if SQLITE_SYNCHRONOUS not in ("NORMAL", "FULL", "EXTRA"):
    raise ValueError("MYNUMBER_SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA")


def restarting(exc: BaseException) -> bool:
    """True when a failed connection attempt means the server is down or still starting.

    psycopg reports a failed connection without a SQLSTATE; the server's own refusal is in
    the message. Waited on: the server was not reached (refused, reset), or it answered that
    "the database system is" starting up, shutting down or in recovery (57P03), or it has
    too many clients; a SQLSTATE of class 08 or 57P03. Not waited on: any other refusal by a
    running server (an unknown role or database, failed authentication) and non-driver
    errors, which fail at once."""
    if not hasattr(exc, "sqlstate"):
        return False
    if exc.sqlstate:
        return str(exc.sqlstate).startswith(("08", "57P03"))
    message = str(exc).lower()
    if "fatal:" in message:
        return "the database system is" in message or "too many clients" in message
    return True


def connect_waiting(
    connect: Callable[[], Any],
    *,
    wait: float | None = None,
    remaining: Callable[[], float | None] = lambda: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """``connect()``, retried while the server is :func:`restarting`, for at most ``wait``
    seconds (default :data:`CONNECT_WAIT_SECONDS`) and within three quarters of ``remaining()``
    (the served call's time left, if any: the rest is for answering UNAVAILABLE in time)."""
    budget = CONNECT_WAIT_SECONDS if wait is None else wait
    left = remaining()
    if left is not None:
        budget = min(budget, 0.75 * left)
    give_up = clock() + budget
    delay, largest = _CONNECT_BACKOFF
    while True:
        try:
            return connect()
        except Exception as exc:
            if not restarting(exc) or clock() + delay > give_up:
                raise
        sleep(delay)
        delay = min(delay * 2, largest)


def make_engine(url: str, *, pool_size: int = 15, max_overflow: int = 0) -> Engine:
    """Create an engine; for SQLite, create the parent folder and set durable pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    else:
        engine = create_engine(
            url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
        )

        @event.listens_for(engine, "do_connect")
        def _wait_for_restart(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
            return connect_waiting(
                lambda: dialect.connect(*cargs, **cparams), remaining=remaining_seconds
            )

    tracing.instrument_engine(engine)
    return engine


class Database:
    """One service's engine plus a session factory; ``transaction()`` is the unit of work."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 15, max_overflow: int = 0) -> Database:
        """Build from a database URL."""
        return cls(make_engine(url, pool_size=pool_size, max_overflow=max_overflow))

    @property
    def is_sqlite(self) -> bool:
        """True on the embedded backend."""
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A Core connection in autocommit mode, for reads that need no transaction: no
        BEGIN/COMMIT, so one round trip per statement on PostgreSQL. Each statement sees what
        was committed before it began."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
