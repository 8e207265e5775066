"""The generated code in gen/ is exactly what scripts/gen_protos.py makes from protos/ today.

Fails when someone changed a .proto and forgot to regenerate (or edited gen/ by hand, or left
generated files behind for a proto that no longer exists).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generate(out: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(out)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted((root / "mynumber").rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    _generate(tmp_path)
    fresh, committed = _files(tmp_path), _files(ROOT / "gen")
    assert fresh, "the generator produced nothing"
    missing = sorted(set(fresh) - set(committed))
    stale_extra = sorted(set(committed) - set(fresh))
    differing = sorted(
        name for name in set(fresh) & set(committed) if fresh[name] != committed[name]
    )
    hint = "run `.venv/bin/python scripts/gen_protos.py gen` and commit gen/"
    assert not missing, f"gen/ lacks {missing}; {hint}"
    assert not stale_extra, f"gen/ has files no proto produces: {stale_extra}; {hint}"
    assert not differing, f"gen/ is stale for {differing}; {hint}"
