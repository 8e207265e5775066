"""Databases for tests: SQLite files, or fresh PostgreSQL databases created and dropped here."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL_TEMPLATE = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def postgres_available() -> bool:
    """True when the PostgreSQL server on 127.0.0.1:5432 accepts connections."""
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


class PostgresDatabases:
    """Creates one database per service name on demand; drops them all on close."""

    def __init__(self) -> None:
        self.prefix = f"t_{uuid.uuid4().hex[:10]}"
        self.created: list[str] = []

    def __call__(self, service: str) -> str:
        name = f"{self.prefix}_{service}"
        if name not in self.created:
            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            self.created.append(name)
        return PG_URL_TEMPLATE.format(name=name)

    def close(self) -> None:
        """Drop every database this object created."""
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            for name in self.created:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        self.created.clear()


class SqliteDatabases:
    """One SQLite file per service under a folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, service: str) -> str:
        return f"sqlite:///{self.root / 'data' / service}.db"

    def close(self) -> None:
        """Nothing to drop: the folder is a pytest tmp_path."""


@contextmanager
def database_factory(kind: str, root: Path) -> Iterator[SqliteDatabases | PostgresDatabases]:
    """A database factory of the given kind ("sqlite" or "postgres")."""
    factory: SqliteDatabases | PostgresDatabases = (
        PostgresDatabases() if kind == "postgres" else SqliteDatabases(root)
    )
    try:
        yield factory
    finally:
        factory.close()
