"""The registry starts without the record-linkage model: Splink, DuckDB and sqlglot are imported
on the first ``Reconcile`` call (they took seconds of every registry start-up)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("splink", "duckdb", "sqlglot")


def test_registry_wiring_does_not_import_the_linkage_model() -> None:
    probe = (
        "import sys, services.registry.wiring; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "", f"imported at registry start-up: {out.stdout.strip()}"


def test_the_linkage_module_still_brings_the_model() -> None:
    probe = (
        "import sys, services.registry.linkage; "
        f"print(','.join(m for m in {HEAVY[:1]!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "splink"  # the probe above can see an import when one happens
