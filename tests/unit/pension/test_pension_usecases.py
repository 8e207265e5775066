"""Pension use cases against SQLite with a fake registry (no network)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from structlog.testing import capture_logs

from mynumber_core import errors
from mynumber_core.db import Database
from mynumber_core.provider import DeliveredEvent, ProvideCall
from services.pension.cards import CardHolder, CardSignature
from services.pension.domain import ExemptionLevel
from services.pension.models import (
    Alert,
    Claim,
    ContributionMonth,
    Enrolment,
    ExemptionApplication,
    OutboxEvent,
    PendingApplication,
)
from services.pension.usecases import PensionService
from tests.support.fake_registry import FakeRegistry
from tests.unit.pension.conftest import NUMBER, identity


def _count(db: Database, model: Any) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _answer_income(registry: FakeRegistry, total: int, social: int = 0) -> None:
    registry.answers[("tax", "income")] = lambda call: {
        "year": call["params"]["year"],
        "total_income": total,
        "social_insurance": social,
    }
    registry.answers[("municipality", "household")] = lambda call: {
        "is_householder": True,
        "size": 1,
        "members": [{"relationship": "世帯主", "birth_year": 1990, "is_subject": True}],
    }


def _call(token: str, item: str, **params: Any) -> ProvideCall:
    return ProvideCall(token, item, "portal.payments", "portal", "r1", params)


def _event(token: str, event_type: str, event_id: str, **payload: Any) -> DeliveredEvent:
    return DeliveredEvent(token, event_type, event_id, "portal", payload)


def test_enrolment_is_idempotent_per_person(service: PensionService, db: Database) -> None:
    number, again = service.enrol(identity(), 1, "2025-04-01")
    assert not again
    same, again = service.enrol(identity(), 1, "2025-04-01")
    assert (same, again) == (number, True)
    other, _ = service.enrol(identity("987654321093"), 1)
    assert other != number
    assert _count(db, Enrolment) == 2


def test_enrolment_stores_no_my_number(service: PensionService, db: Database) -> None:
    service.enrol(identity(), 1, "2025-04-01")
    with db.engine.connect() as conn:
        dump = "\n".join(str(row) for row in conn.exec_driver_sql("SELECT * FROM enrolments"))
    assert NUMBER not in dump
    assert "千代田" not in dump  # the address is encrypted


@pytest.mark.parametrize(
    ("category", "enrolled_on", "message"),
    [
        (4, "", "category must be 1, 2 or 3"),
        (1, "2025-02-30", "enrolled_on"),
        (1, "2030-01-01", "future"),
    ],
)
def test_bad_enrolments_change_nothing(
    service: PensionService,
    db: Database,
    registry: FakeRegistry,
    category: int,
    enrolled_on: str,
    message: str,
) -> None:
    with pytest.raises(errors.InvalidInput, match=message):
        service.enrol(identity(), category, enrolled_on)
    assert _count(db, Enrolment) == 0
    assert registry.links == []


def test_under_twenty_cannot_be_category_one(service: PensionService) -> None:
    with pytest.raises(errors.InvalidInput, match="at least 20"):
        service.enrol(identity(birth_date="2010-01-01"), 1)


def test_contributions_fill_open_months_and_receipts_are_idempotent(
    service: PensionService, db: Database
) -> None:
    number, _ = service.enrol(identity(), 1, "2025-04-01")
    assert service.record_contribution(number, 2025, 3, 3 * 17_510, "R-1") == (3, 3, False)
    assert service.record_contribution(number, 2025, 3, 3 * 17_510, "R-1") == (3, 3, True)
    assert service.record_contribution(number, 2025, 9, 9 * 17_510, "R-2") == (12, 12, False)
    with pytest.raises(errors.Conflict):
        service.record_contribution(number, 2024, 1, 16_980, "R-2")
    record = service.get_record(number)
    assert record.contribution_months == 12
    assert record.years[0].amount_paid == 12 * 17_510
    assert _count(db, ContributionMonth) == 12


def test_contributions_before_enrolment_are_refused(service: PensionService) -> None:
    number, _ = service.enrol(identity(), 1, "2025-04-01")
    with pytest.raises(errors.FailedPrecondition, match="0 month"):
        service.record_contribution(number, 2024, 1, 16_980, "R-2")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((2025, 3, 50_000, "R-9"), errors.InvalidInput),
        ((2025, 13, 13 * 17_510, "R-9"), errors.InvalidInput),
        ((1999, 1, 13_300, "R-9"), errors.InvalidInput),
        ((2025, 1, 17_510, "bad id!"), errors.InvalidInput),
    ],
)
def test_bad_contributions_change_nothing(
    service: PensionService, db: Database, args: tuple[Any, ...], error: type[Exception]
) -> None:
    number, _ = service.enrol(identity(), 1, "2025-04-01")
    with pytest.raises(error):
        service.record_contribution(number, *args)
    assert _count(db, ContributionMonth) == 0


def test_unknown_and_malformed_numbers(service: PensionService) -> None:
    with pytest.raises(errors.NotFound):
        service.get_record("1234-567890")
    with pytest.raises(errors.InvalidInput):
        service.get_record("12-34")


def test_exemption_is_decided_from_the_income_tax_provides(
    service: PensionService, registry: FakeRegistry, db: Database
) -> None:
    number, _ = service.enrol(identity(), 1, "2024-04-01")
    _answer_income(registry, 600_000)
    low = service.apply_exemption(identity(), 2025, "APP-1")
    assert low.level is ExemptionLevel.FULL and low.income == 600_000
    assert low.basic_pension_number == number
    asked = [(q["provider"], q["item"], q["procedure"], q["request_id"]) for q in registry.queries]
    assert asked == [
        ("tax", "income", "pension.exemption", "APP-1:income"),
        ("municipality", "household", "pension.exemption", "APP-1:household"),
    ]
    assert registry.queries[0]["params"] == {"year": 2024}  # previous-year income

    _answer_income(registry, 1_500_000)
    high = service.apply_exemption(identity(), 2026, "APP-2")
    assert high.level is ExemptionLevel.QUARTER

    with db.transaction() as session:
        docs = session.scalars(select(OutboxEvent)).all()
        payloads = [json.loads(d.payload) for d in docs]
    assert [d.procedure for d in docs] == ["pension.exemption"] * 2
    assert {p["document_type"] for p in payloads} == {"pension.exemption_decision"}
    assert all(p["title_ja"] and p["title_en"] and p["body_ja"] and p["body_en"] for p in payloads)
    assert any("全額免除" in p["body_ja"] for p in payloads)


def test_a_retried_application_asks_nothing_again(
    service: PensionService, registry: FakeRegistry, db: Database
) -> None:
    service.enrol(identity(), 1, "2024-04-01")
    _answer_income(registry, 600_000)
    first = service.apply_exemption(identity(), 2025, "APP-1")
    _answer_income(registry, 5_000_000)
    again = service.apply_exemption(identity(), 2025, "APP-1")
    assert again == first
    assert len(registry.queries) == 2
    assert _count(db, OutboxEvent) == 1


def test_exemption_needs_enrolment_and_a_sensible_year(
    service: PensionService, registry: FakeRegistry, db: Database
) -> None:
    _answer_income(registry, 600_000)
    with pytest.raises(errors.FailedPrecondition, match="enrol first"):
        service.apply_exemption(identity(), 2025, "APP-1")
    with pytest.raises(errors.InvalidInput, match="fiscal_year"):
        service.apply_exemption(identity(), 2010, "APP-1")
    assert registry.queries == []
    assert _count(db, ExemptionApplication) == 0


def test_missing_income_fails_the_counter_application_cleanly(
    service: PensionService, registry: FakeRegistry, db: Database
) -> None:
    service.enrol(identity(), 1, "2024-04-01")
    with pytest.raises(errors.NotFound):
        service.apply_exemption(identity(), 2025, "APP-1")
    assert _count(db, ExemptionApplication) == 0
    assert _count(db, OutboxEvent) == 0


def test_full_exemption_counts_months_and_clears_amounts_due(
    service: PensionService, registry: FakeRegistry, db: Database
) -> None:
    service.enrol(identity(), 1, "2026-04-01")
    token = registry.link(NUMBER, identity().facts)
    due = service.provide_amounts_due(_call(token, "amounts_due"))
    assert [i["item_id"] for i in due["items"]][:2] == ["NP-2026-04", "NP-2026-05"]
    assert due["total"] == 8 * 17_920  # April to November 2026
    _answer_income(registry, 100_000)
    service.apply_exemption(identity(), 2026, "APP-1")
    assert service.provide_amounts_due(_call(token, "amounts_due"))["items"] == []
    record = service.provide_pension_record(_call(token, "pension_record"))
    assert record["contribution_months"] == 8
    assert record["exemptions"][0]["level"] == "full"


def test_portal_application_is_queued_then_decided(
    service: PensionService, registry: FakeRegistry, db: Database
) -> None:
    service.enrol(identity(), 1, "2024-04-01")
    token = registry.link(NUMBER, identity().facts)
    _answer_income(registry, 900_000)
    with db.transaction() as session:
        service.accept_portal_application(
            session, _event(token, "application.pension_exemption", "ev-1", fiscal_year=2025)
        )
    assert registry.queries == []  # nothing is asked inside the registry's Deliver call
    with db.transaction() as session:
        row = session.scalars(select(PendingApplication)).one()
        payload = json.loads(row.payload)
    service.decide_portal_application(row, payload)
    with db.transaction() as session:
        decided = session.scalars(select(ExemptionApplication)).one()
    assert (decided.level, decided.channel, decided.application_id) == (
        "half",
        "portal",
        "portal-ev-1",
    )
    assert registry.queries[0]["request_id"] == "portal-ev-1:income"


@pytest.mark.parametrize("payload", [{}, {"fiscal_year": "2025"}, {"fiscal_year": 1999}])
def test_malformed_portal_applications_are_refused(
    service: PensionService, db: Database, payload: dict[str, Any]
) -> None:
    with pytest.raises(errors.InvalidInput), db.transaction() as session:
        service.accept_portal_application(
            session, _event("tok", "application.pension_exemption", "ev-1", **payload)
        )
    assert _count(db, PendingApplication) == 0


def test_portal_application_without_data_is_rejected_with_a_reason(
    service: PensionService, registry: FakeRegistry, db: Database
) -> None:
    class Row:
        token = "tok-unknown"

    service.decide_portal_application(Row(), {"application_id": "A1", "fiscal_year": 2025})
    service.enrol(identity(), 1, "2024-04-01")
    Row.token = registry.link(NUMBER, identity().facts)
    service.decide_portal_application(Row(), {"application_id": "A2", "fiscal_year": 2025})
    with db.transaction() as session:
        rows = {r.application_id: r for r in session.scalars(select(ExemptionApplication))}
    assert rows["A1"].rejected and "not enrolled" in rows["A1"].reason
    assert rows["A2"].rejected and "tax return" in rows["A2"].reason
    assert _count(db, OutboxEvent) == 2


def test_transient_failures_are_left_for_the_retry(
    service: PensionService, registry: FakeRegistry, db: Database
) -> None:
    service.enrol(identity(), 1, "2024-04-01")

    def down(call: dict[str, Any]) -> dict[str, Any]:
        raise errors.Unavailable("registry: tax: unavailable")

    registry.answers[("tax", "income")] = down

    class Row:
        token = registry.link(NUMBER, identity().facts)

    with pytest.raises(errors.Unavailable):
        service.decide_portal_application(Row(), {"application_id": "A1", "fiscal_year": 2025})
    assert _count(db, ExemptionApplication) == 0


class _OwnCard:
    """A card check that says every signature is the claimant's own card."""

    def __init__(self, token: str) -> None:
        self.token = token

    def holder(self, card: CardSignature, message: bytes) -> CardHolder:
        return CardHolder(self.token, "0a1b2c")


def test_claims_use_agency_data(
    service: PensionService, registry: FakeRegistry, db: Database
) -> None:
    number, _ = service.enrol(identity(birth_date="1960-04-01"), 1, "2010-04-01")
    from services.pension.domain import MONTHLY_CONTRIBUTION

    for fy in range(2010, 2020):
        rate = MONTHLY_CONTRIBUTION[fy]
        service.record_contribution(number, fy, 12, 12 * rate, f"R-{fy}")
    registry.answers[("municipality", "basic_facts")] = lambda call: {
        "birth_date": "1960-04-01",
        "status": "active",
    }
    registry.answers[("portal", "payout_account")] = lambda call: {
        "bank_code": "0005",
        "account_number": "1234567",
    }
    token = registry.link(NUMBER, identity().facts)
    service.cards = _OwnCard(token)
    card = CardSignature(b"cert", b"sig", f"{int(time.time())}.{'n' * 16}")
    claim = service.file_claim(number, "C-1", card)
    assert claim.approved and claim.contribution_months == 120 and claim.age == 66
    assert claim.annual_amount == 831_700 * 120 // 480
    assert claim.account_reference == "0005-***-****567"
    assert [q["request_id"] for q in registry.queries] == ["C-1:facts", "C-1:account"]
    assert service.file_claim(number, "C-1") == claim
    assert len(registry.queries) == 2

    registry.answers[("municipality", "basic_facts")] = lambda call: {"birth_date": "1970-01-01"}
    with pytest.raises(errors.AlreadyExists, match="already used"):
        service.file_claim(number, "C-1", card)
    with pytest.raises(errors.AlreadyExists, match="already used"):
        service.file_claim(number, "C-2", card)
    assert _count(db, Claim) == 1 and len(registry.queries) == 2
    retry = CardSignature(b"cert", b"sig", f"{int(time.time())}.{'r' * 16}")
    assert service.file_claim(number, "C-1", retry) == claim
    assert len(registry.queries) == 2
    fresh = CardSignature(b"cert", b"sig", f"{int(time.time())}.{'y' * 16}")
    young = service.file_claim(number, "C-2", fresh)
    assert not young.approved and "below the pension age" in young.reason
    with db.transaction() as session:
        procedures = [e.procedure for e in session.scalars(select(OutboxEvent))]
    assert procedures == ["pension.claim", "pension.claim"]


def test_payments_from_the_portal_mark_one_month(
    service: PensionService, registry: FakeRegistry, db: Database
) -> None:
    service.enrol(identity(), 1, "2026-09-01")
    token = registry.link(NUMBER, identity().facts)
    with db.transaction() as session:
        service.on_payment(
            session, _event(token, "payment", "p1", item_id="NP-2026-10", amount=17_920)
        )
        service.on_payment(session, _event(token, "payment", "p2", item_id="IT-2025", amount=1000))
    due = service.provide_amounts_due(_call(token, "amounts_due"))
    assert [i["item_id"] for i in due["items"]] == ["NP-2026-09", "NP-2026-11"]
    with pytest.raises(errors.InvalidInput, match="17920"), db.transaction() as session:
        service.on_payment(session, _event(token, "payment", "p3", item_id="NP-2026-09", amount=1))
    with pytest.raises(errors.FailedPrecondition), db.transaction() as session:
        service.on_payment(session, _event(token, "payment", "p4", item_id="NP-2020-04", amount=1))
    assert _count(db, ContributionMonth) == 1


def test_address_changes_are_applied_encrypted(
    service: PensionService, registry: FakeRegistry, db: Database
) -> None:
    service.enrol(identity(), 1, "2025-04-01")
    token = registry.link(NUMBER, identity().facts)
    with db.transaction() as session:
        service.on_address_changed(
            session, _event(token, "address_changed", "a1", address="大阪府大阪市北区梅田3-1")
        )
    with db.transaction() as session:
        assert session.scalars(select(Enrolment)).one().address == "大阪府大阪市北区梅田3-1"
    with pytest.raises(errors.InvalidInput), db.transaction() as session:
        service.on_address_changed(session, _event(token, "address_changed", "a2"))


def test_provider_items_for_unknown_people_are_not_found(service: PensionService) -> None:
    with pytest.raises(errors.NotFound, match="no record"):
        service.provide_pension_record(_call("tok-x", "pension_record"))


def test_an_operator_approves_a_shared_account_hold(
    service: PensionService, registry: FakeRegistry, db: Database
) -> None:
    number, _ = service.enrol(identity(birth_date="1960-04-01"), 1, "2010-04-01")
    from services.pension.domain import MONTHLY_CONTRIBUTION

    for fy in range(2010, 2020):
        service.record_contribution(number, fy, 12, 12 * MONTHLY_CONTRIBUTION[fy], f"R-{fy}")
    registry.answers[("municipality", "basic_facts")] = lambda call: {"birth_date": "1960-04-01"}
    account = {"bank_code": "0005", "account_number": "1234567", "shared_with_others": True}
    registry.answers[("portal", "payout_account")] = lambda call: dict(account)
    service.cards = _OwnCard(registry.link(NUMBER, identity().facts))
    card = CardSignature(b"cert", b"sig", f"{int(time.time())}.{'s' * 16}")
    claim = service.file_claim(number, "C-S", card)
    assert claim.approved and claim.payout_status == "held"
    assert service.release_held_payments() == ([], 1)
    (alert,) = service.list_alerts()
    assert alert.subject == "C-S" and alert.approved_at is None

    with pytest.raises(errors.InvalidInput, match="operator_id"):
        service.approve_shared_account(number, alert.id, "clerk")
    with pytest.raises(errors.InvalidInput, match="alert_id"):
        service.approve_shared_account(number, "nope", "K-20417")
    other = "9999-999999" if number != "9999-999999" else "9999-999998"
    with pytest.raises(errors.NotFound):
        service.approve_shared_account(other, alert.id, "K-20417")
    assert service.list_alerts()[0].approved_by is None

    approved = service.approve_shared_account(number, alert.id, "K-20417")
    assert approved.approved_by == "K-20417" and approved.approved_at is not None
    assert service.approve_shared_account(number, alert.id, "K-99999").approved_by == "K-20417"
    # The approval covers the reviewed account only.
    account["account_number"] = "7654321"
    assert service.release_held_payments() == ([], 1)
    account["account_number"] = "1234567"
    with capture_logs() as logs:
        released, still = service.release_held_payments()
    assert [c.claim_id for c in released] == ["C-S"] and still == 0
    # The operator sees the release in the log, with a count and nothing personal.
    assert {"event": "held claim payments released", "count": 1, "log_level": "info"} in logs
    # A payout no longer held has nothing to approve.
    with db.transaction() as session:
        session.add(
            Alert(
                id="f" * 32,
                kind="shared_payout_account",
                basic_pension_number=number,
                subject="C-S",
                detail="claim payment held",
                created_at=approved.created_at,
            )
        )
    with pytest.raises(errors.FailedPrecondition, match="not held"):
        service.approve_shared_account(number, "f" * 32, "K-20417")
