"""Generate the Python code for every proto under ``protos/`` into ``gen/`` (or a given dir).

Used by ``make proto`` and by the test that fails when the committed code is stale.
Nobody edits ``gen/`` by hand.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"


def generate(out: Path) -> None:
    """Run protoc (with .pyi stubs) over every .proto file and add package markers."""
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    well_known = str(resources.files("grpc_tools") / "_proto")
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for directory in [out / "mynumber", *(out / "mynumber").rglob("*")]:
        if directory.is_dir():
            (directory / "__init__.py").write_text('"""Generated from protos/; do not edit."""\n')


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "gen")
