"""Municipality.EnrolResidents on SQLite and PostgreSQL against the real registry: many
residents enrolled with one Registry.LinkBatch, each record answered on its own, a failed
record changing nothing, a repeated batch answering the same numbers, bad calls refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from mynumber.municipality.v1 import municipality_pb2 as pb
from mynumber.municipality.v1.municipality_pb2_grpc import MunicipalityStub
from mynumber.registry.v1 import registry_pb2 as rpb
from mynumber.registry.v1.registry_pb2_grpc import RegistryStub
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.support.stack import DatabaseFactory, Stack

OK = 0
NOT_FOUND = grpc.StatusCode.NOT_FOUND.value[0]
INVALID = grpc.StatusCode.INVALID_ARGUMENT.value[0]
ADDRESS = "宮城県石巻市中央2丁目1番{}号"


@pytest.fixture
def stack(tmp_path: Path, backend: DatabaseFactory) -> Iterator[Stack]:
    with Stack(tmp_path, ["registry", "municipality"], database=backend) as s:
        yield s


def _records(stack: Stack, n: int) -> list[pb.ResidentEnrolment]:
    """``n`` people the registry knows (numbers issued as for another municipality)."""
    registry = RegistryStub(stack.channel("registry", as_identity="municipality"))
    out = []
    for i in range(n):
        female = i % 2 == 1
        facts = rpb.BasicFacts(
            name=f"石川 {'花子' if female else '太郎'}{i}",
            birth_date=f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}",
            sex=rpb.SEX_FEMALE if female else rpb.SEX_MALE,
            address=ADDRESS.format(i + 1),
        )
        number = registry.RegisterResident(
            rpb.RegisterResidentRequest(facts=facts, idempotency_key=uuid.uuid4().hex)
        ).my_number
        out.append(
            pb.ResidentEnrolment(
                my_number=number,
                resident=pb.ResidentFacts(
                    name=facts.name,
                    name_kana="イシカワ ハナコ" if female else "イシカワ タロウ",
                    birth_date=facts.birth_date,
                    sex=pb.SEX_FEMALE if female else pb.SEX_MALE,
                    address=facts.address,
                    resident_type=pb.RESIDENT_TYPE_CITIZEN,
                ),
            )
        )
    return out


def _register(stack: Stack) -> list[tuple[str, str, str]]:
    """(address number, token, household) of every row of the resident register."""
    engine = create_engine(stack.database("municipality"), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT address_number, token, household_id FROM residents")
            ).all()
            return sorted((str(a), str(t), str(h)) for a, t, h in rows)
    finally:
        engine.dispose()


def test_bulk_enrolment_answers_each_record(stack: Stack) -> None:
    records = _records(stack, 4)
    wrong = pb.ResidentEnrolment()
    wrong.CopyFrom(records[1])
    wrong.resident.birth_date = "1901-01-01"  # the registry holds another birth date
    bad_number = pb.ResidentEnrolment()
    bad_number.CopyFrom(records[2])
    bad_number.my_number = "1234"
    no_sex = pb.ResidentEnrolment()
    no_sex.CopyFrom(records[2])
    no_sex.resident.sex = pb.SEX_UNSPECIFIED
    municipality = MunicipalityStub(stack.channel("municipality", as_identity="operator"))

    answer = municipality.EnrolResidents(
        pb.EnrolResidentsRequest(
            records=[records[0], wrong, bad_number, no_sex, records[3], records[0]]
        )
    )
    assert [r.code for r in answer.results] == [OK, NOT_FOUND, INVALID, INVALID, OK, INVALID]
    assert "already in record 0" in answer.results[5].message
    for i in (1, 2, 3, 5):
        message = answer.results[i].message
        assert message.startswith(f"record {i}: ")
        for r in records:
            assert r.my_number not in message and r.resident.name not in message
    first, fourth = answer.results[0], answer.results[4]
    assert not first.already_enrolled and not fourth.already_enrolled
    assert first.household_id != fourth.household_id

    # Two rows, each the 世帯主 of its own household, under the tokens single Link gives.
    register = _register(stack)
    assert [(a, h) for a, _, h in register] == sorted(
        [(first.address_number, first.household_id), (fourth.address_number, fourth.household_id)]
    )
    as_municipality = RegistryStub(stack.channel("registry", as_identity="municipality"))
    for record, result in ((records[0], first), (records[3], fourth)):
        token = as_municipality.Link(
            rpb.LinkRequest(
                my_number=record.my_number,
                facts=rpb.BasicFacts(
                    name=record.resident.name,
                    birth_date=record.resident.birth_date,
                    sex=rpb.SEX_FEMALE if record.resident.sex == pb.SEX_FEMALE else rpb.SEX_MALE,
                    address=record.resident.address,
                ),
            )
        ).token
        assert (result.address_number, token, result.household_id) in register
        shown = municipality.GetResident(
            pb.GetResidentRequest(address_number=result.address_number)
        )
        assert shown.facts.name == record.resident.name
        assert shown.relationship == "世帯主"
        assert shown.status == pb.RESIDENT_STATUS_RESIDENT

    # Sent again, the batch changes nothing and answers the same numbers; the fixed records
    # enrol now.
    again = municipality.EnrolResidents(
        pb.EnrolResidentsRequest(records=[records[0], records[3], records[1]])
    )
    assert [(r.address_number, r.already_enrolled) for r in again.results[:2]] == [
        (first.address_number, True),
        (fourth.address_number, True),
    ]
    assert again.results[2].code == OK and not again.results[2].already_enrolled
    assert len(_register(stack)) == 3


def test_bad_calls_change_nothing(stack: Stack) -> None:
    municipality = MunicipalityStub(stack.channel("municipality", as_identity="operator"))
    with pytest.raises(grpc.RpcError) as info:
        municipality.EnrolResidents(
            pb.EnrolResidentsRequest(records=[pb.ResidentEnrolment()] * 10_001)
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "10000" in (info.value.details() or "")
    as_tax = MunicipalityStub(stack.channel("municipality", as_identity="tax"))
    with pytest.raises(grpc.RpcError) as info:
        as_tax.EnrolResidents(pb.EnrolResidentsRequest())
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    empty = municipality.EnrolResidents(pb.EnrolResidentsRequest())
    assert list(empty.results) == []
    assert _register(stack) == []
