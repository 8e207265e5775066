"""``make bench``: the platform's figures beside bare-gRPC baselines measured in the same run.

Everything runs on loopback: the services as processes (as ``make run`` starts them, on
SQLite in a temporary folder) and the echo baselines as processes over the same mTLS.
Sections: token schemes (in-process), registry operations, cross-agency exchange,
fixed-rate load (open loop), portal page loads under 20 residents, bulk enrolment of
1,000,000 residents on PostgreSQL, an agency's bulk link and enrolment (SQLite and
PostgreSQL), the disaster list for 10,000 residents, and finding lost
pension records (100,000 orphan records against 100,000 residents, beside exact matching;
``reconcile-1m``, not in the default run, is 1,000,000 against 1,000,000: time and memory).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench import bulk, disaster, hub, link_batch, load, portal, reconcile, sealing, sections
from bench.table import Row, render

SECTIONS = (
    "tokens",
    "sealing",
    "registry",
    "exchange",
    "load",
    "portal",
    "hub",
    "enrol",
    "bulk",
    "linkbatch",
    "disaster",
    "reconcile",
    "reconcile-1m",
)
"""Every section, in the order they run."""


def main() -> None:
    """Run every section and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    parser.add_argument(
        "--enrol", type=int, default=1_000_000, help="residents for the PostgreSQL bulk run"
    )
    parser.add_argument(
        "--enrol-in-flight",
        type=int,
        default=sections.BULK_IN_FLIGHT,
        help="BulkRegister calls in flight at once in the PostgreSQL bulk run",
    )
    parser.add_argument(
        "--disaster",
        type=int,
        default=10_000,
        help="residents in the disaster section's area (on SQLite and on PostgreSQL)",
    )
    parser.add_argument(
        "--reconcile",
        type=int,
        default=100_000,
        help="orphan records and residents for the linkage section (1000000 for the scale run)",
    )
    parser.add_argument(
        "--reconcile-scale",
        type=int,
        default=1_000_000,
        help="orphan records and residents for the reconcile-1m section (default 1000000)",
    )
    parser.add_argument(
        "--reconcile-names",
        choices=sorted(reconcile.GENERATORS),
        default="pool",
        help="synthetic residents for the linkage sections: pool (Japan-like name variety, "
        "default) or faker (Faker ja_JP: 50 surnames)",
    )
    parser.add_argument(
        "--load-seconds", type=float, default=None, help="fixed-rate load per target (60; quick 10)"
    )
    parser.add_argument(
        "--sections",
        default=",".join(s for s in SECTIONS if s != "reconcile-1m"),
        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all but reconcile-1m)",
    )
    args = parser.parse_args()
    wanted = {s.strip() for s in args.sections.split(",") if s.strip()}
    if unknown := wanted - set(SECTIONS):
        parser.error(f"unknown sections {sorted(unknown)}; choose from {','.join(SECTIONS)}")
    scale = 0.2 if args.quick else 1.0
    rows: list[Row] = []
    if "tokens" in wanted:
        rows += sections.token_schemes(scale)
    if "sealing" in wanted:
        rows += sealing.rows(scale)
    if wanted & {"registry", "exchange", "load", "portal"}:
        with (
            tempfile.TemporaryDirectory(prefix="mynumber-bench-") as tmp,
            sections.BenchPlatform(Path(tmp), args.residents) as bp,
        ):
            if "registry" in wanted:
                rows += sections.registry_operations(bp, scale)
            if "exchange" in wanted:
                rows += sections.exchange(bp, scale)
            if "load" in wanted:
                rows += load.load(bp, args.load_seconds or (10.0 if args.quick else 60.0))
            if "portal" in wanted:
                rows += portal.page_loads(bp, 5 if args.quick else 20)
    if "hub" in wanted:
        rows += hub.rows(scale, args.residents)
    if "enrol" in wanted:
        with tempfile.TemporaryDirectory(prefix="mynumber-bench-pg-") as tmp:
            rows += sections.bulk_enrolment(
                Path(tmp), args.enrol if not args.quick else 20_000, in_flight=args.enrol_in_flight
            )
    if "bulk" in wanted:
        rows += bulk.rows(20_000 if args.quick else 100_000)
    if "linkbatch" in wanted:
        rows += link_batch.rows(4_000 if args.quick else 20_000)
    if "disaster" in wanted:
        rows += disaster.rows(quick=args.quick, residents=args.disaster)
    if "reconcile" in wanted:
        size = 10_000 if args.quick else args.reconcile
        rows += reconcile.rows(size, size, args.reconcile_names)
    if "reconcile-1m" in wanted:
        scale_size = args.reconcile_scale
        rows += reconcile.rows(scale_size, scale_size, args.reconcile_names, train=False)
    print()
    print(render(rows))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
