"""The health insurer against the real registry, on SQLite and PostgreSQL.

Residents are registered by the municipality identity, enrolled through the insurer's own
API as "operator", and their items are read through the Provider interface as the registry
and through the hub as a real requester (tax).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from mynumber.exchange.v1 import exchange_pb2
from mynumber.exchange.v1.exchange_pb2_grpc import ProviderStub
from mynumber.healthinsurance.v1 import health_insurance_pb2 as pb
from mynumber.healthinsurance.v1.health_insurance_pb2_grpc import HealthInsuranceStub
from mynumber.registry.v1 import registry_pb2
from mynumber.registry.v1.registry_pb2_grpc import HubStub, RegistryStub
from sqlalchemy import func, select

from mynumber_core.calendar import today_jst
from mynumber_core.db import Database
from mynumber_core.structs import to_struct
from services.health import models
from services.health.domain import make_insurer_number
from tests.support.sealing import (
    open_provided,
    open_query,
    recipient,
    sealed_payload,
    sealed_payloads,
)
from tests.support.stack import Stack

TODAY = today_jst()
LAST_YEAR = TODAY.year - 1
KYOKAI = make_insurer_number("0113001")  # 協会けんぽ 東京支部
NHI = make_insurer_number("13101")  # 千代田区国保 (synthetic)


@dataclass
class Resident:
    my_number: str
    facts: registry_pb2.BasicFacts
    municipality_token: str


@dataclass
class Env:
    stack: Stack
    api: HealthInsuranceStub
    provider: ProviderStub
    registry_as_municipality: RegistryStub
    db: Database

    def register(self, name: str, birth_date: str, sex: registry_pb2.Sex, address: str) -> Resident:
        facts = registry_pb2.BasicFacts(name=name, birth_date=birth_date, sex=sex, address=address)
        response = self.registry_as_municipality.RegisterResident(
            registry_pb2.RegisterResidentRequest(facts=facts, idempotency_key=uuid.uuid4().hex)
        )
        return Resident(response.my_number, facts, response.token)

    def count(self, model: type) -> int:
        with self.db.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

    def counts(self) -> dict[str, int]:
        return {
            m.__tablename__: self.count(m)
            for m in (
                models.Insured,
                models.Coverage,
                models.EligibilityCheck,
                models.MedicalExpense,
                models.Vaccination,
                models.CareFlagsRow,
                models.OutboxEvent,
                models.ProcessedEvent,
            )
        }


@pytest.fixture
def env(tmp_path: Path, backend: Callable[[str], str]) -> Iterator[Env]:
    # tax runs too: it asks health through the hub, and the hub seals answers to its key.
    with Stack(tmp_path, ["registry", "health", "tax"], database=backend) as stack:
        db = Database.from_url(backend("health"))
        yield Env(
            stack,
            HealthInsuranceStub(stack.channel("health", as_identity="operator")),
            ProviderStub(stack.channel("health", as_identity="registry")),
            RegistryStub(stack.channel("registry", as_identity="municipality")),
            db,
        )
        db.dispose()


def enrol_request(resident: Resident, **overrides: Any) -> pb.EnrolRequest:
    values: dict[str, Any] = {
        "my_number": resident.my_number,
        "facts": resident.facts,
        "insurer_number": KYOKAI,
        "plan": pb.PLAN_TYPE_KYOKAI_KENPO,
        "insured": pb.InsuredNumber(symbol="5012", number="318", branch="00"),
        "valid_from": f"{LAST_YEAR - 1}-04-01",
        "income_category": pb.INCOME_CATEGORY_GENERAL,
    }
    values.update(overrides)
    return pb.EnrolRequest(**values)


def provide(env: Env, token: str, item: str, params: dict[str, Any] | None = None) -> dict:
    request = exchange_pb2.ProvideRequest(
        token=token,
        item=item,
        procedure="portal.my_information",
        request_id=uuid.uuid4().hex,
        requester="portal",
        params=to_struct(params),
        recipient=recipient(env.stack.var, "portal"),
    )
    return open_provided(env.stack.var, "health", request, env.provider.Provide(request))


def test_enrol_and_check_eligibility(env: Env) -> None:
    hanako = env.register(
        "山田 花子", "1988-09-14", registry_pb2.SEX_FEMALE, "東京都千代田区千代田1-1"
    )
    enrolled = env.api.Enrol(enrol_request(hanako, idempotency_key="enrol-hanako"))
    assert enrolled.token and enrolled.token != hanako.municipality_token
    assert enrolled.copay_percent == 30
    # A retry with the same key is the same enrolment.
    assert env.api.Enrol(enrol_request(hanako, idempotency_key="enrol-hanako")) == enrolled

    by_token = env.api.CheckEligibility(
        pb.CheckEligibilityRequest(token=enrolled.token, checked_by="さくら内科クリニック")
    )
    assert by_token.status == pb.COVERAGE_STATUS_ACTIVE
    assert by_token.plan == pb.PLAN_TYPE_KYOKAI_KENPO
    assert by_token.copay_percent == 30
    assert by_token.insured == pb.InsuredNumber(symbol="5012", number="318", branch="00")

    by_card = env.api.CheckEligibility(
        pb.CheckEligibilityRequest(
            insured=pb.InsuredRef(
                insurer_number=KYOKAI,
                insured=pb.InsuredNumber(symbol="５０１２", number="318", branch="00"),
            ),
            checked_by="1312345",
        )
    )
    assert by_card.token == enrolled.token
    assert by_card.status == pb.COVERAGE_STATUS_ACTIVE
    assert by_card.check_id != by_token.check_id
    assert env.count(models.EligibilityCheck) == 2

    # A pre-school child on National Health Insurance pays 20%; a 75-year-old in 後期 10%.
    child = env.register(
        "佐藤 陽太", f"{TODAY.year - 3}-02-11", registry_pb2.SEX_MALE, "東京都千代田区麹町2-3"
    )
    child_cov = env.api.Enrol(
        enrol_request(
            child,
            insurer_number=NHI,
            plan=pb.PLAN_TYPE_NATIONAL_HEALTH_INSURANCE,
            insured=pb.InsuredNumber(symbol="千代田", number="40217", branch="02"),
            valid_from=child.facts.birth_date,
        )
    )
    assert child_cov.copay_percent == 20
    elder = env.register("鈴木 一郎", "1946-05-03", registry_pb2.SEX_MALE, "東京都千代田区神田3-4")
    elder_cov = env.api.Enrol(
        enrol_request(
            elder,
            insurer_number=make_insurer_number("3913001"),
            plan=pb.PLAN_TYPE_LATE_ELDERLY,
            insured=pb.InsuredNumber(symbol="-", number="1020304", branch="00"),
            valid_from="2021-05-03",
        )
    )
    assert elder_cov.copay_percent == 10
    # His earlier 国保 coverage, open-ended on paper, ended on the eve of his 75th birthday.
    nhi_card = pb.InsuredNumber(symbol="千代田", number="11873", branch="01")
    env.api.Enrol(
        enrol_request(
            elder,
            insurer_number=NHI,
            plan=pb.PLAN_TYPE_NATIONAL_HEALTH_INSURANCE,
            insured=nhi_card,
            valid_from="2011-04-01",
        )
    )
    old_card = env.api.CheckEligibility(
        pb.CheckEligibilityRequest(
            insured=pb.InsuredRef(insurer_number=NHI, insured=nhi_card), checked_by="神田眼科"
        )
    )
    assert old_card.status == pb.COVERAGE_STATUS_LAPSED
    assert old_card.valid_to == "2021-05-02"
    assert old_card.copay_percent == 0
    current = env.api.CheckEligibility(
        pb.CheckEligibilityRequest(token=elder_cov.token, checked_by="神田眼科")
    )
    assert (current.plan, current.copay_percent) == (pb.PLAN_TYPE_LATE_ELDERLY, 10)

    # Before the coverage starts it is pending, with no copay.
    before_start = env.api.CheckEligibility(
        pb.CheckEligibilityRequest(
            token=enrolled.token, on_date=f"{LAST_YEAR - 2}-12-01", checked_by="みなと歯科"
        )
    )
    assert before_start.status == pb.COVERAGE_STATUS_PENDING
    assert before_start.copay_percent == 0


def test_bad_inputs_are_rejected_and_nothing_is_stored(env: Env) -> None:
    ken = env.register("田中 健", "1979-12-01", registry_pb2.SEX_MALE, "大阪府大阪市北区梅田1-2-3")
    before = env.counts()
    wrong_digit = KYOKAI[:-1] + str((int(KYOKAI[-1]) + 1) % 10)
    bad_enrolments = [
        (enrol_request(ken, my_number=ken.my_number[:-1] + "x"), "digit"),
        (enrol_request(ken, insurer_number=wrong_digit), "check digit"),
        (enrol_request(ken, plan=pb.PLAN_TYPE_UNSPECIFIED), "plan"),
        (enrol_request(ken, insurer_number=NHI), "8-digit"),
        (
            enrol_request(ken, insured=pb.InsuredNumber(symbol="5012", number="318", branch="1")),
            "枝番",
        ),
        (enrol_request(ken, valid_from="2024-02-30"), "valid_from"),
        (
            enrol_request(
                ken,
                facts=registry_pb2.BasicFacts(
                    name="田中 健",
                    birth_date="1979-12-02",
                    sex=registry_pb2.SEX_MALE,
                    address=ken.facts.address,
                ),
            ),
            "",
        ),
    ]
    for request, message in bad_enrolments:
        with pytest.raises(grpc.RpcError) as info:
            env.api.Enrol(request)
        code = info.value.code()
        assert code in (
            grpc.StatusCode.INVALID_ARGUMENT,
            grpc.StatusCode.FAILED_PRECONDITION,
            grpc.StatusCode.NOT_FOUND,
            grpc.StatusCode.PERMISSION_DENIED,
        ), code
        assert message in (info.value.details() or "")
        assert ken.my_number not in (info.value.details() or "")
    assert env.counts() == before

    token = env.api.Enrol(enrol_request(ken)).token
    before = env.counts()
    bad_calls: list[Callable[[], Any]] = [
        lambda: env.api.CheckEligibility(pb.CheckEligibilityRequest(checked_by="x")),
        lambda: env.api.CheckEligibility(pb.CheckEligibilityRequest(token=token)),
        lambda: env.api.CheckEligibility(
            pb.CheckEligibilityRequest(token=token, on_date="yesterday", checked_by="x")
        ),
        lambda: env.api.RecordMedicalExpense(
            pb.RecordMedicalExpenseRequest(
                token=token,
                date=f"{LAST_YEAR}-05-01",
                provider="みなと歯科",
                amount_yen=-5,
                category=pb.EXPENSE_CATEGORY_DENTAL,
            )
        ),
        lambda: env.api.RecordMedicalExpense(
            pb.RecordMedicalExpenseRequest(
                token=token,
                date=f"{LAST_YEAR}-05-01",
                provider="みなと歯科",
                amount_yen=500,
            )
        ),
        lambda: env.api.RecordMedicalExpense(
            pb.RecordMedicalExpenseRequest(
                token=token,
                date=f"{TODAY.year + 1}-01-01",
                provider="みなと歯科",
                amount_yen=500,
                category=pb.EXPENSE_CATEGORY_DENTAL,
            )
        ),
        lambda: env.api.RecordVaccination(
            pb.RecordVaccinationRequest(token=token, vaccine="unknown", dose=1, date="2024-10-01")
        ),
        lambda: env.api.RecordVaccination(
            pb.RecordVaccinationRequest(token=token, vaccine="influenza", dose=0, date="2024-10-01")
        ),
        lambda: env.api.SetCareFlags(pb.SetCareFlagsRequest(token=token, disability_grade=9)),
        lambda: env.api.SetCareFlags(
            pb.SetCareFlagsRequest(token=token, chronic_care=[pb.CHRONIC_CARE_UNSPECIFIED])
        ),
        lambda: env.api.NotifyVaccinationDue(
            pb.NotifyVaccinationDueRequest(token=token, vaccine="influenza", due_by="2000-01-01")
        ),
    ]
    for call in bad_calls:
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    # Unknown people and cards are NOT_FOUND, and a clinic cannot call the Provider.
    for call in [
        lambda: env.api.RecordVaccination(
            pb.RecordVaccinationRequest(
                token="nope", vaccine="influenza", dose=1, date="2024-10-01"
            )
        ),
        lambda: env.api.CheckEligibility(
            pb.CheckEligibilityRequest(
                insured=pb.InsuredRef(
                    insurer_number=KYOKAI,
                    insured=pb.InsuredNumber(symbol="5012", number="999", branch="00"),
                ),
                checked_by="x",
            )
        ),
    ]:
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
    clinic_provider = ProviderStub(env.stack.channel("health", as_identity="operator"))
    with pytest.raises(grpc.RpcError) as info:
        clinic_provider.Provide(exchange_pb2.ProvideRequest(token=token, item="coverage"))
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert env.counts() == before


def test_records_and_every_provided_item(env: Env) -> None:
    yui = env.register(
        "高橋 結衣", "1992-03-27", registry_pb2.SEX_FEMALE, "神奈川県横浜市中区本町6-50"
    )
    token = env.api.Enrol(enrol_request(yui)).token
    visits = [
        (f"{LAST_YEAR}-02-14", "さくら内科クリニック", 2_860, pb.EXPENSE_CATEGORY_OUTPATIENT),
        (f"{LAST_YEAR}-02-14", "あおば薬局", 1_230, pb.EXPENSE_CATEGORY_PHARMACY),
        (f"{LAST_YEAR}-09-30", "みなと歯科", 4_410, pb.EXPENSE_CATEGORY_DENTAL),
        (f"{TODAY.year}-01-08", "横浜市民病院", 58_900, pb.EXPENSE_CATEGORY_INPATIENT),
    ]
    for i, (date, provider, amount, category) in enumerate(visits):
        env.api.RecordMedicalExpense(
            pb.RecordMedicalExpenseRequest(
                token=token,
                date=date,
                provider=provider,
                amount_yen=amount,
                category=category,
                idempotency_key=f"exp-{i}",
            )
        )
    # A retried write takes effect once.
    env.api.RecordMedicalExpense(
        pb.RecordMedicalExpenseRequest(
            token=token,
            date=visits[0][0],
            provider=visits[0][1],
            amount_yen=visits[0][2],
            category=visits[0][3],
            idempotency_key="exp-0",
        )
    )
    env.api.RecordVaccination(
        pb.RecordVaccinationRequest(
            token=token, vaccine="influenza", dose=1, date=f"{LAST_YEAR}-11-02"
        )
    )
    env.api.RecordVaccination(
        pb.RecordVaccinationRequest(
            token=token, vaccine="covid19", dose=7, date=f"{LAST_YEAR}-10-15"
        )
    )
    env.api.SetCareFlags(
        pb.SetCareFlagsRequest(
            token=token,
            disability_grade=1,
            chronic_care=[pb.CHRONIC_CARE_DIALYSIS, pb.CHRONIC_CARE_OXYGEN_THERAPY],
            needs_evacuation_assistance=True,
        )
    )

    expenses = provide(env, token, "medical_expenses", {"year": LAST_YEAR})
    assert expenses["total_yen"] == 2_860 + 1_230 + 4_410
    assert sorted(v["provider"] for v in expenses["visits"]) == sorted(
        ["さくら内科クリニック", "あおば薬局", "みなと歯科"]
    )
    assert [v["date"] for v in expenses["visits"]][-1] == f"{LAST_YEAR}-09-30"
    assert {v["category"] for v in expenses["visits"]} == {"outpatient", "pharmacy", "dental"}
    assert provide(env, token, "medical_expenses", {"year": TODAY.year})["total_yen"] == 58_900
    empty = provide(env, token, "medical_expenses", {"year": LAST_YEAR - 3})
    assert empty == {"year": LAST_YEAR - 3, "total_yen": 0, "visits": []}
    with pytest.raises(grpc.RpcError) as info:
        provide(env, token, "medical_expenses")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    coverage = provide(env, token, "coverage")
    assert coverage["current"]["status"] == "active"
    assert coverage["current"]["plan"] == "kyokai_kenpo"
    assert coverage["current"]["copay_percent"] == 30
    assert coverage["current"]["insurer_number"] == KYOKAI
    assert len(coverage["periods"]) == 1

    assert provide(env, token, "care_flags") == {
        "disability_grade": 1,
        "chronic_care": ["dialysis", "oxygen_therapy"],
        "needs_evacuation_assistance": True,
    }
    vaccinations = provide(env, token, "vaccinations")["vaccinations"]
    assert [(v["vaccine"], v["dose"]) for v in vaccinations] == [("covid19", 7), ("influenza", 1)]

    with pytest.raises(grpc.RpcError) as info:
        provide(env, token, "income")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as info:
        provide(env, "someone-else", "coverage")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND

    # The same data through the hub, as the tax office's medical-expense deduction.
    tax_registry = RegistryStub(env.stack.channel("registry", as_identity="tax"))
    tax_token = tax_registry.Link(
        registry_pb2.LinkRequest(my_number=yui.my_number, facts=yui.facts)
    ).token
    hub = HubStub(env.stack.channel("registry", as_identity="tax"))
    ask = registry_pb2.QueryRequest(
        token=tax_token,
        provider="health",
        item="medical_expenses",
        procedure="tax.medical_deduction",
        request_id=uuid.uuid4().hex,
        params=to_struct({"year": LAST_YEAR}),
    )
    answer = open_query(env.stack.var, "tax", ask, hub.Query(ask))
    assert answer["total_yen"] == 2_860 + 1_230 + 4_410
    # Tax may not read care flags: the access-rights table has no such row.
    with pytest.raises(grpc.RpcError) as info:
        hub.Query(
            registry_pb2.QueryRequest(
                token=tax_token,
                provider="health",
                item="care_flags",
                procedure="tax.medical_deduction",
                request_id=uuid.uuid4().hex,
            )
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


def _address_event(env: Env, token: str, address: str) -> exchange_pb2.DeliverRequest:
    """An address change as the hub delivers it: sealed by the municipality to health."""
    event_id = uuid.uuid4().hex
    return exchange_pb2.DeliverRequest(
        token=token,
        event_type="address_changed",
        event_id=event_id,
        publisher="municipality",
        procedure="municipality.moving_onestop",
        sealed_payload=sealed_payload(
            env.stack.var,
            publisher="municipality",
            receiver="health",
            event_type="address_changed",
            event_id=event_id,
            procedure="municipality.moving_onestop",
            payload={"address": address},
        ),
    )


def test_address_change_is_applied_once_and_notices_are_relayed(env: Env) -> None:
    mao = env.register(
        "伊藤 真央", "2001-07-07", registry_pb2.SEX_FEMALE, "福岡県福岡市中央区天神1-1"
    )
    token = env.api.Enrol(enrol_request(mao)).token
    event = _address_event(env, token, "福岡県福岡市博多区博多駅前2-2")
    assert env.provider.Deliver(event).applied is True
    assert env.provider.Deliver(event).applied is False
    with env.db.transaction() as session:
        insured = session.scalars(select(models.Insured)).one()
        assert insured.address == "福岡県福岡市博多区博多駅前2-2"
        assert insured.address_version == 1
    bad = _address_event(env, token, "")
    with pytest.raises(grpc.RpcError) as info:
        env.provider.Deliver(bad)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert env.count(models.ProcessedEvent) == 1

    # Published by the municipality through the real hub, and redelivered: still once.
    hub = HubStub(env.stack.channel("registry", as_identity="municipality"))
    move_id = uuid.uuid4().hex
    publish = registry_pb2.PublishRequest(
        token=mao.municipality_token,
        event_type="address_changed",
        event_id=move_id,
        procedure="municipality.moving_onestop",
        sealed_payloads=sealed_payloads(
            env.stack.var,
            ["health"],
            publisher="municipality",
            event_type="address_changed",
            event_id=move_id,
            procedure="municipality.moving_onestop",
            payload={"address": "福岡県北九州市小倉北区城内1-1"},
        ),
    )
    assert "health" in hub.Publish(publish).delivered_to
    hub.Publish(publish)
    with env.db.transaction() as session:
        insured = session.scalars(select(models.Insured)).one()
        assert insured.address == "福岡県北九州市小倉北区城内1-1"
        assert insured.address_version == 2

    # A vaccination notice goes through the outbox and the relay publishes it.
    notice = env.api.NotifyVaccinationDue(
        pb.NotifyVaccinationDueRequest(
            token=token, vaccine="hpv", due_by=f"{TODAY.year + 1}-03-31", idempotency_key="hpv-1"
        )
    )
    again = env.api.NotifyVaccinationDue(
        pb.NotifyVaccinationDueRequest(
            token=token, vaccine="hpv", due_by=f"{TODAY.year + 1}-03-31", idempotency_key="hpv-1"
        )
    )
    assert again.notice_id == notice.notice_id
    deadline = time.monotonic() + 10
    delivered_at = None
    while time.monotonic() < deadline:
        with env.db.transaction() as session:
            row = session.get(models.OutboxEvent, notice.notice_id)
            assert row is not None
            delivered_at = row.delivered_at
        if delivered_at is not None:
            break
        time.sleep(0.1)
    assert delivered_at is not None, "the relay did not publish the notice"
    assert env.count(models.OutboxEvent) == 1
