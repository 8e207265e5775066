"""The exchange log's alert metrics on /metrics: append latency and checkpoint age.

``mynumber_log_checkpoint_age_seconds`` is how long the oldest entry this process committed
has waited for a checkpoint (pending inclusion); it must grow while no checkpoint covers the
entry, whoever signs (this process or another replica), and fall back to 0 once one does.
``mynumber_log_append_seconds`` counts every durable append. Both are read from the text that
the metrics port serves (``prometheus_client.generate_latest`` over the default registry).
"""

from __future__ import annotations

import datetime as dt
import time
import weakref
from collections.abc import Mapping
from typing import Any

import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mynumber_core.db import Database
from services.registry import checkpoints
from services.registry.checkpoints import Checkpointer
from services.registry.exchange_log import NewEntry, row_values
from services.registry.sequencer import Append, Sequencer


def _metric(name: str) -> float:
    """The value of an unlabelled sample as /metrics serves it."""
    text = generate_latest(REGISTRY).decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    raise AssertionError(f"{name} is not on /metrics")


@pytest.fixture
def db(registry_db: Database) -> Database:
    """The registry database of each test (conftest's ``registry_db``)."""
    return registry_db


def _checkpointer(db: Database, size: list[int]) -> Checkpointer:
    """A checkpointer over a log of ``size[0]`` entries with a stand-in signature."""
    return Checkpointer(
        db, lambda: size[0], lambda n: (f"note {n}\n", n.to_bytes(32, "big")), interval=60
    )


def test_checkpoint_age_grows_while_entries_wait_and_resets_when_covered(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only this test's checkpointers count (earlier tests' registries may still be alive).
    monkeypatch.setattr(checkpoints, "_LIVE", weakref.WeakSet())
    size = [0]
    mine = _checkpointer(db, size)
    mine.tick()  # the empty log's checkpoint
    assert _metric("mynumber_log_checkpoint_age_seconds") == 0.0

    size[0] = 3
    mine.committed(3)  # three entries durable, no checkpoint covers them yet
    time.sleep(0.3)
    first = _metric("mynumber_log_checkpoint_age_seconds")
    assert first >= 0.3
    time.sleep(0.2)
    assert _metric("mynumber_log_checkpoint_age_seconds") >= first + 0.2  # read at scrape time

    mine.tick()  # signs size 3
    assert _metric("mynumber_log_checkpoint_age_seconds") == 0.0

    # Another replica signs the next entries: this process learns it from the database.
    size[0] = 5
    mine.committed(5)
    time.sleep(0.1)
    assert _metric("mynumber_log_checkpoint_age_seconds") > 0.0
    other = _checkpointer(db, size)
    other.produce(4)  # covers only part of them: still pending
    mine.latest()
    assert _metric("mynumber_log_checkpoint_age_seconds") > 0.0
    other.produce(5)
    mine.latest()
    assert _metric("mynumber_log_checkpoint_age_seconds") == 0.0

    # A stopped checkpointer (its service shut down) no longer reports.
    size[0] = 6
    mine.committed(6)
    time.sleep(0.1)
    assert _metric("mynumber_log_checkpoint_age_seconds") > 0.0
    mine.stop()
    assert _metric("mynumber_log_checkpoint_age_seconds") == 0.0


def test_every_durable_append_is_timed_and_a_failed_one_is_not(db: Database) -> None:
    def build(e: Any, index: int, now: dt.datetime) -> Mapping[str, Any]:
        if e.request_id == "bad":
            raise RuntimeError("simulated failure inside the batch's transaction")
        return row_values(e, index, now)

    sequencer = Sequencer(db, build)
    before = _metric("mynumber_log_append_seconds_count")
    sequencer.append([Append(_entry("a"))])
    sequencer.append([Append(_entry("b")), Append(_entry("c"))])
    assert _metric("mynumber_log_append_seconds_count") == before + 2
    with pytest.raises(RuntimeError):
        sequencer.append([Append(_entry("bad"))])
    assert _metric("mynumber_log_append_seconds_count") == before + 2  # not durable: not timed
    assert _metric("mynumber_log_append_seconds_sum") > 0


def _entry(request_id: str) -> NewEntry:
    return NewEntry(
        "pension", "tax", "income", "pension.exemption", "provided", "", request_id, "t" * 32, "f"
    )
