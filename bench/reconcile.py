"""``make bench`` sections ``reconcile`` and ``reconcile-1m``: finding lost pension records.

Synthetic residents write orphan records corrupted the ways real ones were
(``mynumber_dev.orphans``, ground truth kept, a tenth decoys). The residents come from
``mynumber_dev.population`` (Japan-like name variety; ``names="faker"`` uses
``mynumber_dev.demo``'s Faker residents instead: 50 surnames, about 25 given names a sex).
The registry's linkage model (``services.registry.linkage``) is trained on them with
Splink's estimators (no labels) and predicts on the embedded DuckDB backend. Beside it, in
the same run, the exact-match baseline: kana name and birth date as written.

A record counts as linked when its best candidate reaches the threshold; it is right when that
candidate wrote it. Precision = right / linked; recall = right / records some resident wrote.
These are benchmark figures, never timed tests. Time and peak memory (the process's maximum
resident set, which includes the DuckDB engine and the generated records; run the section
alone for a clean figure) are for training plus prediction. ``reconcile-1m`` is the scale
run: 1,000,000 orphan records against 1,000,000 residents on the embedded backend, scored
with the committed model as the registry does (no training on the million).
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable

import pyarrow as pa
from splink import DuckDBAPI

from bench.table import Row
from mynumber_dev.demo import DemoResident, generate_residents
from mynumber_dev.orphans import make_orphans
from mynumber_dev.population import generate_population
from services.registry import linkage
from services.registry.reconcile import TrainedModel

GENERATORS: dict[str, Callable[..., list[DemoResident]]] = {
    "pool": generate_population,
    "faker": generate_residents,
}


def _frames(
    residents_count: int, orphans_count: int, names: str
) -> tuple[pa.Table, pa.Table, dict[str, str | None]]:
    generate = GENERATORS[names]
    residents = generate(residents_count)
    orphans = make_orphans(residents, orphans_count, population=generate)
    orphan_frame, resident_frame, truth = linkage.labelled_frames(residents, orphans)
    return orphan_frame, resident_frame, truth


def _score(found: dict[str, str], truth: dict[str, str | None]) -> tuple[float, float]:
    written = sum(1 for t in truth.values() if t is not None)
    right = sum(1 for record, resident in found.items() if truth[record] == resident)
    return right / max(1, len(found)), right / max(1, written)


def _progress(message: str) -> None:
    print(f"reconcile: {message}", file=sys.stderr, flush=True)


def _count(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def rows(
    residents_count: int = 100_000,
    orphans_count: int = 100_000,
    names: str = "pool",
    *,
    train: bool = True,
) -> list[Row]:
    """Precision and recall at the chosen threshold beside the exact baseline; time, memory.

    ``train=False`` scores with the committed model (``reconcile_model.json``, as the registry
    does) instead of estimating one on these records first: the scale run measures matching.
    """
    if names not in GENERATORS:
        raise ValueError(f"names must be one of {sorted(GENERATORS)}, not {names!r}")
    generating = time.perf_counter()
    orphans, residents, truth = _frames(residents_count, orphans_count, names)
    started = time.perf_counter()
    _progress(f"generated in {started - generating:.0f} s")
    written_share = None
    if train:
        model = linkage.train(DuckDBAPI(), orphans, residents)
    else:
        saved = TrainedModel.load()
        model, written_share = saved.splink, saved.written_share
    trained = time.perf_counter()
    _progress(f"{'trained' if train else 'model loaded'} in {trained - started:.0f} s")
    candidates = linkage.predict(
        DuckDBAPI(),
        model,
        orphans,
        residents,
        threshold=linkage.DEFAULT_THRESHOLD,
        written_share=written_share,
    )
    predicted = time.perf_counter()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    best: dict[str, str] = {}
    for c in candidates:
        best.setdefault(c.record_id, c.resident_id)
    exact = {
        record: hits[0]
        for record, hits in linkage.exact_baseline(orphans, residents).items()
        if len(hits) == 1
    }
    precision, recall = _score(best, truth)
    base_precision, base_recall = _score(exact, truth)
    scale = f"{_count(orphans_count)} orphans × {_count(residents_count)} residents"
    if names != "pool":
        scale += f" ({names} names)"
    threshold = f"p ≥ {linkage.DEFAULT_THRESHOLD}"
    baseline = "exact kana name + birth date"
    return [
        Row(
            f"reconcile {scale}: precision ({threshold})",
            precision * 100,
            base_precision * 100,
            "%",
            baseline,
        ),
        Row(
            f"reconcile {scale}: recall ({threshold})",
            recall * 100,
            base_recall * 100,
            "%",
            baseline,
        ),
        Row(f"reconcile {scale}: generate records", started - generating, 0.0, "s", "—"),
        Row(
            f"reconcile {scale}: train (DuckDB)" if train else f"reconcile {scale}: load model",
            trained - started,
            0.0,
            "s",
            "—",
        ),
        Row(f"reconcile {scale}: predict (DuckDB)", predicted - trained, 0.0, "s", "—"),
        Row(f"reconcile {scale}: peak memory", peak_mib, 0.0, "MiB", "—"),
    ]


if __name__ == "__main__":
    from bench.table import render

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print(render(rows(size, size, sys.argv[2] if len(sys.argv) > 2 else "pool")))
