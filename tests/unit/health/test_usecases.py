"""Use cases over a SQLite file with a fake registry: validation, storage, idempotency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mynumber_core import errors
from mynumber_core.db import Database
from mynumber_core.keyring import BlindIndex, FieldCipher, Keyring
from mynumber_core.mynumber import check_digit
from mynumber_core.outbox import OutboxRelay, hub_publisher
from mynumber_core.provider import ProvideCall
from services.health import models
from services.health.domain import (
    ChronicCare,
    CoverageStatus,
    ExpenseCategory,
    IncomeCategory,
    PlanType,
    make_insurer_number,
)
from services.health.usecases import UseCases, bootstrap
from services.health.usecases.context import NOTICE_AUDIENCE, Context
from services.health.usecases.eligibility import InsuredRef
from services.health.usecases.enrolment import EnrolCommand
from tests.support.fake_registry import FakeRegistry, token_for

TODAY = dt.date(2025, 6, 1)
BODY = "12345678901"
MY_NUMBER = BODY + str(check_digit(BODY))
KYOKAI = make_insurer_number("0113001")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    keyring = Keyring.generate(["data", "blind"])
    models.CIPHER.bind(FieldCipher(keyring))
    database = Database.from_url(f"sqlite:///{tmp_path}/health.db")
    models.Base.metadata.create_all(database.engine)
    database.blind = BlindIndex(keyring)  # type: ignore[attr-defined]
    yield database
    database.dispose()


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def insurer(db: Database, registry: FakeRegistry) -> UseCases:
    blind = db.blind  # type: ignore[attr-defined]
    return bootstrap(Context(db, blind, registry, today=lambda: TODAY))


def command(**overrides: Any) -> EnrolCommand:
    base = EnrolCommand(
        my_number=MY_NUMBER,
        name="山田 花子",
        birth_date="1988-09-14",
        sex="female",
        address="東京都千代田区千代田1-1",
        insurer_number=KYOKAI,
        plan=PlanType.KYOKAI_KENPO,
        symbol="5012",
        number="318",
        branch="00",
        valid_from="2024-04-01",
        valid_to="",
        income=IncomeCategory.GENERAL,
        idempotency_key="",
    )
    return replace(base, **overrides)


def count(db: Database, model: type) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_enrol_stores_token_not_number(insurer: UseCases, db: Database) -> None:
    result = insurer.enrolment.enrol(command())
    assert result.token == token_for(MY_NUMBER)
    assert result.copay_percent == 30
    path = Path(str(db.engine.url.database))
    raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    for secret in (MY_NUMBER, "山田", "千代田区", "1988-09-14"):
        assert secret.encode() not in raw
    with db.transaction() as session:
        stored = session.scalars(select(models.Coverage)).one()
        assert stored.number == "318"  # readable through the cipher only


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"my_number": MY_NUMBER[:-1] + str((int(MY_NUMBER[-1]) + 1) % 10)}, "check digit"),
        ({"name": "  "}, "name"),
        ({"birth_date": "1988-02-30"}, "birth_date"),
        ({"sex": "x"}, "sex"),
        ({"insurer_number": KYOKAI[:-1] + str((int(KYOKAI[-1]) + 1) % 10)}, "check digit"),
        ({"insurer_number": make_insurer_number("13805")}, "8-digit"),
        ({"branch": "1"}, "枝番"),
        ({"symbol": "a b"}, "記号"),
        ({"valid_from": "2024/04/01"}, "valid_from"),
        ({"valid_to": "2023-03-31"}, "before valid_from"),
        ({"income": IncomeCategory.CERTAIN_INCOME}, "certain_income"),
        ({"idempotency_key": "k" * 65}, "idempotency_key"),
    ],
)
def test_bad_enrolments_change_nothing(
    insurer: UseCases,
    db: Database,
    registry: FakeRegistry,
    overrides: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(errors.InvalidInput, match=message):
        insurer.enrolment.enrol(command(**overrides))
    assert registry.links == []
    assert count(db, models.Insured) == 0
    assert count(db, models.Coverage) == 0


def test_enrol_is_idempotent_by_key(insurer: UseCases, db: Database) -> None:
    first = insurer.enrolment.enrol(command(idempotency_key="enrol-1"))
    again = insurer.enrolment.enrol(command(idempotency_key="enrol-1"))
    assert again == first
    assert count(db, models.Coverage) == 1


def test_duplicate_insured_number_and_overlap_are_refused(insurer: UseCases, db: Database) -> None:
    insurer.enrolment.enrol(command(valid_to="2025-03-31"))
    with pytest.raises(errors.AlreadyExists):
        insurer.enrolment.enrol(command(valid_from="2025-04-01"))
    with pytest.raises(errors.FailedPrecondition, match="already has coverage"):
        insurer.enrolment.enrol(command(number="319", valid_from="2025-03-01"))
    nhi = make_insurer_number("13805")
    insurer.enrolment.enrol(
        command(
            insurer_number=nhi,
            plan=PlanType.NATIONAL_HEALTH_INSURANCE,
            symbol="千代田",
            number="4471",
            valid_from="2025-04-01",
        )
    )
    assert count(db, models.Coverage) == 2


def test_eligibility_picks_the_coverage_of_the_day(insurer: UseCases, db: Database) -> None:
    token = insurer.enrolment.enrol(command(valid_to="2025-03-31")).token
    nhi = make_insurer_number("13805")
    insurer.enrolment.enrol(
        command(
            insurer_number=nhi,
            plan=PlanType.NATIONAL_HEALTH_INSURANCE,
            symbol="千代田",
            number="4471",
            valid_from="2025-04-01",
        )
    )
    today = insurer.eligibility.check_eligibility(token, "", "さくら内科クリニック")
    assert today.status is CoverageStatus.ACTIVE
    assert today.plan is PlanType.NATIONAL_HEALTH_INSURANCE
    last_year = insurer.eligibility.check_eligibility(token, "2024-12-01", "さくら内科クリニック")
    assert last_year.plan is PlanType.KYOKAI_KENPO
    by_card = insurer.eligibility.check_eligibility(
        InsuredRef(KYOKAI, "5012", "318", "00"), "", "さくら内科クリニック"
    )
    assert by_card.status is CoverageStatus.LAPSED
    assert by_card.copay_percent == 0
    assert by_card.last_day == dt.date(2025, 3, 31)
    assert count(db, models.EligibilityCheck) == 3
    with pytest.raises(errors.NotFound):
        insurer.eligibility.check_eligibility(
            InsuredRef(KYOKAI, "5012", "999", "00"), "", "さくら内科"
        )
    with pytest.raises(errors.InvalidInput):
        insurer.eligibility.check_eligibility(token, "", "")
    assert count(db, models.EligibilityCheck) == 3


def test_expenses_need_coverage_on_the_day(insurer: UseCases, db: Database) -> None:
    token = insurer.enrolment.enrol(command()).token
    insurer.expenses.record_medical_expense(
        token, "2025-05-02", "みなと歯科", 3_240, ExpenseCategory.DENTAL
    )
    with pytest.raises(errors.FailedPrecondition, match="no coverage"):
        insurer.expenses.record_medical_expense(
            token, "2024-03-31", "みなと歯科", 1_000, ExpenseCategory.DENTAL
        )
    bad_inputs: list[dict[str, Any]] = [
        {"date": "2025-06-02"},  # future
        {"amount_yen": 0},
        {"amount_yen": 100_000_001},
        {"provider": " "},
        {"token": ""},
    ]
    for bad in bad_inputs:
        args: dict[str, Any] = {
            "token": token,
            "date": "2025-05-03",
            "provider": "あおば薬局",
            "amount_yen": 500,
            "category": ExpenseCategory.PHARMACY,
        }
        args.update(bad)
        with pytest.raises(errors.InvalidInput):
            insurer.expenses.record_medical_expense(**args)
    with pytest.raises(errors.NotFound):
        insurer.expenses.record_medical_expense(
            "tok-unknown", "2025-05-03", "a", 1, ExpenseCategory.DENTAL
        )
    assert count(db, models.MedicalExpense) == 1
    k1 = insurer.expenses.record_medical_expense(
        token, "2025-05-10", "あおば薬局", 820, ExpenseCategory.PHARMACY, "exp-1"
    )
    k2 = insurer.expenses.record_medical_expense(
        token, "2025-05-10", "あおば薬局", 820, ExpenseCategory.PHARMACY, "exp-1"
    )
    assert k1 == k2
    summary = insurer.provider.item_medical_expenses(
        ProvideCall(token, "medical_expenses", "tax.medical_deduction", "tax", "r1", {"year": 2025})
    )
    assert summary["total_yen"] == 3_240 + 820


def test_vaccinations_and_care_flags(insurer: UseCases, db: Database) -> None:
    token = insurer.enrolment.enrol(command()).token
    insurer.vaccinations.record_vaccination(token, "influenza", 1, "2024-11-05")
    with pytest.raises(errors.InvalidInput, match="vaccine"):
        insurer.vaccinations.record_vaccination(token, "snake-oil", 1, "2024-11-05")
    with pytest.raises(errors.InvalidInput, match="dose"):
        insurer.vaccinations.record_vaccination(token, "influenza", 0, "2024-11-05")
    with pytest.raises(errors.InvalidInput, match="birth"):
        insurer.vaccinations.record_vaccination(token, "bcg", 1, "1980-01-01")
    assert count(db, models.Vaccination) == 1
    insurer.care_flags.set_care_flags(token, 1, [ChronicCare.DIALYSIS, ChronicCare.DIALYSIS], True)
    with pytest.raises(errors.InvalidInput, match="disability_grade"):
        insurer.care_flags.set_care_flags(token, 7, [], False)
    call = ProvideCall(token, "care_flags", "disaster.support_list", "municipality", "r", {})
    assert insurer.provider.item_care_flags(call) == {
        "disability_grade": 1,
        "chronic_care": ["dialysis"],
        "needs_evacuation_assistance": True,
    }


def test_notice_goes_through_the_outbox(
    insurer: UseCases, db: Database, registry: FakeRegistry
) -> None:
    token = insurer.enrolment.enrol(command()).token
    with pytest.raises(errors.InvalidInput, match="past"):
        insurer.vaccinations.notify_vaccination_due(token, "influenza", "2025-05-31")
    notice_id = insurer.vaccinations.notify_vaccination_due(token, "influenza", "2025-12-31", "n-1")
    assert (
        insurer.vaccinations.notify_vaccination_due(token, "influenza", "2025-12-31", "n-1")
        == notice_id
    )
    assert count(db, models.OutboxEvent) == 1
    relay = OutboxRelay("health", db, models.OutboxEvent, hub_publisher(registry, NOTICE_AUDIENCE))
    assert relay.drain() == 1
    assert relay.drain() == 0
    [published] = registry.published
    payload = published["payload"]
    assert tuple(
        published[k] for k in ("token", "event_type", "event_id", "procedure", "audience")
    ) == (
        token,
        "notice",
        notice_id,
        "health.vaccination",
        ["portal"],
    )
    assert payload["due_by"] == "2025-12-31"
    assert "インフルエンザ" in payload["title"]
