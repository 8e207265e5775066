"""Schemathesis with every check and every phase (examples, coverage, fuzzing, stateful)
against the running portal, logged in: the API keeps its published contract — 0 failures.

The resident's session is sent with every request and ``POST /api/logout`` is left out, so
the fuzzing cannot end the session it tests with (checked after the run). The run is seeded,
so a failure reproduces; schemathesis prints each failing case with a curl command.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway.portal_env import PortalEnv
from tests.support.databases import SqliteDatabases

CONFIG = Path(__file__).with_name("schemathesis.toml")
REPORTS = Path(__file__).resolve().parents[3] / "test-output" / "schemathesis"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PortalEnv, str]]:
    var = tmp_path_factory.mktemp("fuzz")
    with PortalEnv(var, SqliteDatabases(var), ("municipality",)).running() as env:
        client = env.login(env.make_resident())
        yield env, client.cookies["mnp_session"]


@pytest.mark.timeout(1500)  # about 4 minutes alone; the suite's 300 s is too short on 2 cores
def test_every_check_and_phase_passes_logged_in(running: tuple[PortalEnv, str]) -> None:
    env, cookie = running
    REPORTS.mkdir(parents=True, exist_ok=True)
    schemathesis = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [
            str(schemathesis),
            "--config-file",
            str(CONFIG),
            "run",
            f"{env.url}/openapi.json",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--header",
            f"Cookie: mnp_session={cookie}",
            "--exclude-path",
            "/api/logout",
            "--max-examples",
            "15",
            "--seed",
            "20261127",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(REPORTS),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    output = result.stdout + result.stderr
    (REPORTS / "run.txt").write_text(output)
    assert result.returncode == 0, output[-6000:]
    assert "Stateful" in output and "Fuzzing" in output and "Coverage" in output
    tested = next(line for line in output.splitlines() if line.strip().startswith("Tested:"))
    assert int(tested.split(":")[1]) >= 30, tested
    # The session the fuzzing used is still open.
    me = httpx.get(f"{env.url}/api/session", cookies={"mnp_session": cookie})
    assert me.status_code == 200, me.text
