"""The ``make run`` demo seeds for pension and tax work against real services."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from mynumber.pension.v1 import pension_pb2 as ppb
from mynumber.pension.v1 import pension_pb2_grpc as pgrpc
from sqlalchemy import select

from mynumber_core.calendar import age_on, today_jst
from mynumber_core.db import Database
from mynumber_dev import seed_municipality, seed_pension, seed_tax
from mynumber_dev.demo import generate_residents
from services.pension.models import Enrolment
from services.tax.models import IncomeYear, Taxpayer
from tests.support.stack import DatabaseFactory, Stack


def _rows(url: str, model: type[Any]) -> list[Any]:
    db = Database.from_url(url)
    try:
        with db.transaction() as session:
            return list(session.scalars(select(model)).all())
    finally:
        db.dispose()


def test_seeds_enrol_residents_with_history(tmp_path: Path, backend: DatabaseFactory) -> None:
    residents = generate_residents(6)
    services = ["registry", "municipality", "pension", "tax"]
    with Stack(tmp_path, services, database=backend) as stack:
        seed_municipality.seed(stack.channel("municipality", as_identity="operator"), residents)
        seed_pension.seed(stack.channel("pension", as_identity="operator"), residents)
        seed_tax.seed(stack.channel("tax", as_identity="operator"), residents)
        today = today_jst()
        ages = [age_on(dt.date.fromisoformat(r.birth_date), today) for r in residents]
        enrolments = _rows(stack.database("pension"), Enrolment)
        assert len(enrolments) == sum(1 for a in ages if a >= 20)
        stub = pgrpc.PensionStub(stack.channel("pension", as_identity="operator"))
        records = [
            stub.GetRecord(ppb.GetRecordRequest(basic_pension_number=e.basic_pension_number))
            for e in enrolments
        ]
        assert any(r.contribution_months > 0 for r in records)
        assert len(_rows(stack.database("tax"), Taxpayer)) == sum(1 for a in ages if a >= 18)
        assert len(_rows(stack.database("tax"), IncomeYear)) == 2 * sum(1 for a in ages if a >= 18)
