"""Every service's migrations build exactly the schema its models declare, on SQLite and on
PostgreSQL: upgrading an empty database to head leaves Alembic's ``compare_metadata`` with
nothing to say. A model change without a migration (or a migration that drifts from the
models) fails here, naming the service and the differences.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine
from sqlalchemy.pool import NullPool

from mynumber_core.migrations import upgrade

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/migrations") if p.is_dir())


def _metadata(service: str) -> MetaData:
    """The service's full model metadata, as its running process sees it.

    The wiring module is imported first so model modules beside ``models.py`` (that register
    tables on the same ``Base``) are loaded too.
    """
    try:
        importlib.import_module(f"services.{service}.wiring")
    except ModuleNotFoundError as exc:
        if exc.name != f"services.{service}.wiring":
            raise
    models = importlib.import_module(f"services.{service}.models")
    base: Any = models.Base
    metadata: MetaData = base.metadata
    return metadata


def test_every_service_with_a_database_has_migrations() -> None:
    assert "registry" in SERVICES
    for service in SERVICES:
        assert (ROOT / "services" / service / "migrations" / "env.py").is_file(), service


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_match_the_models(service: str, backend: Any) -> None:
    url = backend(service)
    upgrade(service, url)
    metadata = _metadata(service)
    assert metadata.tables, f"services.{service}.models.Base declares no tables"
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diff == [], (
        f"{service}: the migrations at head differ from the models; generate a new revision "
        f"with autogenerate. Differences: {diff}"
    )
    # Upgrading again is a no-op (head is head).
    upgrade(service, url)
