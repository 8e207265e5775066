"""Demo orphaned pension records for ``make run`` (issue 13): filed, then reconciled.

Pension's operator files old ledger records written by some of the demo residents, corrupted
the ways real records were (:mod:`mynumber_dev.orphans`), plus decoys written by nobody who
lives here, through ``OrphanRecords.AddRecords``, the RPC a real import uses. Then it runs
``OrphanRecords.Reconcile`` as ``mynumber admin reconcile`` does, so the demo opens with
residents who find "a pension record that may be yours" on the portal and an operator review
queue that is not empty.

The ground truth (which demo resident wrote each record, and how it was corrupted) goes to
``var/demo-orphans.json`` (mode 0600, beside ``demo-residents.json``), so a developer can log
in as the writer and see the notice, or check what the model missed. Nothing of it is sent to
a service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import grpc
from mynumber.pension.v1 import pension_pb2 as pb
from mynumber.pension.v1 import pension_pb2_grpc as pb_grpc

from mynumber_dev.demo import DemoResident
from mynumber_dev.orphans import OrphanRecord, make_orphans

TRUTH_FILE = "demo-orphans.json"
SHARE = 10
"""One orphan record for every this many demo residents (at least :data:`MINIMUM`)."""
MINIMUM = 6
CHUNK = 500


@dataclass(frozen=True)
class SeededOrphans:
    """What the seed filed and what reconciling found."""

    filed: int
    decoys: int
    bands: dict[str, int]
    review: int
    none: int

    def summary(self) -> str:
        """One line for the ``make run`` progress output."""
        likely = sum(self.bands.values())
        return (
            f"filed {self.filed} orphaned pension records ({self.decoys} by nobody here); "
            f"reconciled: {likely} with candidates, {self.review} in the operator review "
            f"queue, {self.none} with none"
        )


def entry(record: OrphanRecord) -> pb.OrphanRecordEntry:
    """A generated record as the import RPC takes it (the ground truth stays here)."""
    return pb.OrphanRecordEntry(
        record_id=record.record_id,
        name_kana=record.name_kana,
        name_kanji=record.name_kanji or "",
        birth_date_written=record.birth_date_written,
        sex=record.sex,
        prefecture=record.prefecture,
        employer=record.employer,
        period_start=record.period_start,
        period_end=record.period_end,
        months=record.months,
    )


def seed(channel: grpc.Channel, residents: list[DemoResident], var: Path) -> SeededOrphans:
    """File orphan records written by ``residents`` (and decoys), reconcile them, and keep
    the ground truth under ``var``."""
    records = make_orphans(residents, max(MINIMUM, len(residents) // SHARE))
    stub = pb_grpc.OrphanRecordsStub(channel)
    for start in range(0, len(records), CHUNK):
        stub.AddRecords(
            pb.AddOrphanRecordsRequest(records=[entry(r) for r in records[start : start + CHUNK]])
        )
    truth = var / TRUTH_FILE
    truth.write_text(
        json.dumps(
            [
                {
                    "record_id": r.record_id,
                    "written_by": None if r.truth is None else residents[r.truth].my_number,
                    "corruptions": r.corruptions,
                }
                for r in records
            ],
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    truth.chmod(0o600)
    steps = list(stub.Reconcile(pb.ReconcileOrphansRequest(batch_size=CHUNK)))
    last = steps[-1] if steps else None
    return SeededOrphans(
        filed=len(records),
        decoys=sum(r.truth is None for r in records),
        bands=dict(last.bands) if last is not None else {},
        review=last.review if last is not None else 0,
        none=last.none if last is not None else 0,
    )
