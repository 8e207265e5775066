"""The record-linkage model on Spark (local mode) finds what the embedded DuckDB backend finds.

Marked ``spark``: it starts a real local-mode Spark session (the optional ``spark`` extra,
``pyspark``, and Java 17), one for the module, ``local[1]`` with one shuffle partition and the
UI off, because the JVM's start-up dominates. The registry's trained model
(``reconcile_model.json``) scores the same fixed set — a few hundred synthetic residents and the
orphan records they and some strangers wrote — on both backends: the same (record, resident)
pairs come back above the threshold, with the same probabilities (within 1e-9) and the same
agreeing fields, and the pairs are mostly right, so the comparison is not between two empty
answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from splink import DuckDBAPI

from mynumber_dev.demo import generate_residents
from mynumber_dev.orphans import make_orphans
from services.registry import linkage, linkage_spark
from services.registry.reconcile import TrainedModel

pytest.importorskip("pyspark", reason="needs the optional 'spark' extra (make install)")

# Spark's start-up and planning took 189–236 s on the shared 2-core machine at load 14–30
# (an idle run was not measured); the suite's 300 s default would fail it there; a hang still fails.
pytestmark = [pytest.mark.spark, pytest.mark.timeout(600)]

THRESHOLD = 0.01
"""Low, so that the comparison covers weak candidates too, not only the obvious ones."""


@pytest.fixture(scope="module")
def session() -> Iterator[Any]:
    spark = linkage_spark.local_session(cores=1, shuffle_partitions=1, driver_memory="1g")
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def fixed_set() -> tuple[pa.Table, pa.Table, dict[str, str | None]]:
    residents = generate_residents(300, seed=1313)
    orphans = make_orphans(residents, 200, seed=1314)
    orphan_frame, resident_frame, truth = linkage.labelled_frames(residents, orphans)
    return orphan_frame, resident_frame, truth


def test_spark_and_duckdb_find_the_same_candidates(
    session: Any, fixed_set: tuple[pa.Table, pa.Table, dict[str, str | None]]
) -> None:
    orphans, residents, truth = fixed_set
    model = TrainedModel.load()
    on_duckdb = linkage.predict(
        DuckDBAPI(),
        model.splink,
        orphans,
        residents,
        threshold=THRESHOLD,
        written_share=model.written_share,
    )
    on_spark = linkage.predict(
        linkage_spark.spark_api(session),
        model.splink,
        orphans,
        residents,
        threshold=THRESHOLD,
        written_share=model.written_share,
    )
    duck = {(c.record_id, c.resident_id): c for c in on_duckdb}
    spark = {(c.record_id, c.resident_id): c for c in on_spark}
    assert len(duck) >= 100, "the fixed set should give DuckDB plenty of candidates"
    assert set(spark) == set(duck)
    for pair, candidate in duck.items():
        assert spark[pair].match_probability == pytest.approx(
            candidate.match_probability, abs=1e-9
        ), pair
        assert spark[pair].agreeing == candidate.agreeing, pair
    best: dict[str, str] = {}
    for c in sorted(on_spark, key=lambda c: -c.match_probability):
        if c.match_probability >= linkage.DEFAULT_THRESHOLD:
            best.setdefault(c.record_id, c.resident_id)
    right = sum(1 for record, resident in best.items() if truth[record] == resident)
    assert len(best) >= 100 and right / len(best) >= 0.95, (right, len(best))
