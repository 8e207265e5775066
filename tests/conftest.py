"""Fixtures shared by the whole suite: database backends (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import (
    PostgresDatabases,
    SqliteDatabases,
    database_factory,
    postgres_available,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[SqliteDatabases | PostgresDatabases]:
    """Service name → database URL, once on SQLite and once on a fresh PostgreSQL database."""
    if request.param == "postgres" and not postgres_available():
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is not reachable; .ci/run starts it")
    with database_factory(request.param, tmp_path) as factory:
        yield factory
