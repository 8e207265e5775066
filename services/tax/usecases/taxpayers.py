"""Taxpayers and income: registration (link, reference number), income by year, the
withholding slip, the ``income`` item and address changes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.bound_lists import PerDialect, in_list
from mynumber_core.facts import FormIdentity, address_of_event
from mynumber_core.local_ids import issue_once
from mynumber_core.provider import DeliveredEvent, ItemAnswer, ProvideCall
from services.tax import domain
from services.tax.models import (
    AssessmentRow,
    IncomeYear,
    Taxpayer,
)
from services.tax.usecases.context import (
    WITHHOLDING,
    TaxContext,
    inbox_document,
    log,
    send_inbox,
)
from services.tax.usecases.records import (
    as_income,
    by_number,
    income_of,
    income_row,
    refund_of,
    taxpayer_by_number,
)
from services.tax.usecases.views import (
    IncomeView,
    SlipView,
)


def parse_income(
    reference_number: str,
    year: int,
    salary: int,
    business: int,
    withholding: int,
    social_insurance: int,
    ctx: TaxContext,
) -> tuple[str, domain.Income]:
    """The reference number and the year's income, validated (InvalidInput names the field)."""
    number = domain.parse_reference_number(reference_number)
    domain.check_year(year, ctx.today())
    for field, value in (
        ("salary_income_yen", salary),
        ("business_income_yen", business),
        ("withholding_yen", withholding),
        ("social_insurance_yen", social_insurance),
    ):
        domain.check_amount(field, value)
    return number, domain.Income(year, salary, business, withholding, social_insurance)


_INCOME_BATCH = PerDialect(
    lambda pg: (
        select(Taxpayer.token, IncomeYear, AssessmentRow.taxable_income)
        .outerjoin(
            IncomeYear,
            and_(
                IncomeYear.taxpayer_id == Taxpayer.id,
                in_list(IncomeYear.year, "years", postgres=pg),
            ),
        )
        .outerjoin(
            AssessmentRow,
            and_(AssessmentRow.taxpayer_id == Taxpayer.id, AssessmentRow.year == IncomeYear.year),
        )
        .where(in_list(Taxpayer.token, "tokens", postgres=pg))
    )
)
"""A ProvideBatch's incomes: each token's taxpayer with the bound years' income and assessment
(outer joins, so a missing one is told apart); each list one bound parameter."""


class Taxpayers:
    """Registration, income and the withholding slip."""

    def __init__(self, ctx: TaxContext) -> None:
        self.ctx = ctx

    def register(self, identity: FormIdentity) -> tuple[str, bool]:
        """Link the person, then issue a reference number (idempotent per person)."""
        token = self.ctx.registry.link(identity.my_number, identity.facts)

        def existing(session: Session) -> str | None:
            row = session.scalars(select(Taxpayer).where(Taxpayer.token == token)).first()
            return None if row is None else row.reference_number

        def issue(session: Session) -> str:
            number = domain.generate_reference_number(lambda n: by_number(session, n) is not None)
            now = self.ctx.clock()
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
            return number

        number, already = issue_once(
            self.ctx.db,
            existing=existing,
            issue=issue,
            raced="registration raced with another request; retry",
        )
        if not already:
            log.info("taxpayer registered")
        return number, already

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
        number, income = parse_income(
            reference_number, year, salary, business, withholding, social_insurance, self.ctx
        )
        with self.ctx.db.transaction() as session:
            taxpayer = taxpayer_by_number(session, number)
            if refund_of(session, taxpayer.id, year) is not None:
                raise errors.FailedPrecondition(
                    f"the {year} refund was already issued; amend through a correction request"
                )
            row = income_row(session, taxpayer.id, year)
            if row is None:
                row = IncomeYear(taxpayer_id=taxpayer.id, year=year)
                session.add(row)
            row.salary, row.business = salary, business
            row.withholding, row.social_insurance = withholding, social_insurance
            row.recorded_at = self.ctx.clock()
        return IncomeView(number, income)

    def issue_withholding_slip(self, reference_number: str, year: int) -> SlipView:
        """Send the year's withholding slip to the portal inbox."""
        number = domain.parse_reference_number(reference_number)
        domain.check_year(year, self.ctx.today())
        with self.ctx.db.transaction() as session:
            taxpayer = taxpayer_by_number(session, number)
            income = income_of(session, taxpayer.id, year)
            if income.salary == 0:
                raise errors.FailedPrecondition(f"no employment income is recorded for {year}")
            document_id = send_inbox(
                session,
                token=taxpayer.token,
                procedure=WITHHOLDING,
                payload=slip_document(income),
            )
        self.ctx.wake_outbox()
        return SlipView(number, income, document_id)

    def provide_income(self, call: ProvideCall) -> dict[str, Any]:
        """Item ``income`` (params: year): total and taxable income of that year.

        The batch's one statement answers it (issue 10: three ORM reads, the taxpayer's
        encrypted address decrypted on the way, cost the hub's every income Query)."""
        answer = self.provide_income_batch([call])[0]
        if isinstance(answer, errors.DomainError):
            raise answer
        return dict(answer)

    def provide_income_batch(self, calls: Sequence[ProvideCall]) -> list[ItemAnswer]:
        """Item ``income`` for a whole ProvideBatch in one statement: each caller's taxpayer
        with that year's income and assessment (outer joins, so a missing one is told apart).
        """
        years = {y for c in calls if isinstance(y := c.params.get("year"), int)}
        tokens = {c.token for c in calls}
        found: dict[str, dict[int, dict[str, Any] | None]] = {}
        with self.ctx.db.transaction() as session:
            rows = session.execute(
                _INCOME_BATCH(session.connection()),
                {"years": sorted(years), "tokens": list(tokens)},
            ).all()
            for token, row, taxable in rows:
                per_year = found.setdefault(token, {})
                if row is not None:
                    per_year[row.year] = _income_item(as_income(row), taxable)
        answers: list[ItemAnswer] = []
        for call in calls:
            year = call.params.get("year")
            if not isinstance(year, int):
                answers.append(
                    errors.InvalidInput("the income item needs an integer 'year' parameter")
                )
            elif call.token not in found:
                answers.append(errors.NotFound("the tax office holds no record for this person"))
            elif found[call.token].get(year) is None:
                answers.append(
                    errors.NotFound(f"the tax office has no income on record for {year}")
                )
            else:
                answers.append(found[call.token][year] or {})
        return answers

    def on_address_changed(self, session: Session, event: DeliveredEvent) -> None:
        """Deliver ``address_changed``: keep the letter address current."""
        address = address_of_event(event.payload)
        row = session.scalars(select(Taxpayer).where(Taxpayer.token == event.token)).first()
        if row is None:
            log.info("address change for a person without a tax record; nothing to update")
            return
        row.address = address
        row.updated_at = row.address_changed_at = self.ctx.clock()


def _income_item(income: domain.Income, taxable: int | None) -> dict[str, Any]:
    """The ``income`` item of one year (the assessment's taxable income when assessed)."""
    return {
        "year": income.year,
        "total_income": income.total,
        "taxable_income": taxable
        if taxable is not None
        else domain.assess(income, 0).taxable_income,
        "employment_income": income.employment,
        "business_income": income.business,
        "social_insurance": income.social_insurance,
        "assessed": taxable is not None,
    }


def slip_document(income: domain.Income) -> dict[str, Any]:
    """The inbox document of a withholding slip (源泉徴収票)."""
    year = income.year
    return inbox_document(
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
