"""Tax.RegisterTaxpayers on SQLite and PostgreSQL against the real registry: many existing
taxpayers enrolled with one Registry.LinkBatch, each record answered on its own, a failed
record changing nothing at the tax office, and the tokens exactly those of single Link."""

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
ADDRESS = "宮城県石巻市中央2-1-{}"


@pytest.fixture
def stack(tmp_path: Path, backend: DatabaseFactory) -> Iterator[Stack]:
    with Stack(tmp_path, ["registry", "tax"], database=backend) as s:
        yield s


def _residents(stack: Stack, n: int) -> list[tpb.FormIdentity]:
    registry = rgrpc.RegistryStub(stack.channel("registry", as_identity="municipality"))
    forms = []
    for i in range(n):
        sex = "female" if i % 2 else "male"
        facts = rpb.BasicFacts(
            name=f"石川 {'花子' if i % 2 else '太郎'}{i}",
            birth_date=f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}",
            sex=rpb.SEX_FEMALE if i % 2 else rpb.SEX_MALE,
            address=ADDRESS.format(i),
        )
        number = registry.RegisterResident(
            rpb.RegisterResidentRequest(facts=facts, idempotency_key=uuid.uuid4().hex)
        ).my_number
        forms.append(
            tpb.FormIdentity(
                my_number=number,
                name=facts.name,
                birth_date=facts.birth_date,
                sex=sex,
                address=facts.address,
            )
        )
    return forms


def _taxpayers(stack: Stack) -> list[tuple[str, str]]:
    engine = create_engine(stack.database("tax"), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT token, reference_number FROM taxpayers")).all()
            return sorted((str(t), str(r)) for t, r in rows)
    finally:
        engine.dispose()


def test_bulk_registration_answers_each_record(stack: Stack) -> None:
    forms = _residents(stack, 5)
    tax = tgrpc.TaxStub(stack.channel("tax", as_identity="operator"))
    single = tax.RegisterTaxpayer(tpb.RegisterTaxpayerRequest(identity=forms[4]))
    wrong = tpb.FormIdentity()
    wrong.CopyFrom(forms[1])
    wrong.birth_date = "1901-01-01"
    bad = tpb.FormIdentity()
    bad.CopyFrom(forms[2])
    bad.my_number = "1234"
    before = _taxpayers(stack)

    answer = tax.RegisterTaxpayers(
        tpb.RegisterTaxpayersRequest(identities=[forms[0], wrong, bad, forms[3], forms[4]])
    )
    codes = [r.code for r in answer.results]
    assert codes == [OK, NOT_FOUND, INVALID, OK, OK]
    assert answer.results[1].message.startswith("record 1: ")
    assert answer.results[2].message.startswith("record 2: ")
    for r in answer.results:
        for f in forms:
            assert f.my_number not in r.message and f.name not in r.message
    assert not answer.results[0].already_registered
    assert answer.results[4].already_registered
    assert answer.results[4].reference_number == single.reference_number
    refs = [answer.results[i].reference_number for i in (0, 3, 4)]
    assert len(set(refs)) == 3 and all(len(r) == 8 and r.isdigit() for r in refs)

    # Exactly two new taxpayers, under the very tokens single Link gives tax.
    after = _taxpayers(stack)
    assert len(after) == len(before) + 2
    as_tax = rgrpc.RegistryStub(stack.channel("registry", as_identity="tax"))
    for i in (0, 3):
        f = forms[i]
        token = as_tax.Link(
            rpb.LinkRequest(
                my_number=f.my_number,
                facts=rpb.BasicFacts(
                    name=f.name,
                    birth_date=f.birth_date,
                    sex=rpb.SEX_FEMALE if f.sex == "female" else rpb.SEX_MALE,
                    address=f.address,
                ),
            )
        ).token
        assert (token, answer.results[i].reference_number) in after

    # Sent again, the same batch changes nothing and answers the same numbers.
    again = tax.RegisterTaxpayers(tpb.RegisterTaxpayersRequest(identities=[forms[0], forms[3]]))
    assert [r.reference_number for r in again.results] == [refs[0], refs[1]]
    assert all(r.already_registered for r in again.results)
    assert _taxpayers(stack) == after
    # The registered taxpayer is a normal one: income can be recorded against the number.
    recorded = tax.RecordIncome(
        tpb.RecordIncomeRequest(reference_number=refs[0], year=2025, business_income_yen=1_000)
    )
    assert recorded.total_income_yen >= 0


def test_oversized_and_unauthorised_calls_are_refused(stack: Stack) -> None:
    tax = tgrpc.TaxStub(stack.channel("tax", as_identity="operator"))
    with pytest.raises(grpc.RpcError) as info:
        tax.RegisterTaxpayers(
            tpb.RegisterTaxpayersRequest(identities=[tpb.FormIdentity()] * 10_001)
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    as_pension = tgrpc.TaxStub(stack.channel("tax", as_identity="pension"))
    with pytest.raises(grpc.RpcError) as info:
        as_pension.RegisterTaxpayers(tpb.RegisterTaxpayersRequest())
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert _taxpayers(stack) == []
