"""Statements that take a list as one bound parameter: ``= ANY(array)`` on PostgreSQL.

SQLAlchemy's expanding ``IN`` (``column.in_(bindparam(..., expanding=True))``) renders one
placeholder per element at every execution, and psycopg then parses the resulting SQL text
again (it is new text for every list length). For the hub's batches of 500 ids that was about
30 % of the registry's CPU (issue 10's profile of ``BatchQuery`` on PostgreSQL: SQLAlchemy's
and psycopg's placeholder work). On PostgreSQL, ``column = ANY(:name)`` sends the list as one
array parameter: the SQL text never changes, so it is compiled once and psycopg can prepare
it. SQLite has no array type and keeps the expanding ``IN`` (not measured there).

Build a statement for both dialects with :class:`PerDialect` and :func:`in_list`, and pick
it with the connection it runs on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

T = TypeVar("T")


def in_list(column: Any, name: str, *, postgres: bool) -> ColumnElement[bool]:
    """``column`` is one of the values of the list bound as ``name``: ``= ANY(array)`` on
    PostgreSQL, an expanding ``IN`` elsewhere (see the module docstring)."""
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


class PerDialect(Generic[T]):
    """A statement built once per dialect by ``build(postgres)``, picked by connection."""

    def __init__(self, build: Callable[[bool], T]) -> None:
        self._build = build
        self._built: dict[bool, T] = {}
        self._lock = threading.Lock()

    def __call__(self, conn: Connection) -> T:
        """The statement for the dialect ``conn`` speaks."""
        return self.build(conn.dialect.name == "postgresql")

    def build(self, postgres: bool) -> T:
        """The statement for PostgreSQL (``postgres``) or the other dialects, built once."""
        found = self._built.get(postgres)
        if found is None:
            with self._lock:
                found = self._built.setdefault(postgres, self._build(postgres))
        return found
