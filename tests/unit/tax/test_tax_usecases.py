"""Tax use cases against SQLite with a fake registry (no network)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import func, select

from mynumber_core import errors
from mynumber_core.db import Database
from mynumber_core.provider import DeliveredEvent, ProvideCall
from services.tax import domain
from services.tax.models import IncomeYear, OutboxEvent, Payment, RefundRow, Taxpayer
from services.tax.usecases import TaxService
from tests.support.fake_registry import FakeRegistry
from tests.unit.tax.conftest import NUMBER, TODAY, identity


def _count(db: Database, model: Any) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _token(registry: FakeRegistry) -> str:
    return registry.link(NUMBER, identity().facts)


def _call(token: str, item: str, **params: Any) -> ProvideCall:
    return ProvideCall(token, item, "pension.exemption", "pension", "r1", params)


def _portal(registry: FakeRegistry) -> None:
    registry.answers[("portal", "payout_account")] = lambda c: {
        "bank_code": "0009",
        "account_number": "7654321",
        "holder_kana": "サトウ ハナコ",
    }
    registry.answers[("municipality", "basic_facts")] = lambda c: {
        "address": "横浜市",
        "status": "active",
    }


def test_registration_is_idempotent_and_stores_no_number(service: TaxService, db: Database) -> None:
    ref, again = service.register(identity())
    assert not again and len(ref) == 8
    assert service.register(identity()) == (ref, True)
    with db.engine.connect() as conn:
        dump = "\n".join(str(r) for r in conn.exec_driver_sql("SELECT * FROM taxpayers"))
    assert NUMBER not in dump and "横浜" not in dump


def test_bad_identity_is_refused_before_linking(service: TaxService, db: Database) -> None:
    from mynumber_core.facts import FormIdentity

    with pytest.raises(errors.InvalidInput):
        FormIdentity.parse("111222333445", "佐藤 花子", "1985-02-03", "female", "横浜市")
    assert _count(db, Taxpayer) == 0


@pytest.mark.parametrize(
    ("year", "amounts"),
    [(2014, (1, 0, 0, 0)), (2027, (1, 0, 0, 0)), (2025, (-1, 0, 0, 0)), (2025, (0, 0, 10**12, 0))],
)
def test_bad_income_changes_nothing(
    service: TaxService, db: Database, year: int, amounts: tuple[int, int, int, int]
) -> None:
    ref, _ = service.register(identity())
    with pytest.raises(errors.InvalidInput):
        service.record_income(ref, year, *amounts)
    assert _count(db, IncomeYear) == 0


def test_income_item_and_not_found(service: TaxService, registry: FakeRegistry) -> None:
    ref, _ = service.register(identity())
    service.record_income(ref, 2025, 3_000_000, 200_000, 60_000, 450_000)
    item = service.provide_income(_call(_token(registry), "income", year=2025))
    assert item["total_income"] == 3_000_000 - 980_000 + 200_000
    assert item["social_insurance"] == 450_000 and not item["assessed"]
    with pytest.raises(errors.NotFound, match="no income on record for 2023"):
        service.provide_income(_call(_token(registry), "income", year=2023))
    with pytest.raises(errors.InvalidInput, match="year"):
        service.provide_income(_call(_token(registry), "income"))
    with pytest.raises(errors.NotFound):
        service.provide_income(_call("tok-nobody", "income", year=2025))


def test_assessment_uses_medical_expenses_from_the_insurer(
    service: TaxService, registry: FakeRegistry
) -> None:
    ref, _ = service.register(identity())
    service.record_income(ref, 2024, 5_000_000, 0, 150_000, 700_000)
    plain = service.assess_year(ref, 2024)
    assert not plain.medical_data_found and plain.computation.medical_deduction == 0
    registry.answers[("health", "medical_expenses")] = lambda c: {
        "year": c["params"]["year"],
        "total_yen": 350_000,
        "visits": [],
    }
    with_medical = service.assess_year(ref, 2024)
    assert with_medical.medical_data_found
    assert with_medical.computation.medical_deduction == 250_000
    assert with_medical.computation.refund == 32_100
    asked = registry.queries[-1]
    assert (asked["provider"], asked["procedure"], asked["params"]) == (
        "health",
        "tax.medical_deduction",
        {"year": 2024},
    )
    assert (
        service.provide_income(_call(_token(registry), "income", year=2024))["taxable_income"]
        == 2_130_000
    )


def test_assessment_needs_income(service: TaxService) -> None:
    ref, _ = service.register(identity())
    with pytest.raises(errors.NotFound, match="record it first"):
        service.assess_year(ref, 2024)


def test_refund_flow_and_idempotence(
    service: TaxService, registry: FakeRegistry, db: Database
) -> None:
    ref, _ = service.register(identity())
    service.record_income(ref, 2024, 5_000_000, 0, 150_000, 700_000)
    with pytest.raises(errors.FailedPrecondition, match="assess it first"):
        service.issue_refund(ref, 2024)
    service.assess_year(ref, 2024)
    _portal(registry)
    refund = service.issue_refund(ref, 2024)
    assert refund.amount == 150_000 - 143_400  # taxable 2,380,000: 140,500 + 2.1%
    assert refund.released and refund.account_reference == "0009-***-****321"
    assert [q["procedure"] for q in registry.queries[-2:]] == ["tax.refund", "tax.refund"]
    again = service.issue_refund(ref, 2024)
    assert again.already_issued and again.refund_id == refund.refund_id
    with db.transaction() as session:
        doc = session.scalars(select(OutboxEvent)).one()
        payload = json.loads(doc.payload)
    assert doc.procedure == "tax.refund" and payload["document_type"] == "tax.refund_notice"
    assert "還付" in payload["body_ja"] and "refund" in payload["body_en"]
    with pytest.raises(errors.FailedPrecondition, match="already issued"):
        service.record_income(ref, 2024, 1, 0, 0, 0)


def test_refund_amount_matches_the_assessment(service: TaxService, registry: FakeRegistry) -> None:
    ref, _ = service.register(identity())
    service.record_income(ref, 2024, 5_000_000, 0, 150_000, 700_000)
    assessed = service.assess_year(ref, 2024).computation
    _portal(registry)
    assert service.issue_refund(ref, 2024).amount == assessed.refund


def test_a_payout_policy_can_hold_the_refund(db: Database, registry: FakeRegistry) -> None:
    class Hold(domain.PayoutPolicy):
        def decide(
            self, account: Mapping[str, Any], facts: Mapping[str, Any] | None = None
        ) -> domain.PayoutDecision:
            return domain.PayoutDecision(False, "the payout account changed 3 days ago")

    service = TaxService(db, registry, payout_policy=Hold(), today=lambda: TODAY)
    ref, _ = service.register(identity())
    service.record_income(ref, 2024, 2_000_000, 0, 200_000, 0)
    service.assess_year(ref, 2024)
    _portal(registry)
    refund = service.issue_refund(ref, 2024)
    assert not refund.released and "changed" in refund.hold_reason
    with db.transaction() as session:
        assert session.scalars(select(RefundRow)).one().status == "held"


def test_no_refund_when_tax_is_due(
    service: TaxService, registry: FakeRegistry, db: Database
) -> None:
    ref, _ = service.register(identity())
    service.record_income(ref, 2025, 0, 6_000_000, 0, 800_000)
    due = service.assess_year(ref, 2025).computation
    assert due.due > 0 and due.refund == 0
    with pytest.raises(errors.FailedPrecondition, match="no refund"):
        service.issue_refund(ref, 2025)
    assert registry.queries[-1]["provider"] == "health"  # the portal was never asked
    items = service.provide_amounts_due(_call(_token(registry), "amounts_due"))
    assert items["items"][0]["item_id"] == "IT-2025" and items["total"] == due.due
    assert items["items"][0]["due_date"] == "2026-03-15"


def test_payments_are_recorded_once_and_validated(
    service: TaxService, registry: FakeRegistry, db: Database
) -> None:
    ref, _ = service.register(identity())
    service.record_income(ref, 2025, 0, 6_000_000, 0, 800_000)
    due = service.assess_year(ref, 2025).computation.due
    token = _token(registry)

    def pay(event_id: str, **payload: Any) -> None:
        with db.transaction() as session:
            service.on_payment(
                session, DeliveredEvent(token, "payment", event_id, "portal", payload)
            )

    pay("p0", item_id="NP-2025-04", amount=17_510)  # pension's item: ignored
    with pytest.raises(errors.InvalidInput, match="exceeds"):
        pay("p1", item_id="IT-2025", amount=due + 1)
    with pytest.raises(errors.InvalidInput):
        pay("p1", item_id="IT-2025", amount=0)
    pay("p1", item_id="IT-2025", amount=due)
    assert _count(db, Payment) == 1
    with pytest.raises(errors.FailedPrecondition, match="nothing left"):
        pay("p2", item_id="IT-2025", amount=1)
    assert service.provide_amounts_due(_call(token, "amounts_due"))["items"] == []
    summary = service.provide_tax_summary(_call(token, "tax_summary"))
    assert summary["years"][0]["paid"] == due and summary["years"][0]["due"] == 0


def test_withholding_slip_goes_to_the_inbox(
    service: TaxService, registry: FakeRegistry, db: Database
) -> None:
    ref, _ = service.register(identity())
    service.record_income(ref, 2025, 4_200_000, 0, 98_000, 620_000)
    slip = service.issue_withholding_slip(ref, 2025)
    assert slip.income.employment == 4_200_000 - 1_280_000
    with db.transaction() as session:
        doc = session.get(OutboxEvent, slip.document_id)
        assert doc is not None and doc.procedure == "tax.withholding"
        assert "源泉徴収票" in json.loads(doc.payload)["title_ja"]
    service.record_income(ref, 2024, 0, 3_000_000, 0, 0)
    with pytest.raises(errors.FailedPrecondition, match="no employment income"):
        service.issue_withholding_slip(ref, 2024)


def test_address_changed_updates_the_encrypted_address(
    service: TaxService, registry: FakeRegistry, db: Database
) -> None:
    service.register(identity())
    event = DeliveredEvent(
        _token(registry),
        "address_changed",
        "e1",
        "municipality",
        {"address": "札幌市中央区北1条西2丁目"},
    )
    with db.transaction() as session:
        service.on_address_changed(session, event)
    with db.transaction() as session:
        assert session.scalars(select(Taxpayer)).one().address == "札幌市中央区北1条西2丁目"
