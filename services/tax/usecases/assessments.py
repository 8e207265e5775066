"""Assessments and amounts due: the year's tax with the medical-expense deduction from the
insurer, the ``tax_summary`` and ``amounts_due`` items, and payments from the portal."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.provider import DeliveredEvent, ProvideCall
from services.tax import domain
from services.tax.models import (
    AssessmentRow,
    IncomeYear,
    Payment,
    Taxpayer,
)
from services.tax.usecases.context import (
    MEDICAL,
    TaxContext,
    log,
)
from services.tax.usecases.records import (
    as_income,
    assessment_of,
    by_token,
    income_of,
    paid_on,
    refund_of,
    taxpayer_by_number,
)
from services.tax.usecases.views import (
    AssessmentView,
)


class Assessments:
    """Assessing a year, what is due, and payments."""

    def __init__(self, ctx: TaxContext) -> None:
        self.ctx = ctx

    def assess_year(self, reference_number: str, year: int) -> AssessmentView:
        """Assess a year with the medical-expense deduction from the insurer's records."""
        number = domain.parse_reference_number(reference_number)
        domain.check_year(year, self.ctx.today())
        with self.ctx.db.transaction() as session:
            taxpayer = taxpayer_by_number(session, number)
            income = income_of(session, taxpayer.id, year)
            token = taxpayer.token
        expenses, found = self._medical_expenses(token, year)
        with self.ctx.db.transaction() as session:
            taxpayer = taxpayer_by_number(session, number)
            computation = domain.assess(income, expenses, paid_on(session, taxpayer.id, year))
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
            row.assessed_at = self.ctx.clock()
        log.info("year assessed", year=year, refund=computation.refund > 0)
        return AssessmentView(number, computation, found)

    def _medical_expenses(self, token: str, year: int) -> tuple[int, bool]:
        """(expenses, found): NOT_FOUND from the insurer means no deduction."""
        try:
            data = self.ctx.registry.query(
                token, "health", "medical_expenses", MEDICAL, uuid.uuid4().hex, {"year": year}
            )
        except errors.NotFound:
            return 0, False
        total = domain.medical_total(data)
        if total is None:
            raise errors.Unavailable("health returned a medical_expenses item without total_yen")
        return total, True

    def provide_tax_summary(self, call: ProvideCall) -> dict[str, Any]:
        """Item ``tax_summary``: years on record, tax due and paid, refunds."""
        with self.ctx.db.transaction() as session:
            taxpayer = by_token(session, call.token)
            incomes = session.scalars(
                select(IncomeYear)
                .where(IncomeYear.taxpayer_id == taxpayer.id)
                .order_by(IncomeYear.year)
            ).all()
            years = []
            for row in incomes:
                assessment = assessment_of(session, taxpayer.id, row.year)
                refund = refund_of(session, taxpayer.id, row.year)
                paid = paid_on(session, taxpayer.id, row.year)
                entry: dict[str, Any] = {
                    "year": row.year,
                    "total_income": as_income(row).total,
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
            due = row.tax_total - row.withholding - paid_on(session, taxpayer.id, row.year)
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
        with self.ctx.db.transaction() as session:
            items = self._due_items(session, by_token(session, call.token))
        return {"items": items, "total": sum(i["amount"] for i in items)}

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
        taxpayer = by_token(session, event.token)
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
                paid_at=self.ctx.clock(),
            )
        )
