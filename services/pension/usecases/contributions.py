"""Contributions: counter receipts, payments from the portal (``payment`` events), amounts due
(the ``amounts_due`` item) within the two-year limit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.calendar import fiscal_year_of
from mynumber_core.provider import DeliveredEvent, ProvideCall
from services.pension import domain
from services.pension.domain import Category, ExemptionLevel
from services.pension.models import (
    ContributionMonth,
    Enrolment,
    Receipt,
)
from services.pension.usecases.context import (
    PensionContext,
    log,
)
from services.pension.usecases.enrolment import Enrolments, applications, levels_by_year
from services.pension.usecases.views import (
    DueItem,
)


class Contributions:
    """Contribution months paid, open and due."""

    def __init__(self, ctx: PensionContext, enrolments: Enrolments) -> None:
        self.ctx = ctx
        self.enrolments = enrolments

    def record_contribution(
        self, basic_pension_number: str, fiscal_year: int, months: int, amount: int, receipt_id: str
    ) -> tuple[int, int, bool]:
        """Mark the first unpaid months of a fiscal year paid; idempotent by receipt id.

        Returns (months paid in that year, qualifying months in total, already recorded).
        """
        number = domain.parse_basic_pension_number(basic_pension_number)
        receipt = domain.parse_key("receipt_id", receipt_id)
        domain.monthly_contribution(fiscal_year)  # the year must have a published rate
        with self.ctx.db.transaction() as session:
            enrolment = self.enrolments.by_number(session, number)
            previous = session.get(Receipt, receipt)
            if previous is not None:
                if previous.enrolment_id != enrolment.id or previous.fiscal_year != fiscal_year:
                    raise errors.Conflict("receipt_id was already used for another payment")
                return (*self._year_totals(session, enrolment, fiscal_year), True)
            if enrolment.category != Category.FIRST:
                raise errors.FailedPrecondition(
                    "only category 1 insured pay national pension contributions directly"
                )
            level = levels_by_year(applications(session, enrolment.id)).get(
                fiscal_year, ExemptionLevel.NONE
            )
            if level is ExemptionLevel.FULL:
                raise errors.FailedPrecondition(
                    f"FY{fiscal_year} is fully exempt; nothing is due for that year"
                )
            rate = domain.reduced_contribution(fiscal_year, level)
            domain.check_contribution(fiscal_year, months, amount, rate)
            open_months = self._open_months(session, enrolment, fiscal_year, future=True)
            if len(open_months) < months:
                raise errors.FailedPrecondition(
                    f"only {len(open_months)} month(s) of FY{fiscal_year} are open for payment"
                )
            now = self.ctx.clock()
            for index in open_months[:months]:
                session.add(
                    ContributionMonth(
                        enrolment_id=enrolment.id,
                        fiscal_year=fiscal_year,
                        month_index=index,
                        amount=rate,
                        source="counter",
                        reference=receipt,
                        recorded_at=now,
                    )
                )
            session.add(
                Receipt(
                    receipt_id=receipt,
                    enrolment_id=enrolment.id,
                    fiscal_year=fiscal_year,
                    months=months,
                    amount=amount,
                    recorded_at=now,
                )
            )
            session.flush()
            return (*self._year_totals(session, enrolment, fiscal_year), False)

    def _year_totals(self, session: Session, enrolment: Enrolment, fy: int) -> tuple[int, int]:
        record = self.enrolments.record(session, enrolment)
        in_year = next((y.months_paid for y in record.years if y.fiscal_year == fy), 0)
        return in_year, record.contribution_months

    def _open_months(
        self, session: Session, enrolment: Enrolment, fiscal_year: int, *, future: bool
    ) -> list[int]:
        """Unpaid month indices of a fiscal year since enrolment (with ``future``: prepayable)."""
        until = dt.date(fiscal_year + 1, 3, 31) if future else self.ctx.today()
        scope = domain.months_in_scope(enrolment.enrolled_on, until, fiscal_year)
        paid = set(
            session.scalars(
                select(ContributionMonth.month_index).where(
                    ContributionMonth.enrolment_id == enrolment.id,
                    ContributionMonth.fiscal_year == fiscal_year,
                )
            ).all()
        )
        return [i for i in scope if i not in paid]

    def amounts_due(self, session: Session, enrolment: Enrolment) -> list[DueItem]:
        """Unpaid contribution months still payable (within the 2-year limit, 時効)."""
        if enrolment.category != Category.FIRST:
            return []
        today = self.ctx.today()
        levels = levels_by_year(applications(session, enrolment.id))
        items: list[DueItem] = []
        for fy in range(fiscal_year_of(enrolment.enrolled_on), fiscal_year_of(today) + 1):
            level = levels.get(fy, ExemptionLevel.NONE)
            if level is ExemptionLevel.FULL:
                continue
            amount = domain.reduced_contribution(fy, level)
            for index in self._open_months(session, enrolment, fy, future=False):
                due = domain.due_date(fy, index)
                if _add_years(due, 2) < today:
                    continue  # the right to collect has lapsed (国民年金法 102条4項)
                items.append(DueItem(domain.month_item_id(fy, index), fy, amount, due))
        return items

    def provide_amounts_due(self, call: ProvideCall) -> dict[str, Any]:
        """Item ``amounts_due``: unpaid contribution months as payable items."""
        with self.ctx.db.transaction() as session:
            items = self.amounts_due(session, self.enrolments.by_token(session, call.token))
        return {
            "items": [
                {
                    "item_id": i.item_id,
                    "description": f"国民年金保険料 {i.item_id[3:]} (pension contribution)",
                    "fiscal_year": i.fiscal_year,
                    "amount": i.amount,
                    "due_date": i.due_date.isoformat(),
                }
                for i in items
            ],
            "total": sum(i.amount for i in items),
        }

    def on_payment(self, session: Session, event: DeliveredEvent) -> None:
        """Deliver ``payment``: mark one contribution month paid (items of other domains skip)."""
        item_id = event.payload.get("item_id")
        if not isinstance(item_id, str) or not item_id.startswith("NP-"):
            log.info("payment for another domain's item; ignored")
            return
        fiscal_year, index = domain.parse_month_item_id(item_id)
        amount = event.payload.get("amount")
        enrolment = self.enrolments.by_token(session, event.token)
        due = {i.item_id: i for i in self.amounts_due(session, enrolment)}
        already = session.scalars(
            select(ContributionMonth).where(
                ContributionMonth.enrolment_id == enrolment.id,
                ContributionMonth.fiscal_year == fiscal_year,
                ContributionMonth.month_index == index,
            )
        ).first()
        if already is not None:
            log.info("payment for a month already paid; ignored")
            return
        item = due.get(item_id)
        if item is None:
            raise errors.FailedPrecondition(f"{item_id} is not a payable contribution month")
        if amount != item.amount:
            raise errors.InvalidInput(f"payment amount must be {item.amount} yen for {item_id}")
        session.add(
            ContributionMonth(
                enrolment_id=enrolment.id,
                fiscal_year=fiscal_year,
                month_index=index,
                amount=item.amount,
                source="portal",
                reference=event.event_id[:64],
                recorded_at=self.ctx.clock(),
            )
        )


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
