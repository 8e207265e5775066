"""The tax service's operations: taxpayers, income, assessment, refunds, slips, events.

Every operation validates its input first (a bad request changes nothing). Data from other
domains comes only through the registry (``RegistryClient``) under the procedure the
access-rights table allows: medical expenses from the insurer (``tax.medical_deduction``),
the payout account from the portal and the address from the municipality (``tax.refund``).
Inbox documents are written to the outbox in the same transaction as the change.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
from mynumber.registry.v1 import registry_pb2 as rpb
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.alerts import parse_alert_id, parse_operator_id, recent_alerts
from mynumber_core.calendar import today_jst
from mynumber_core.db import Database
from mynumber_core.facts import MAX_ADDRESS, FormIdentity
from mynumber_core.outbox import enqueue
from mynumber_core.payout import HOLD_SHARED, mask_account
from mynumber_core.provider import DeliveredEvent, ProvideCall
from mynumber_core.registry_client import RegistryClient
from mynumber_core.rpc_errors import as_domain_error
from services.tax import domain
from services.tax.models import (
    Alert,
    AssessmentRow,
    IncomeYear,
    OutboxEvent,
    Payment,
    RefundRow,
    Taxpayer,
)

log = structlog.get_logger("mynumber.tax")
MEDICAL = "tax.medical_deduction"
SHARED_ACCOUNT = "shared_payout_account"
REFUND = "tax.refund"
WITHHOLDING = "tax.withholding"
INBOX = "inbox.document"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class IncomeView:
    """One year's income as recorded, with the derived figures."""

    reference_number: str
    income: domain.Income


@dataclass(frozen=True)
class AssessmentView:
    """A year's assessment."""

    reference_number: str
    computation: domain.Computation
    medical_data_found: bool


@dataclass(frozen=True)
class RefundView:
    """A refund as recorded."""

    refund_id: str
    reference_number: str
    year: int
    amount: int
    released: bool
    hold_reason: str
    account_reference: str
    already_issued: bool


@dataclass(frozen=True)
class SlipView:
    """A withholding slip sent to the inbox."""

    reference_number: str
    income: domain.Income
    document_id: str


def _inbox(
    document_type: str, title: tuple[str, str], body: tuple[str, str], reference: str
) -> dict[str, Any]:
    """The payload of an ``inbox.document`` event (see services/tax/README.md)."""
    return {
        "document_type": document_type,
        "title_ja": title[0],
        "title_en": title[1],
        "body_ja": body[0],
        "body_en": body[1],
        "sender": "税務署 (tax office)",
        "reference": reference,
    }


class TaxService:
    """The use cases; dependencies are passed in so tests can use fakes."""

    def __init__(
        self,
        db: Database,
        registry: RegistryClient,
        *,
        payout_policy: domain.PayoutPolicy | None = None,
        wake_outbox: Callable[[], None] = lambda: None,
        today: Callable[[], dt.date] = today_jst,
    ) -> None:
        self.db = db
        self.registry = registry
        self.payout_policy = payout_policy or domain.PayoutPolicy()
        self._wake_outbox = wake_outbox
        self._today = today

    # --- taxpayers and income -----------------------------------------------------------

    def register(self, identity: FormIdentity) -> tuple[str, bool]:
        """Link the person, then issue a reference number (idempotent per person)."""
        token = self.registry.link(identity.my_number, identity.facts)
        for _ in range(3):
            try:
                with self.db.transaction() as session:
                    existing = session.scalars(
                        select(Taxpayer).where(Taxpayer.token == token)
                    ).first()
                    if existing is not None:
                        return existing.reference_number, True
                    number = domain.generate_reference_number(
                        lambda n: _by_number(session, n) is not None
                    )
                    now = _now()
                    session.add(
                        Taxpayer(
                            id=uuid.uuid4().hex,
                            reference_number=number,
                            token=token,
                            address=identity.facts.address,
                            created_at=now,
                            updated_at=now,
                        )
                    )
                log.info("taxpayer registered")
                return number, False
            except IntegrityError:
                continue  # a concurrent registration of the same person, or a collision
        raise errors.Conflict("registration raced with another request; retry")

    def _taxpayer(self, session: Session, reference_number: str) -> Taxpayer:
        row = _by_number(session, domain.parse_reference_number(reference_number))
        if row is None:
            raise errors.NotFound("no taxpayer has this reference number")
        return row

    def record_income(
        self,
        reference_number: str,
        year: int,
        salary: int,
        business: int,
        withholding: int,
        social_insurance: int,
    ) -> IncomeView:
        """Record or amend one year's income (not after its refund was paid)."""
        number = domain.parse_reference_number(reference_number)
        domain.check_year(year, self._today())
        for field, value in (
            ("salary_income_yen", salary),
            ("business_income_yen", business),
            ("withholding_yen", withholding),
            ("social_insurance_yen", social_insurance),
        ):
            domain.check_amount(field, value)
        income = domain.Income(year, salary, business, withholding, social_insurance)
        with self.db.transaction() as session:
            taxpayer = self._taxpayer(session, number)
            if _refund(session, taxpayer.id, year) is not None:
                raise errors.FailedPrecondition(
                    f"the {year} refund was already issued; amend through a correction request"
                )
            row = _income_row(session, taxpayer.id, year)
            if row is None:
                row = IncomeYear(taxpayer_id=taxpayer.id, year=year)
                session.add(row)
            row.salary, row.business = salary, business
            row.withholding, row.social_insurance = withholding, social_insurance
            row.recorded_at = _now()
        return IncomeView(number, income)

    # --- assessment -----------------------------------------------------------------------

    def assess_year(self, reference_number: str, year: int) -> AssessmentView:
        """Assess a year with the medical-expense deduction from the insurer's records."""
        number = domain.parse_reference_number(reference_number)
        domain.check_year(year, self._today())
        with self.db.transaction() as session:
            taxpayer = self._taxpayer(session, number)
            income = _income(session, taxpayer.id, year)
            token = taxpayer.token
        expenses, found = self._medical_expenses(token, year)
        with self.db.transaction() as session:
            taxpayer = self._taxpayer(session, number)
            computation = domain.assess(income, expenses, _paid(session, taxpayer.id, year))
            row = session.scalars(
                select(AssessmentRow).where(
                    AssessmentRow.taxpayer_id == taxpayer.id, AssessmentRow.year == year
                )
            ).first()
            if row is None:
                row = AssessmentRow(taxpayer_id=taxpayer.id, year=year)
                session.add(row)
            row.total_income = computation.total_income
            row.basic_deduction = computation.basic_deduction
            row.social_insurance_deduction = computation.social_insurance_deduction
            row.medical_expenses = computation.medical_expenses
            row.medical_deduction = computation.medical_deduction
            row.medical_data_found = found
            row.taxable_income = computation.taxable_income
            row.income_tax = computation.income_tax
            row.tax_total = computation.tax_total
            row.withholding = computation.withholding
            row.assessed_at = _now()
        log.info("year assessed", year=year, refund=computation.refund > 0)
        return AssessmentView(number, computation, found)

    def _medical_expenses(self, token: str, year: int) -> tuple[int, bool]:
        """(expenses, found): NOT_FOUND from the insurer means no deduction."""
        try:
            data = self.registry.query(
                token, "health", "medical_expenses", MEDICAL, uuid.uuid4().hex, {"year": year}
            )
        except errors.NotFound:
            return 0, False
        total = domain.medical_total(data)
        if total is None:
            raise errors.Unavailable("health returned a medical_expenses item without total_yen")
        return total, True

    # --- refunds and slips ----------------------------------------------------------------

    def issue_refund(self, reference_number: str, year: int, claim_pin: str = "") -> RefundView:
        """Pay an assessed refund to the payout account; idempotent per year.

        ``claim_pin`` is the taxpayer's claim PIN, checked at the registry (needed while the
        protect_claims lock is on). The payout policy may hold the refund; a refund stopped
        by the lock is reported to the resident's inbox.
        """
        number = domain.parse_reference_number(reference_number)
        domain.check_year(year, self._today())
        if claim_pin and not (len(claim_pin) == 6 and claim_pin.isascii() and claim_pin.isdigit()):
            raise errors.InvalidInput("claim_pin must be the taxpayer's 6-digit claim PIN")
        with self.db.transaction() as session:
            taxpayer = self._taxpayer(session, number)
            existing = _refund(session, taxpayer.id, year)
            if existing is not None:
                return _refund_view(existing, number, already=True)
            assessment = _assessment(session, taxpayer.id, year)
            if assessment is None:
                raise errors.FailedPrecondition(f"{year} has not been assessed; assess it first")
            amount = max(
                0, assessment.withholding + _paid(session, taxpayer.id, year) - assessment.tax_total
            )
            if amount == 0:
                raise errors.FailedPrecondition(f"the {year} assessment shows no refund")
            token, taxpayer_id = taxpayer.token, taxpayer.id
            moved = taxpayer.address_changed_at
        # A fresh request id per attempt: a refusal (lock, missing PIN) must not be replayed
        # once the taxpayer gives the PIN.
        base = f"refund-{taxpayer_id}-{year}-{uuid.uuid4().hex[:12]}"
        if claim_pin:
            self._verify_pin(token, claim_pin, year)
        try:
            account = self.registry.query(
                token, "portal", "payout_account", REFUND, f"{base}:account"
            )
        except errors.PermissionDenied as exc:
            if "protect_claims" in exc.message:
                self._notify_stopped(token, year, "locked")
            raise
        facts = self.registry.query(token, "municipality", "basic_facts", REFUND, f"{base}:facts")
        decision = self.payout_policy.decide(account, {**facts, "address_changed_at": moved})
        masked = mask_account(account)
        try:
            with self.db.transaction() as session:
                row = RefundRow(
                    id=uuid.uuid4().hex,
                    taxpayer_id=taxpayer_id,
                    year=year,
                    amount=amount,
                    status="released" if decision.release else "held",
                    hold_reason=decision.hold_reason[:200],
                    hold_code=decision.hold_code,
                    account_reference=masked,
                    issued_at=_now(),
                    released_at=_now() if decision.release else None,
                )
                session.add(row)
                session.flush()
                if decision.alert:
                    _alert(session, number, row.id, decision, masked)
                enqueue(
                    session,
                    OutboxEvent,
                    event_type=INBOX,
                    token=token,
                    procedure=REFUND,
                    payload=_refund_document(year, amount, masked, decision, row.id),
                )
                view = _refund_view(row, number, already=False)
        except IntegrityError:
            with self.db.transaction() as session:
                again = _refund(session, taxpayer_id, year)
                if again is None:
                    raise
                return _refund_view(again, number, already=True)
        log.info("refund issued", year=year, released=decision.release)
        self._wake_outbox()
        return view

    def _verify_pin(self, token: str, pin: str, year: int) -> None:
        try:
            self.registry.registry.VerifyClaimPin(
                rpb.VerifyClaimPinRequest(token=token, pin=pin, procedure=REFUND)
            )
        except grpc.RpcError as exc:
            error = as_domain_error(exc, "registry")
            if isinstance(error, errors.PermissionDenied | errors.RateLimited):
                self._notify_stopped(token, year, "wrong_pin")
            raise error from None

    def _notify_stopped(self, token: str, year: int, why: str) -> None:
        """Tell the resident a refund was attempted and stopped (lock, wrong PIN)."""
        ja, en = {
            "locked": ("請求ロック中で暗証番号がありませんでした", "no claim PIN was given"),
            "wrong_pin": ("暗証番号が誤っていました", "the claim PIN was wrong"),
        }[why]
        with self.db.transaction() as session:
            enqueue(
                session,
                OutboxEvent,
                event_type=INBOX,
                token=token,
                procedure=REFUND,
                payload=_inbox(
                    "tax.refund_stopped",
                    (f"{year}年分 還付手続を停止しました", f"A {year} refund was stopped"),
                    (
                        f"還付・請求ロックにより{year}年分の還付手続を停止しました（{ja}）。"
                        "お心当たりのない場合は税務署にご連絡ください。",
                        f"Your refunds-and-claims lock stopped a {year} refund ({en}). If this "
                        "was not you, contact the tax office.",
                    ),
                    f"refund-stopped-{year}",
                ),
            )
        log.info("refund stopped by the resident's lock", reason=why)
        self._wake_outbox()

    def release_held_refunds(self) -> tuple[list[RefundView], int]:
        """The release job: decide every held refund again with a fresh look at the account
        (each look is an exchange in the resident's log). Returns (released, still held)."""
        with self.db.transaction() as session:
            held = [
                (r.id, r.taxpayer_id, r.year)
                for r in session.scalars(select(RefundRow).where(RefundRow.status == "held"))
            ]
        released: list[RefundView] = []
        still = 0
        for refund_id, taxpayer_id, year in held:
            with self.db.transaction() as session:
                taxpayer = session.get(Taxpayer, taxpayer_id)
                assert taxpayer is not None
                token, moved = taxpayer.token, taxpayer.address_changed_at
            base = f"refund-{taxpayer_id}-{year}-recheck-{uuid.uuid4().hex[:12]}"
            try:
                account = self.registry.query(
                    token, "portal", "payout_account", REFUND, f"{base}:account"
                )
            except (errors.NotFound, errors.PermissionDenied):
                still += 1
                continue
            decision = self.payout_policy.decide(account, {"address_changed_at": moved})
            if decision.hold_code == HOLD_SHARED and self._approved(refund_id, account):
                # An operator reviewed this shared account: the other holds still apply.
                decision = self.payout_policy.decide(
                    {**account, "shared_with_others": False}, {"address_changed_at": moved}
                )
            with self.db.transaction() as session:
                row = session.get(RefundRow, refund_id)
                assert row is not None and taxpayer is not None
                if row.status != "held":
                    continue
                if not decision.release:
                    row.hold_reason, row.hold_code = decision.hold_reason[:200], decision.hold_code
                    still += 1
                    continue
                masked = mask_account(account)
                row.status, row.released_at, row.account_reference = "released", _now(), masked
                row.hold_reason, row.hold_code = "", ""
                enqueue(
                    session,
                    OutboxEvent,
                    event_type=INBOX,
                    token=token,
                    procedure=REFUND,
                    payload=_refund_document(year, row.amount, masked, decision, row.id),
                )
                released.append(_refund_view(row, taxpayer.reference_number, already=True))
        if released:
            log.info("held refunds released", count=len(released))
            self._wake_outbox()
        return released, still

    def _approved(self, refund_id: str, account: dict[str, Any]) -> bool:
        """Whether an operator approved this refund's shared account, as it is now."""
        masked = mask_account(account)
        with self.db.transaction() as session:
            return any(
                a.approved_account == masked
                for a in session.scalars(
                    select(Alert).where(
                        Alert.subject == refund_id,
                        Alert.kind == SHARED_ACCOUNT,
                        Alert.approved_at.is_not(None),
                    )
                )
            )

    def approve_shared_account(
        self, reference_number: str, alert_id: str, operator_id: str
    ) -> Alert:
        """An operator approves a refund held for a shared account, after review: who and
        when are recorded; the next release run pays it to the reviewed account (if nothing
        else holds it). Approving again returns the recorded approval."""
        number = domain.parse_reference_number(reference_number)
        aid = parse_alert_id(alert_id)
        operator = parse_operator_id(operator_id)
        with self.db.transaction() as session:
            alert = session.get(Alert, aid)
            if alert is None or alert.reference_number != number:
                raise errors.NotFound("no such alert for this taxpayer")
            if alert.kind != SHARED_ACCOUNT:
                raise errors.FailedPrecondition("only shared-account alerts can be approved")
            if alert.approved_at is not None:
                return alert
            refund = session.get(RefundRow, alert.subject)
            if refund is None or refund.status != "held":
                raise errors.FailedPrecondition("the refund of this alert is no longer held")
            alert.approved_by, alert.approved_at = operator, _now()
            alert.approved_account = refund.account_reference
            session.flush()
        log.info("shared payout account approved by an operator")
        return alert

    def list_alerts(self, limit: int = 100) -> list[Alert]:
        """Operator alerts, newest first."""
        return recent_alerts(self.db, Alert, limit)

    def issue_withholding_slip(self, reference_number: str, year: int) -> SlipView:
        """Send the year's withholding slip to the portal inbox."""
        number = domain.parse_reference_number(reference_number)
        domain.check_year(year, self._today())
        with self.db.transaction() as session:
            taxpayer = self._taxpayer(session, number)
            income = _income(session, taxpayer.id, year)
            if income.salary == 0:
                raise errors.FailedPrecondition(f"no employment income is recorded for {year}")
            document_id = enqueue(
                session,
                OutboxEvent,
                event_type=INBOX,
                token=taxpayer.token,
                procedure=WITHHOLDING,
                payload=_slip_document(income),
            )
        self._wake_outbox()
        return SlipView(number, income, document_id)

    # --- provider items and events --------------------------------------------------------

    def _by_token(self, session: Session, token: str) -> Taxpayer:
        row = session.scalars(select(Taxpayer).where(Taxpayer.token == token)).first()
        if row is None:
            raise errors.NotFound("the tax office holds no record for this person")
        return row

    def provide_income(self, call: ProvideCall) -> dict[str, Any]:
        """Item ``income`` (params: year): total and taxable income of that year."""
        year = call.params.get("year")
        if not isinstance(year, int):
            raise errors.InvalidInput("the income item needs an integer 'year' parameter")
        with self.db.transaction() as session:
            taxpayer = self._by_token(session, call.token)
            row = _income_row(session, taxpayer.id, year)
            if row is None:
                raise errors.NotFound(f"the tax office has no income on record for {year}")
            income = _as_income(row)
            assessment = _assessment(session, taxpayer.id, year)
        taxable = (
            assessment.taxable_income
            if assessment is not None
            else domain.assess(income, 0).taxable_income
        )
        return {
            "year": year,
            "total_income": income.total,
            "taxable_income": taxable,
            "employment_income": income.employment,
            "business_income": income.business,
            "social_insurance": income.social_insurance,
            "assessed": assessment is not None,
        }

    def provide_tax_summary(self, call: ProvideCall) -> dict[str, Any]:
        """Item ``tax_summary``: years on record, tax due and paid, refunds."""
        with self.db.transaction() as session:
            taxpayer = self._by_token(session, call.token)
            incomes = session.scalars(
                select(IncomeYear)
                .where(IncomeYear.taxpayer_id == taxpayer.id)
                .order_by(IncomeYear.year)
            ).all()
            years = []
            for row in incomes:
                assessment = _assessment(session, taxpayer.id, row.year)
                refund = _refund(session, taxpayer.id, row.year)
                paid = _paid(session, taxpayer.id, row.year)
                entry: dict[str, Any] = {
                    "year": row.year,
                    "total_income": _as_income(row).total,
                    "withholding": row.withholding,
                    "paid": paid,
                    "assessed": assessment is not None,
                }
                if assessment is not None:
                    balance = assessment.tax_total - assessment.withholding - paid
                    entry.update(
                        taxable_income=assessment.taxable_income,
                        tax_total=assessment.tax_total,
                        medical_deduction=assessment.medical_deduction,
                        due=max(0, balance),
                        refundable=max(0, -balance),
                    )
                if refund is not None:
                    entry["refund"] = {"amount": refund.amount, "status": refund.status}
                years.append(entry)
        return {"reference_number": taxpayer.reference_number, "years": years}

    def _due_items(self, session: Session, taxpayer: Taxpayer) -> list[dict[str, Any]]:
        rows = session.scalars(
            select(AssessmentRow)
            .where(AssessmentRow.taxpayer_id == taxpayer.id)
            .order_by(AssessmentRow.year)
        ).all()
        items = []
        for row in rows:
            due = row.tax_total - row.withholding - _paid(session, taxpayer.id, row.year)
            if due > 0:
                items.append(
                    {
                        "item_id": domain.item_id(row.year),
                        "description": f"{row.year}年分 申告所得税及復興特別所得税 (income tax)",
                        "year": row.year,
                        "amount": due,
                        "due_date": domain.due_date(row.year).isoformat(),
                    }
                )
        return items

    def provide_amounts_due(self, call: ProvideCall) -> dict[str, Any]:
        """Item ``amounts_due``: unpaid assessed tax as payable items."""
        with self.db.transaction() as session:
            items = self._due_items(session, self._by_token(session, call.token))
        return {"items": items, "total": sum(i["amount"] for i in items)}

    def on_address_changed(self, session: Session, event: DeliveredEvent) -> None:
        """Deliver ``address_changed``: keep the letter address current."""
        address = event.payload.get("address")
        if not isinstance(address, str) or not address.strip():
            raise errors.InvalidInput("address_changed needs the new address in 'address'")
        address = " ".join(address.split())
        if len(address) > MAX_ADDRESS:
            raise errors.InvalidInput(f"address is too long (at most {MAX_ADDRESS} characters)")
        row = session.scalars(select(Taxpayer).where(Taxpayer.token == event.token)).first()
        if row is None:
            log.info("address change for a person without a tax record; nothing to update")
            return
        row.address = address
        row.updated_at = row.address_changed_at = _now()

    def on_payment(self, session: Session, event: DeliveredEvent) -> None:
        """Deliver ``payment``: record a tax payment (other domains' items are skipped)."""
        item = event.payload.get("item_id")
        if not isinstance(item, str) or not item.startswith("IT-"):
            log.info("payment for another domain's item; ignored")
            return
        year = domain.parse_item_id(item)
        amount = event.payload.get("amount")
        if not isinstance(amount, int) or amount <= 0:
            raise errors.InvalidInput("payment amount must be a positive whole number of yen")
        taxpayer = self._by_token(session, event.token)
        due = {i["item_id"]: i["amount"] for i in self._due_items(session, taxpayer)}
        if item not in due:
            raise errors.FailedPrecondition(f"{item} has nothing left to pay")
        if amount > due[item]:
            raise errors.InvalidInput(f"payment exceeds the {due[item]} yen due for {item}")
        session.add(
            Payment(
                id=event.event_id[:64],
                taxpayer_id=taxpayer.id,
                year=year,
                amount=amount,
                paid_at=_now(),
            )
        )


# --- helpers ----------------------------------------------------------------------------


def _by_number(session: Session, number: str) -> Taxpayer | None:
    return session.scalars(select(Taxpayer).where(Taxpayer.reference_number == number)).first()


def _income_row(session: Session, taxpayer_id: str, year: int) -> IncomeYear | None:
    return session.scalars(
        select(IncomeYear).where(IncomeYear.taxpayer_id == taxpayer_id, IncomeYear.year == year)
    ).first()


def _as_income(row: IncomeYear) -> domain.Income:
    return domain.Income(row.year, row.salary, row.business, row.withholding, row.social_insurance)


def _income(session: Session, taxpayer_id: str, year: int) -> domain.Income:
    row = _income_row(session, taxpayer_id, year)
    if row is None:
        raise errors.NotFound(f"no income is recorded for {year}; record it first")
    return _as_income(row)


def _assessment(session: Session, taxpayer_id: str, year: int) -> AssessmentRow | None:
    return session.scalars(
        select(AssessmentRow).where(
            AssessmentRow.taxpayer_id == taxpayer_id, AssessmentRow.year == year
        )
    ).first()


def _refund(session: Session, taxpayer_id: str, year: int) -> RefundRow | None:
    return session.scalars(
        select(RefundRow).where(RefundRow.taxpayer_id == taxpayer_id, RefundRow.year == year)
    ).first()


def _paid(session: Session, taxpayer_id: str, year: int) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.taxpayer_id == taxpayer_id, Payment.year == year
        )
    )
    return int(total or 0)


def _refund_view(row: RefundRow, number: str, *, already: bool) -> RefundView:
    return RefundView(
        refund_id=row.id,
        reference_number=number,
        year=row.year,
        amount=row.amount,
        released=row.status == "released",
        hold_reason=row.hold_reason,
        account_reference=row.account_reference,
        already_issued=already,
    )


def _refund_document(
    year: int, amount: int, masked: str, decision: domain.PayoutDecision, refund_id: str
) -> dict[str, Any]:
    title = (f"{year}年分 所得税の還付について", f"Your {year} income tax refund")
    if decision.release:
        body = (
            f"{year}年分の所得税 {amount:,}円を {masked} に還付します。"
            "お心当たりのない場合は税務署にご連絡ください。",
            f"We are refunding {amount:,} yen of your {year} income tax to {masked}. "
            "If you did not expect this, contact the tax office.",
        )
    else:
        body = (
            f"{year}年分の所得税 {amount:,}円の還付を保留しています（{decision.hold_reason}）。",
            f"Your {year} refund of {amount:,} yen is on hold: {decision.hold_reason}.",
        )
    return _inbox("tax.refund_notice", title, body, refund_id)


def _alert(
    session: Session, number: str, subject: str, decision: domain.PayoutDecision, masked: str
) -> None:
    session.add(
        Alert(
            id=uuid.uuid4().hex,
            kind=SHARED_ACCOUNT,
            reference_number=number,
            subject=subject,
            detail=f"refund to {masked} held: {decision.hold_reason}"[:500],
            created_at=_now(),
        )
    )
    log.warning("payout account shared by unrelated residents; refund held for review")


def _slip_document(income: domain.Income) -> dict[str, Any]:
    year = income.year
    return _inbox(
        "tax.withholding_slip",
        (f"{year}年分 給与所得の源泉徴収票", f"Withholding slip for {year}"),
        (
            f"支払金額 {income.salary:,}円、給与所得控除後の金額 {income.employment:,}円、"
            f"社会保険料等の金額 {income.social_insurance:,}円、"
            f"源泉徴収税額 {income.withholding:,}円",
            f"Salary paid {income.salary:,} yen; after the employment income deduction "
            f"{income.employment:,} yen; social insurance {income.social_insurance:,} yen; "
            f"income tax withheld {income.withholding:,} yen.",
        ),
        f"withholding-{year}",
    )
