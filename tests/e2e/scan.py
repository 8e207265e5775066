"""Scanning stored bytes for seeded personal data (invariant 1 and encryption at rest)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from mynumber_dev.demo import DemoResident


def needles(residents: Iterable[DemoResident], *, names: bool) -> dict[str, bytes]:
    """What must never appear: every number (and name, when asked) as UTF-8 bytes."""
    found: dict[str, bytes] = {}
    for r in residents:
        found[f"number of {r.name_kana}"] = r.my_number.encode()
        if names:
            found[f"name {r.name_kana}"] = r.name.encode()
            found[f"kana {r.name_kana}"] = r.name_kana.encode()
    return found


def scan(blobs: dict[str, bytes], what: dict[str, bytes]) -> list[str]:
    """Every (blob, needle) pair that matches, as readable strings."""
    return [
        f"{label} in {where}"
        for where, blob in blobs.items()
        for label, needle in what.items()
        if needle and needle in blob
    ]


def sqlite_and_logs(var: Path) -> dict[str, bytes]:
    """Every database file (with WAL) and every log under var/."""
    blobs = {str(p): p.read_bytes() for p in (var / "data").glob("*") if p.is_file()}
    blobs.update({str(p): p.read_bytes() for p in (var / "log").glob("*.log")})
    return blobs


def pg_dumps(database_urls: dict[str, str]) -> dict[str, bytes]:
    """A plain-text pg_dump of each service database."""
    dumps = {}
    for service, url in database_urls.items():
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        dumps[f"pg_dump {service}"] = subprocess.run(
            ["pg_dump", "--data-only", dsn],
            capture_output=True,
            check=True,
        ).stdout
    return dumps
