"""``make reconcile-spark``: a reconcile batch over generated data on Spark in local mode.

Generates synthetic residents (:mod:`mynumber_dev.population`; nobody real) and the orphan
pension records they and some strangers wrote (:mod:`mynumber_dev.orphans`, ground truth
kept), then scores them with the registry's trained model (``reconcile_model.json``) through
Splink's Spark backend on a local-mode session (:mod:`services.registry.linkage_spark`), and
prints precision and recall at the registry's threshold and the time taken. ``--compare``
runs the same batch on the embedded DuckDB backend too and checks both found the same pairs
with the same probabilities. Needs the ``spark`` extra (``make install`` has it) and Java 17+::

    .venv/bin/python scripts/reconcile_spark.py [--residents 10000] [--orphans 10000]
        [--cores 2] [--compare]

On a cluster, build the session there and pass it to ``linkage_spark.spark_api``; the model
and the code are the same.
"""

from __future__ import annotations

import argparse
import time

from splink import DuckDBAPI

from mynumber_dev.orphans import make_orphans
from mynumber_dev.population import generate_population
from services.registry import linkage, linkage_spark
from services.registry.reconcile import TrainedModel


def main() -> int:
    """Generate, score on Spark (and DuckDB with --compare), report; 1 if they disagree."""
    parser = argparse.ArgumentParser(prog="reconcile_spark", description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--orphans", type=int, default=10_000)
    parser.add_argument("--cores", type=int, default=2, help="local[N] (default 2)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--compare", action="store_true", help="also run DuckDB and compare")
    args = parser.parse_args()
    if args.residents < 1 or args.orphans < 1 or args.cores < 1:
        parser.error("--residents, --orphans and --cores must be at least 1")
    residents = generate_population(args.residents, seed=args.seed)
    orphans = make_orphans(
        residents, args.orphans, seed=args.seed + 1, population=generate_population
    )
    orphan_frame, resident_frame, truth = linkage.labelled_frames(residents, orphans)
    model = TrainedModel.load()
    started = time.perf_counter()
    session = linkage_spark.local_session(cores=args.cores, shuffle_partitions=2 * args.cores)
    ready = time.perf_counter()
    try:
        on_spark = linkage.predict(
            linkage_spark.spark_api(session),
            model.splink,
            orphan_frame,
            resident_frame,
            threshold=linkage.DEFAULT_THRESHOLD,
            written_share=model.written_share,
        )
    finally:
        session.stop()
    scored = time.perf_counter()
    best: dict[str, str] = {}
    for c in on_spark:
        best.setdefault(c.record_id, c.resident_id)
    right = sum(1 for record, resident in best.items() if truth[record] == resident)
    written = sum(1 for t in truth.values() if t is not None)
    print(
        f"Spark local[{args.cores}]: {args.orphans:,} orphan records × {args.residents:,} "
        f"residents; session start {ready - started:.1f} s, predict {scored - ready:.1f} s"
    )
    print(
        f"at p ≥ {linkage.DEFAULT_THRESHOLD}: {len(best):,} records linked, "
        f"precision {right / max(1, len(best)):.4f}, recall {right / max(1, written):.4f}"
    )
    if not args.compare:
        return 0
    on_duckdb = linkage.predict(
        DuckDBAPI(),
        model.splink,
        orphan_frame,
        resident_frame,
        threshold=linkage.DEFAULT_THRESHOLD,
        written_share=model.written_share,
    )
    duck = {(c.record_id, c.resident_id): c.match_probability for c in on_duckdb}
    spark = {(c.record_id, c.resident_id): c.match_probability for c in on_spark}
    differ = max((abs(p - spark[k]) for k, p in duck.items() if k in spark), default=0.0)
    same = set(duck) == set(spark)
    print(
        f"DuckDB: {len(duck):,} pairs, Spark: {len(spark):,} pairs, same pairs: {same}, "
        f"largest probability difference {differ:.2e}"
    )
    return 0 if same and differ < 1e-9 else 1


if __name__ == "__main__":
    raise SystemExit(main())
