"""``make bench``: the platform's figures beside bare-gRPC baselines measured in the same run.

Everything runs on loopback: the services as processes (as ``make run`` starts them, on
SQLite in a temporary folder) and the echo baselines as processes over the same mTLS.
Sections: token schemes (in-process), registry operations, cross-agency exchange,
fixed-rate load (open loop), portal page loads under 20 residents, bulk enrolment of
1,000,000 residents on PostgreSQL, and the disaster list for 10,000 residents.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench import disaster, load, portal, sections
from bench.table import Row, render


def main() -> None:
    """Run every section and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    parser.add_argument(
        "--enrol", type=int, default=1_000_000, help="residents for the PostgreSQL bulk run"
    )
    parser.add_argument(
        "--load-seconds", type=float, default=None, help="fixed-rate load per target (60; quick 10)"
    )
    args = parser.parse_args()
    scale = 0.2 if args.quick else 1.0
    rows: list[Row] = []
    rows += sections.token_schemes(scale)
    with (
        tempfile.TemporaryDirectory(prefix="mynumber-bench-") as tmp,
        sections.BenchPlatform(Path(tmp), args.residents) as bp,
    ):
        rows += sections.registry_operations(bp, scale)
        rows += sections.exchange(bp, scale)
        rows += load.load(bp, args.load_seconds or (10.0 if args.quick else 60.0))
        rows += portal.page_loads(bp, 5 if args.quick else 20)
    with tempfile.TemporaryDirectory(prefix="mynumber-bench-pg-") as tmp:
        rows += sections.bulk_enrolment(Path(tmp), args.enrol if not args.quick else 20_000)
    rows += disaster.rows(quick=args.quick)
    print()
    print(render(rows))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
