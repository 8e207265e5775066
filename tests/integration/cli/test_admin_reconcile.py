"""``mynumber admin reconcile`` against a real registry and pension (SQLite and PostgreSQL):
the operator's run sends pension's orphan pool to the registry and reports what it found."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner
from faker import Faker
from mynumber.registry.v1 import registry_pb2 as rpb
from mynumber.registry.v1 import registry_pb2_grpc as rgrpc
from sqlalchemy import select

from mynumber_cli.__main__ import cli
from mynumber_core.db import Database
from mynumber_core.japanese import format_era, prefecture_of
from services.pension.models import OrphanCandidate, OrphanRecord
from services.pension.usecases.orphans import OrphanInput, OrphanPool
from tests.support.stack import DatabaseFactory, Stack


def test_admin_reconcile_reports_bands_and_records_without_candidates(
    tmp_path: Path, backend: DatabaseFactory
) -> None:
    fake = Faker("ja_JP")
    fake.seed_instance(77)
    with Stack(tmp_path, ["registry", "pension"], database=backend) as stack:
        registry = rgrpc.RegistryStub(stack.channel("registry", as_identity="municipality"))
        people = []
        for i in range(12):
            born = fake.date_between(dt.date(1945 + i, 1, 1), dt.date(1945 + i, 12, 28))
            facts = rpb.BasicFacts(
                name=fake.name_male(),
                birth_date=born.isoformat(),
                sex=rpb.SEX_MALE,
                address=fake.address(),
            )
            registry.RegisterResident(
                rpb.RegisterResidentRequest(facts=facts, idempotency_key=f"r{i}")
            )
            people.append(facts)
        writer = people[5]
        db = Database.from_url(backend("pension"))  # the running pension bound its cipher
        try:
            OrphanPool(db).add(
                [
                    OrphanInput(
                        "OR-1",
                        "タナカ イチロウ",
                        writer.name,
                        format_era(dt.date.fromisoformat(writer.birth_date)),
                        "male",
                        prefecture_of(writer.address),
                        "株式会社テスト",
                        "1975-04",
                        "1980-03",
                        60,
                    ),
                    OrphanInput(
                        "OR-2",
                        "ズンダ モチコ",
                        None,
                        "大正3年1月1日",
                        "female",
                        None,
                        "商店",
                        "1930-01",
                        "1930-12",
                        12,
                    ),
                ]
            )
            (tmp_path / "endpoints.json").write_text(json.dumps(stack.endpoints))
            result = CliRunner().invoke(
                cli,
                ["--var", str(tmp_path), "admin", "reconcile", "--batch-size", "1"],
                catch_exceptions=False,
            )
            assert result.exit_code == 0, result.output
            assert "records: 2" in result.output
            assert "best candidate ≥ 0.999: 1" in result.output
            assert "no candidate: 1" in result.output
            with db.transaction() as session:
                refs = session.scalars(select(OrphanCandidate.candidate_ref)).all()
                status = dict(
                    session.execute(select(OrphanRecord.record_id, OrphanRecord.status)).all()
                )
            assert len(refs) == 1 and refs[0].startswith("notify:")
            assert status == {"OR-1": "proposed", "OR-2": "pool"}
        finally:
            db.dispose()
