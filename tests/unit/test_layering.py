"""The library never imports a service: ``src/`` (core, dev tools, CLI) stands below ``services/``.

Dev seeding reaches the services through their gRPC APIs only; rules more than one part needs
live in ``mynumber_core``. (``mynumber_core.migrations`` and ``reencrypt`` load a service's
package by name at run time, given as an argument: that is not an import of a service.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src"


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", ["mynumber_core", "mynumber_dev", "mynumber_cli"])
def test_the_library_never_imports_a_service(package: str) -> None:
    files = sorted((SRC / package).rglob("*.py"))
    assert files
    offending = {
        f"{path.relative_to(SRC)}: {name}"
        for path in files
        for name in _imports(path)
        if name == "services" or name.startswith("services.")
    }
    assert sorted(offending) == []
