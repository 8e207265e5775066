"""Tax.RecordIncomes on SQLite and PostgreSQL: many years' income in one call, each record
answered on its own, a failed record changing nothing, a repeated call leaving the same rows,
bad calls refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from mynumber.registry.v1 import registry_pb2 as rpb
from mynumber.registry.v1 import registry_pb2_grpc as rgrpc
from mynumber.tax.v1 import tax_pb2 as tpb
from mynumber.tax.v1 import tax_pb2_grpc as tgrpc
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.support.stack import DatabaseFactory, Stack

OK = 0
NOT_FOUND = grpc.StatusCode.NOT_FOUND.value[0]
INVALID = grpc.StatusCode.INVALID_ARGUMENT.value[0]
YEAR = 2025


@pytest.fixture
def stack(tmp_path: Path, backend: DatabaseFactory) -> Iterator[Stack]:
    with Stack(tmp_path, ["registry", "tax"], database=backend) as s:
        yield s


def _taxpayers(stack: Stack, n: int) -> list[str]:
    registry = rgrpc.RegistryStub(stack.channel("registry", as_identity="municipality"))
    forms = []
    for i in range(n):
        facts = rpb.BasicFacts(
            name=f"石川 太郎{i}",
            birth_date=f"19{60 + i}-04-0{1 + i}",
            sex=rpb.SEX_MALE,
            address=f"宮城県石巻市中央2-1-{i}",
        )
        number = registry.RegisterResident(
            rpb.RegisterResidentRequest(facts=facts, idempotency_key=uuid.uuid4().hex)
        ).my_number
        forms.append(
            tpb.FormIdentity(
                my_number=number,
                name=facts.name,
                birth_date=facts.birth_date,
                sex="male",
                address=facts.address,
            )
        )
    tax = tgrpc.TaxStub(stack.channel("tax", as_identity="operator"))
    answer = tax.RegisterTaxpayers(tpb.RegisterTaxpayersRequest(identities=forms))
    return [r.reference_number for r in answer.results]


def _incomes(stack: Stack) -> list[tuple[str, int, int, int]]:
    engine = create_engine(stack.database("tax"), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT t.reference_number, i.year, i.salary, i.business "
                    "FROM income_years i JOIN taxpayers t ON t.id = i.taxpayer_id"
                )
            ).all()
            return sorted((str(r), int(y), int(s), int(b)) for r, y, s, b in rows)
    finally:
        engine.dispose()


def test_bulk_income_answers_each_record(stack: Stack) -> None:
    refs = _taxpayers(stack, 3)
    tax = tgrpc.TaxStub(stack.channel("tax", as_identity="operator"))
    tax.RecordIncome(
        tpb.RecordIncomeRequest(reference_number=refs[2], year=YEAR, salary_income_yen=1)
    )
    records = [
        tpb.RecordIncomeRequest(reference_number=refs[0], year=YEAR, salary_income_yen=5_000_000),
        tpb.RecordIncomeRequest(reference_number="12345678", year=YEAR),  # nobody's number
        tpb.RecordIncomeRequest(reference_number=refs[1], year=YEAR, business_income_yen=-1),
        tpb.RecordIncomeRequest(reference_number=refs[1], year=YEAR, business_income_yen=900_000),
        tpb.RecordIncomeRequest(reference_number=refs[2], year=YEAR, salary_income_yen=3_000_000),
        tpb.RecordIncomeRequest(reference_number=refs[0], year=YEAR, salary_income_yen=1),
    ]
    answer = tax.RecordIncomes(tpb.RecordIncomesRequest(records=records))
    assert [r.code for r in answer.results] == [OK, NOT_FOUND, INVALID, OK, OK, INVALID]
    for i in (1, 2, 5):
        assert answer.results[i].message.startswith(f"record {i}: ")
    assert "already in record 0" in answer.results[5].message
    assert answer.results[0].record.total_income_yen > 0
    assert answer.results[3].record.business_income_yen == 900_000
    expected = sorted(
        [
            (refs[0], YEAR, 5_000_000, 0),
            (refs[1], YEAR, 0, 900_000),
            (refs[2], YEAR, 3_000_000, 0),  # amended
        ]
    )
    assert _incomes(stack) == expected
    # The same call again answers the same and leaves the same rows.
    again = tax.RecordIncomes(tpb.RecordIncomesRequest(records=records))
    assert list(again.results) == list(answer.results)
    assert _incomes(stack) == expected


def test_bad_calls_change_nothing(stack: Stack) -> None:
    tax = tgrpc.TaxStub(stack.channel("tax", as_identity="operator"))
    with pytest.raises(grpc.RpcError) as info:
        tax.RecordIncomes(tpb.RecordIncomesRequest(records=[tpb.RecordIncomeRequest()] * 10_001))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    as_pension = tgrpc.TaxStub(stack.channel("tax", as_identity="pension"))
    with pytest.raises(grpc.RpcError) as info:
        as_pension.RecordIncomes(tpb.RecordIncomesRequest())
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert _incomes(stack) == []
