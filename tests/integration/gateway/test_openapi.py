"""Schemathesis against ``/openapi.json``: no server errors, and every response conforms to
the documented status codes, content types and schemas — logged in, so the authenticated
operations are exercised too (bounded: a few examples per operation)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.gateway.portal_env import PortalEnv
from tests.support.databases import SqliteDatabases


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PortalEnv, str]]:
    """A portal on SQLite and one logged-in resident's session cookie."""
    var: Path = tmp_path_factory.mktemp("openapi")
    with PortalEnv(var, SqliteDatabases(var), ("municipality",)).running() as env:
        client = env.login(env.make_resident())
        yield env, client.cookies["mnp_session"]


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_api_conforms(running: tuple[PortalEnv, str]) -> None:
    env, cookie = running
    api = schemathesis.openapi.from_url(f"{env.url}/openapi.json")
    operations = [cast(Any, result).ok() for result in api.get_all_operations()]
    assert len(operations) >= 30
    calls: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=4,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            response = case.call_and_validate(cookies={"mnp_session": cookie}, checks=CHECKS)
            calls.append(response.status_code)

        check()
    assert len(calls) >= 2 * len(operations)
    assert any(200 <= code < 300 for code in calls) and any(code >= 400 for code in calls)
