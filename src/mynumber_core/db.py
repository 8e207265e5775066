"""SQLAlchemy 2 engine and sessions for one service database (SQLite or PostgreSQL).

SQLite runs in WAL mode with ``synchronous=FULL`` so an acknowledged commit survives a crash
(invariant 6); PostgreSQL gets a pool sized by settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10) -> Engine:
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
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True)


class Database:
    """One service's engine plus a session factory; ``transaction()`` is the unit of work."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 5, max_overflow: int = 10) -> Database:
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

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
