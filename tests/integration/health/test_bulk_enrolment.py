"""HealthInsurance.EnrolMembers on SQLite and PostgreSQL against the real registry: many
members enrolled with one Registry.LinkBatch, each record answered on its own, a failed record
changing nothing, a repeated batch answering the same coverages, bad calls refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from mynumber.healthinsurance.v1 import health_insurance_pb2 as pb
from mynumber.healthinsurance.v1.health_insurance_pb2_grpc import HealthInsuranceStub
from mynumber.registry.v1 import registry_pb2 as rpb
from mynumber.registry.v1.registry_pb2_grpc import RegistryStub
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from services.health.domain import make_insurer_number
from tests.support.stack import DatabaseFactory, Stack

OK = 0
NOT_FOUND = grpc.StatusCode.NOT_FOUND.value[0]
INVALID = grpc.StatusCode.INVALID_ARGUMENT.value[0]
EXISTS = grpc.StatusCode.ALREADY_EXISTS.value[0]
NHI = make_insurer_number("04201")  # a 国民健康保険 insurer (synthetic)
ADDRESS = "宮城県石巻市中央2丁目1番{}号"


@pytest.fixture
def stack(tmp_path: Path, backend: DatabaseFactory) -> Iterator[Stack]:
    with Stack(tmp_path, ["registry", "health"], database=backend) as s:
        yield s


def _members(stack: Stack, n: int) -> list[pb.EnrolRequest]:
    registry = RegistryStub(stack.channel("registry", as_identity="municipality"))
    out = []
    for i in range(n):
        facts = rpb.BasicFacts(
            name=f"石川 {'花子' if i % 2 else '太郎'}{i}",
            birth_date=f"19{60 + i % 30}-0{1 + i % 9}-1{i % 9}",
            sex=rpb.SEX_FEMALE if i % 2 else rpb.SEX_MALE,
            address=ADDRESS.format(i + 1),
        )
        number = registry.RegisterResident(
            rpb.RegisterResidentRequest(facts=facts, idempotency_key=uuid.uuid4().hex)
        ).my_number
        out.append(
            pb.EnrolRequest(
                my_number=number,
                facts=facts,
                insurer_number=NHI,
                plan=pb.PLAN_TYPE_NATIONAL_HEALTH_INSURANCE,
                insured=pb.InsuredNumber(symbol="41", number=f"{i + 1:07d}", branch="00"),
                valid_from="2020-04-01",
                income_category=pb.INCOME_CATEGORY_GENERAL,
            )
        )
    return out


def _coverages(stack: Stack) -> list[tuple[str, str]]:
    """(coverage id, token) of every coverage."""
    engine = create_engine(stack.database("health"), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT c.id, i.token FROM coverage c JOIN insured i ON i.id = c.insured_id")
            ).all()
            return sorted((str(c), str(t)) for c, t in rows)
    finally:
        engine.dispose()


def test_bulk_enrolment_answers_each_record(stack: Stack) -> None:
    members = _members(stack, 5)
    wrong = pb.EnrolRequest()
    wrong.CopyFrom(members[1])
    wrong.facts.address = "宮城県石巻市立町1丁目1番1号"  # the registry holds another address
    bad_insurer = pb.EnrolRequest()
    bad_insurer.CopyFrom(members[2])
    bad_insurer.insurer_number = "123"
    keyed = pb.EnrolRequest()
    keyed.CopyFrom(members[2])
    keyed.idempotency_key = uuid.uuid4().hex
    taken = pb.EnrolRequest()
    taken.CopyFrom(members[4])
    taken.insured.number = members[0].insured.number  # another person's insured number
    health = HealthInsuranceStub(stack.channel("health", as_identity="operator"))

    answer = health.EnrolMembers(
        pb.EnrolMembersRequest(members=[members[0], wrong, bad_insurer, keyed, members[3], taken])
    )
    assert [r.code for r in answer.results] == [OK, NOT_FOUND, INVALID, INVALID, OK, EXISTS]
    for i in (1, 2, 3, 5):
        message = answer.results[i].message
        assert message.startswith(f"record {i}: ")
        for m in members:
            assert m.my_number not in message and m.facts.name not in message
    first, fourth = answer.results[0], answer.results[4]
    assert not first.already_enrolled and first.copay_percent == 30
    stored = _coverages(stack)
    assert stored == sorted([(first.coverage_id, first.token), (fourth.coverage_id, fourth.token)])

    # The tokens are those single Link gives the insurer, and the coverage answers a check.
    as_health = RegistryStub(stack.channel("registry", as_identity="health"))
    token = as_health.Link(rpb.LinkRequest(my_number=members[0].my_number, facts=members[0].facts))
    assert token.token == first.token
    check = health.CheckEligibility(
        pb.CheckEligibilityRequest(token=first.token, checked_by="さくら内科クリニック")
    )
    assert check.status == pb.COVERAGE_STATUS_ACTIVE

    # Sent again, the batch changes nothing and answers the same coverages; the fixed
    # record enrols now.
    again = health.EnrolMembers(
        pb.EnrolMembersRequest(members=[members[0], members[3], members[1]])
    )
    assert [(r.coverage_id, r.already_enrolled) for r in again.results[:2]] == [
        (first.coverage_id, True),
        (fourth.coverage_id, True),
    ]
    assert again.results[2].code == OK and not again.results[2].already_enrolled
    assert len(_coverages(stack)) == 3
    # A single Enrol of the same insured number is refused as before.
    with pytest.raises(grpc.RpcError) as info:
        health.Enrol(members[0])
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_bad_calls_change_nothing(stack: Stack) -> None:
    health = HealthInsuranceStub(stack.channel("health", as_identity="operator"))
    with pytest.raises(grpc.RpcError) as info:
        health.EnrolMembers(pb.EnrolMembersRequest(members=[pb.EnrolRequest()] * 10_001))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    as_tax = HealthInsuranceStub(stack.channel("health", as_identity="tax"))
    with pytest.raises(grpc.RpcError) as info:
        as_tax.EnrolMembers(pb.EnrolMembersRequest())
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert list(health.EnrolMembers(pb.EnrolMembersRequest()).results) == []
    assert _coverages(stack) == []
