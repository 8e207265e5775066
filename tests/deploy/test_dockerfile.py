"""Static checks of the Dockerfile and .dockerignore (no Docker engine is needed)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECRETISH = re.compile(r"(PASSWORD|SECRET|TOKEN|PRIVATE|API_?KEY|DATABASE_URL)", re.IGNORECASE)
# The Dockerfile's install of the project; test_image_install.py runs the same command.
IMAGE_SYNC = "uv sync --locked --no-dev --no-editable"
SECRET_PATHS = re.compile(r"(\.env|\.pem|\.key|\.crt|keyring|secrets?/|var/|deploy/)")


@dataclass
class Stage:
    """One build stage: its FROM line and the instructions after it."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    logical: list[str] = []
    buffer = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        logical.append(buffer + line)
        buffer = ""
    pairs = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        pairs.append((keyword.upper(), rest.strip()))
    return pairs


def stages(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the build stages, in order."""
    args: dict[str, str] = {}
    result: list[Stage] = []
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.IGNORECASE)
            assert match, rest
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], m[0]), match[1])
            result.append(Stage(base=base, name=match[2]))
        elif not result and keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default
        elif result:
            result[-1].instructions.append((keyword, rest))
    return args, result


@pytest.fixture(scope="module")
def dockerfile() -> list[Stage]:
    return stages((REPO / "Dockerfile").read_text())[1]


def test_multi_stage_on_python_311_slim(dockerfile: list[Stage]) -> None:
    assert len(dockerfile) >= 2
    assert {stage.base for stage in dockerfile} == {"python:3.11-slim"}


def test_runtime_runs_as_a_numeric_non_root_user(dockerfile: list[Stage]) -> None:
    users = [rest for keyword, rest in dockerfile[-1].instructions if keyword == "USER"]
    assert users, "the final stage sets no USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0
    assert not gid or (gid.isdigit() and int(gid) != 0)


def test_runtime_copies_only_the_built_virtualenv(dockerfile: list[Stage]) -> None:
    runtime = dockerfile[-1]
    assert not [rest for keyword, rest in runtime.instructions if keyword == "ADD"]
    copies = [rest for keyword, rest in runtime.instructions if keyword == "COPY"]
    assert copies
    assert all(rest.startswith(f"--from={dockerfile[0].name} ") for rest in copies), copies


def test_installs_the_project_from_the_lock_without_extras(dockerfile: list[Stage]) -> None:
    runs = [rest for keyword, rest in dockerfile[0].instructions if keyword == "RUN"]
    assert "pip install --require-hashes -r uv-requirements.txt" in runs
    syncs = [rest for rest in runs if rest.startswith("uv sync")]
    assert syncs and syncs[-1] == IMAGE_SYNC, syncs
    assert all("--locked" in rest and "--extra" not in rest for rest in syncs)
    assert not [rest for rest in runs if re.search(r"pip install (-e )?\.", rest)]


def test_no_secrets_baked_in(dockerfile: list[Stage]) -> None:
    for stage in dockerfile:
        for keyword, rest in stage.instructions:
            if keyword in ("ENV", "ARG", "LABEL"):
                assert not SECRETISH.search(rest), f"{keyword} {rest}"
            if keyword in ("COPY", "ADD"):
                sources = [s for s in rest.split()[:-1] if not s.startswith("--")]
                assert "." not in sources, f"{keyword} {rest} copies the whole context"
                for source in sources:
                    assert not SECRET_PATHS.search(source), f"{keyword} {rest}"
            assert not (keyword == "ADD" and "://" in rest), "ADD from a URL"


def test_no_service_is_baked_in(dockerfile: list[Stage]) -> None:
    for keyword, rest in dockerfile[-1].instructions:
        if keyword in ("CMD", "ENTRYPOINT"):
            assert '"services.' not in rest, f"{keyword} {rest} runs a service by default"


def test_exposes_the_service_ports(dockerfile: list[Stage]) -> None:
    exposed = {
        port
        for keyword, rest in dockerfile[-1].instructions
        if keyword == "EXPOSE"
        for port in rest.split()
    }
    assert {"50051", "8081", "9090", "8080"} <= exposed


def test_dockerignore_denies_by_default_and_keeps_key_material_out(
    dockerfile: list[Stage],
) -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "**"
    for pattern in ("**/*.pem", "**/*.key", "**/keyring*.json", "**/.env", "**/secrets/"):
        assert pattern in lines
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {
        source.rstrip("/")
        for keyword, rest in dockerfile[0].instructions
        if keyword == "COPY"
        for source in rest.split()[:-1]
        if not source.startswith("--")
    }
    assert copied <= allowed, "a COPY source is excluded from the build context"


def test_parser_sees_a_root_user() -> None:
    _, parsed = stages("FROM python:3.11-slim AS a\nRUN true\nFROM a\nUSER root\n")
    users = [rest for keyword, rest in parsed[-1].instructions if keyword == "USER"]
    assert users == ["root"] and not users[-1].partition(":")[0].isdigit()
