"""End-to-end fixtures: the whole platform as processes, started the way ``make run`` does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mynumber_dev.demo import DemoResident
from mynumber_dev.platform import Platform, drop_databases
from mynumber_dev.seed import seed_platform
from tests.support.databases import postgres_available

E2E_RESIDENTS = 24


class RunningPlatform:
    """A started, seeded platform plus what the tests need to reach it."""

    def __init__(self, platform: Platform, residents: list[DemoResident], backend: str) -> None:
        self.platform = platform
        self.residents = residents
        self.backend = backend
        self.var = platform.var


def _start(var: Path, backend: str) -> Iterator[RunningPlatform]:
    postgres = None
    prefix = "mynumber"
    if backend == "postgres":
        if not postgres_available():
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is not reachable; .ci/run starts it")
        import uuid

        postgres = "postgresql+psycopg://postgres@127.0.0.1:5432"
        prefix = f"e2e_{uuid.uuid4().hex[:8]}"
    platform = Platform(var=var, postgres=postgres, fixed_ports=False, db_prefix=prefix)
    # Start-up is migrations plus imports: seconds on an idle machine, but CI saw the registry
    # take over 60 s at load average 30, so the budget is generous (a hang still fails).
    platform.start(timeout=180)
    try:
        residents = seed_platform(
            var,
            platform.endpoints,
            platform.services,
            E2E_RESIDENTS,
            progress=lambda _: None,
            portal_url=f"http://127.0.0.1:{platform.http_port}",
        )
        yield RunningPlatform(platform, residents, backend)
    finally:
        platform.stop()
        if postgres:
            drop_databases(postgres, prefix)


@pytest.fixture(scope="session")
def e2e_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """The platform on SQLite, shared by the e2e tests of one session."""
    yield from _start(tmp_path_factory.mktemp("e2e-sqlite"), "sqlite")


@pytest.fixture(scope="session")
def e2e_platform_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """The platform on PostgreSQL (one database per service)."""
    yield from _start(tmp_path_factory.mktemp("e2e-pg"), "postgres")
