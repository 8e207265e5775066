"""The demo's lost pension records, end to end on the platform ``make run`` starts.

The seed files orphan records written by demo residents through ``OrphanRecords.AddRecords``
and reconciles them (:mod:`mynumber_dev.seed_orphans`). Then: pension holds every filed
record, at least one was proposed, its writer finds it on the portal with their own card, and
a resident who did not write it sees no record.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from mynumber_dev.seed_orphans import MINIMUM, TRUTH_FILE
from tests.e2e.clients import PortalSession, ServiceDb
from tests.e2e.conftest import RunningPlatform

pytestmark = pytest.mark.e2e


def _records(session: PortalSession) -> list[dict[str, Any]]:
    response = session.client.get("/api/pension/records")
    assert response.status_code == 200, response.text[:300]
    records: list[dict[str, Any]] = response.json()["records"]
    return records


def test_the_demo_seed_files_and_reconciles_lost_pension_records(
    e2e_platform: RunningPlatform,
) -> None:
    rp = e2e_platform
    truth = json.loads((rp.var / TRUTH_FILE).read_text(encoding="utf-8"))
    assert len(truth) >= MINIMUM
    assert (rp.var / TRUTH_FILE).stat().st_mode & 0o077 == 0, "the ground truth is private"
    pension = ServiceDb(rp, "pension")
    try:
        status = {
            r.record_id: r.status
            for r in pension.rows("SELECT record_id, status FROM orphan_records")
        }
    finally:
        pension.close()
    assert set(status) == {t["record_id"] for t in truth}

    by_number = {r.my_number: r for r in rp.residents}
    proposed = [
        t for t in truth if status[t["record_id"]] == "proposed" and t["written_by"] in by_number
    ]
    assert proposed, f"no demo record was proposed to its writer: {sorted(status.values())}"
    record = proposed[0]
    writer = by_number[record["written_by"]]
    assert writer.card_file and writer.card_pin

    session = PortalSession(rp.platform.http_port, Path(writer.card_file), writer.card_pin)
    try:
        deadline = time.monotonic() + 30
        while record["record_id"] not in {r["record_id"] for r in _records(session)}:
            assert time.monotonic() < deadline, "the writer never saw the proposed record"
            time.sleep(0.5)
        shown = next(r for r in _records(session) if r["record_id"] == record["record_id"])
        assert shown["status"] == "notified"
        assert set(shown) == {
            "record_id",
            "period_start",
            "period_end",
            "employer",
            "months",
            "status",
        }
    finally:
        session.close()

    writers = {t["written_by"] for t in truth}
    other = next(r for r in rp.residents if r.my_number not in writers and r.card_file)
    assert other.card_pin
    session = PortalSession(rp.platform.http_port, Path(other.card_file or ""), other.card_pin)
    try:
        assert _records(session) == []
    finally:
        session.close()
