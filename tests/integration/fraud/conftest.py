"""One running platform (registry, every agency, the portal) per module and backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.gateway.portal_env import AGENCIES, PortalEnv
from tests.support.databases import database_factory, postgres_available


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PortalEnv]:
    """The whole platform on one backend."""
    if request.param == "postgres" and not postgres_available():
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is not reachable; .ci/run starts it")
    var = tmp_path_factory.mktemp(f"fraud-{request.param}")
    with (
        database_factory(request.param, var) as databases,
        PortalEnv(var, databases, AGENCIES).running() as running,
    ):
        yield running
