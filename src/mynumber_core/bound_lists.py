"""Statements that take a list as one bound parameter: ``= ANY(array)`` on PostgreSQL.

SQLAlchemy's expanding ``IN`` (``column.in_(bindparam(..., expanding=True))``) renders one
placeholder per element at every execution, and psycopg then parses the resulting SQL text
again (it is new text for every list length). For the hub's batches of 500 ids that was about
30 % of the registry's CPU (issue 10's profile of ``BatchQuery`` on PostgreSQL: SQLAlchemy's
and psycopg's placeholder work). On PostgreSQL, ``column = ANY(:name)`` sends the list as one
array parameter: the SQL text never changes, so it is compiled once and psycopg can prepare
it. SQLite has no array type and keeps the expanding ``IN`` (not measured there).

Build a statement for both dialects with :class:`PerDialect` and :func:`in_list`, and pick
it with the connection it runs on. :func:`insert_many` inserts many rows the same way: one
array per column on PostgreSQL.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, any_, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
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


@functools.lru_cache(maxsize=64)
def _insert_statement(table: Table, columns: tuple[str, ...], skip_existing: bool, pg: bool) -> Any:
    if not pg:
        return sqlite.insert(table).on_conflict_do_nothing() if skip_existing else insert(table)
    if not columns:  # one row: its values bound as they are (see insert_many)
        statement = postgresql.insert(table)
        return statement.on_conflict_do_nothing() if skip_existing else statement
    rows = select(
        *(
            func.unnest(bindparam(f"rows_{name}", type_=ARRAY(table.c[name].type)))
            for name in columns
        )
    )
    statement = postgresql.insert(table).from_select(list(columns), rows)
    return statement.on_conflict_do_nothing() if skip_existing else statement


def insert_many(
    conn: Connection | Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_existing: bool = False,
) -> None:
    """Insert ``rows`` (every row with the same keys) in one statement on PostgreSQL: ``INSERT
    ... SELECT unnest(:column_array), ...``, one array parameter per column, so the SQL text is
    the same for any number of rows and psycopg sends one statement instead of a pipelined
    ``executemany`` (issue 10's LinkBatch profile). Elsewhere an ``executemany``.
    ``skip_existing`` adds ``ON CONFLICT DO NOTHING``.

    A single row is a plain ``INSERT … VALUES`` on PostgreSQL too: psycopg dumps array
    parameters in Python, escaping every element, which for one 30 KB ``bytea`` (a batch's
    sealed answer, kept by the hub's sequencer) took 3.0 ms against 0.4 ms bound as is."""
    if not rows:
        return
    bind = conn.connection() if isinstance(conn, Session) else conn
    pg = bind.dialect.name == "postgresql"
    if pg and len(rows) == 1:
        conn.execute(_insert_statement(table, (), skip_existing, pg), dict(rows[0]))
        return
    columns = tuple(rows[0])
    statement = _insert_statement(table, columns, skip_existing, pg)
    if pg:
        conn.execute(statement, {f"rows_{name}": [row[name] for row in rows] for name in columns})
    else:
        conn.execute(statement, list(rows))
