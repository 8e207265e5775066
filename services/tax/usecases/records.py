"""The tax service's shared lookups: a taxpayer by reference number or token, a year's
income, assessment, refund and payments."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mynumber_core import errors
from services.tax import domain
from services.tax.models import (
    AssessmentRow,
    IncomeYear,
    Payment,
    RefundRow,
    Taxpayer,
)


def by_number(session: Session, number: str) -> Taxpayer | None:
    return session.scalars(select(Taxpayer).where(Taxpayer.reference_number == number)).first()


def taxpayer_by_number(session: Session, reference_number: str) -> Taxpayer:
    """The taxpayer behind a reference number; NotFound otherwise."""
    row = by_number(session, domain.parse_reference_number(reference_number))
    if row is None:
        raise errors.NotFound("no taxpayer has this reference number")
    return row


def by_token(session: Session, token: str) -> Taxpayer:
    """The taxpayer known by this tax token; NotFound otherwise."""
    row = session.scalars(select(Taxpayer).where(Taxpayer.token == token)).first()
    if row is None:
        raise errors.NotFound("the tax office holds no record for this person")
    return row


def income_row(session: Session, taxpayer_id: str, year: int) -> IncomeYear | None:
    return session.scalars(
        select(IncomeYear).where(IncomeYear.taxpayer_id == taxpayer_id, IncomeYear.year == year)
    ).first()


def as_income(row: IncomeYear) -> domain.Income:
    return domain.Income(row.year, row.salary, row.business, row.withholding, row.social_insurance)


def income_of(session: Session, taxpayer_id: str, year: int) -> domain.Income:
    row = income_row(session, taxpayer_id, year)
    if row is None:
        raise errors.NotFound(f"no income is recorded for {year}; record it first")
    return as_income(row)


def assessment_of(session: Session, taxpayer_id: str, year: int) -> AssessmentRow | None:
    return session.scalars(
        select(AssessmentRow).where(
            AssessmentRow.taxpayer_id == taxpayer_id, AssessmentRow.year == year
        )
    ).first()


def refund_of(session: Session, taxpayer_id: str, year: int) -> RefundRow | None:
    return session.scalars(
        select(RefundRow).where(RefundRow.taxpayer_id == taxpayer_id, RefundRow.year == year)
    ).first()


def paid_on(session: Session, taxpayer_id: str, year: int) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.taxpayer_id == taxpayer_id, Payment.year == year
        )
    )
    return int(total or 0)
