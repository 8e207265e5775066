"""A list bound as one parameter selects exactly the rows whose value is in it (SQLite and
PostgreSQL), and on PostgreSQL the statement's SQL text does not depend on the list's length.
``insert_many`` stores exactly the rows given (skipping existing keys when asked), in one
statement on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    event,
    select,
)
from sqlalchemy.engine import Engine

from mynumber_core.bound_lists import PerDialect, in_list, insert_many
from mynumber_core.db import Database

_META = MetaData()
_ROWS = Table(
    "bound_list_rows",
    _META,
    Column("id", Integer, primary_key=True),
    Column("name", String(40)),
    Column("key", LargeBinary),
)
_INSERTED = Table(
    "bound_list_inserted",
    _META,
    Column("name", String(40), primary_key=True),
    Column("count", Integer),
    Column("at", DateTime(timezone=True)),
    Column("key", LargeBinary),
)
_BY_NAME = PerDialect(
    lambda pg: select(_ROWS.c.id).where(in_list(_ROWS.c.name, "names", postgres=pg))
)
_BY_ID_AND_KEY = PerDialect(
    lambda pg: select(_ROWS.c.id).where(
        in_list(_ROWS.c.id, "ids", postgres=pg), in_list(_ROWS.c.key, "keys", postgres=pg)
    )
)
NAMES = [f"n{i}'\"," for i in range(30)]
"""Values with quotes and commas (never SQL text). Generated ones hold no NUL (PostgreSQL text
cannot) and no lone surrogate (UTF-8 cannot)."""


@pytest.fixture
def engine(backend: Any) -> Iterator[Engine]:
    database = Database.from_url(backend("lists"))
    _META.create_all(database.engine)
    with database.engine.begin() as conn:
        conn.execute(
            _ROWS.insert(),
            [{"id": i, "name": NAMES[i], "key": bytes([i]) * 4} for i in range(len(NAMES))],
        )
    try:
        yield database.engine
    finally:
        database.dispose()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    wanted=st.lists(
        st.sampled_from(NAMES)
        | st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12),
        max_size=40,
    ),
    keys=st.lists(st.integers(0, 40).map(lambda i: bytes([i]) * 4), max_size=10),
)
def test_a_bound_list_selects_exactly_its_members(
    engine: Engine, wanted: list[str], keys: list[bytes]
) -> None:
    with engine.connect() as conn:
        got = {row.id for row in conn.execute(_BY_NAME(conn), {"names": wanted})}
        assert got == {i for i, name in enumerate(NAMES) if name in wanted}
        ids = sorted({k[0] for k in keys} | {1, 2})
        both = {row.id for row in conn.execute(_BY_ID_AND_KEY(conn), {"ids": ids, "keys": keys})}
        assert both == {i for i in ids if i < len(NAMES) and bytes([i]) * 4 in keys}


@contextlib.contextmanager
def _statements_sent(engine: Engine) -> Iterator[list[str]]:
    """The SQL text of every statement the engine sends inside the block."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_on_postgresql_the_sql_sent_does_not_depend_on_the_list(engine: Engine) -> None:
    with _statements_sent(engine) as sent, engine.connect() as conn:
        assert _BY_NAME(conn) is _BY_NAME(conn), "built once per dialect"
        for wanted in (NAMES[:1], NAMES[:7], NAMES):
            conn.execute(_BY_NAME(conn), {"names": wanted})
    if engine.dialect.name == "postgresql":
        assert len(set(sent)) == 1 and "ANY" in sent[0]
    else:  # SQLite: an expanding IN, one placeholder per element
        assert len(set(sent)) == 3


_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    first=st.dictionaries(_TEXT, st.integers(-(2**31), 2**31 - 1), max_size=30),
    second=st.dictionaries(_TEXT, st.integers(0, 9), max_size=30),
)
def test_insert_many_stores_exactly_the_rows_given(
    engine: Engine, first: dict[str, int], second: dict[str, int]
) -> None:
    at = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)

    def rows(values: dict[str, int]) -> list[dict[str, Any]]:
        return [{"name": k, "count": v, "at": at, "key": k.encode()[:4]} for k, v in values.items()]

    with engine.begin() as conn:
        conn.execute(_INSERTED.delete())
        insert_many(conn, _INSERTED, rows(first))
        insert_many(conn, _INSERTED, rows(second), skip_existing=True)  # first ones kept
        stored = {
            r.name: (r.count, r.at.replace(tzinfo=dt.UTC) if r.at.tzinfo is None else r.at, r.key)
            for r in conn.execute(select(_INSERTED))
        }
    expected = {k: (v, at, k.encode()[:4]) for k, v in (second | first).items()}
    assert stored == expected


def test_insert_many_is_one_statement_on_postgresql(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(_INSERTED.delete())
    with _statements_sent(engine) as sent, engine.begin() as conn:
        for n in (2, 50, 1):
            insert_many(
                conn,
                _INSERTED,
                [{"name": f"one-{n}-{i}", "count": i} for i in range(n)],
                skip_existing=True,
            )
    if engine.dialect.name == "postgresql":
        many, one = sent[:2], sent[2:]
        assert len(set(many)) == 1 and "unnest" in many[0]
        # One row is bound as it is: no array for psycopg to build and escape.
        assert len(one) == 1 and "unnest" not in one[0] and "ON CONFLICT DO NOTHING" in one[0]
    with engine.connect() as conn:
        assert len(conn.execute(select(_INSERTED.c.name)).all()) == 53
