"""What the pension use cases return: plain, frozen views of records and decisions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from services.pension.domain import Category, ExemptionLevel
from services.pension.models import (
    Claim,
    ExemptionApplication,
)


@dataclass(frozen=True)
class ExemptionView:
    """A recorded exemption decision."""

    application_id: str
    basic_pension_number: str
    fiscal_year: int
    income_year: int
    level: ExemptionLevel
    income: int
    dependents: int
    reason: str
    channel: str
    rejected: bool


@dataclass(frozen=True)
class ClaimView:
    """A recorded claim decision."""

    claim_id: str
    basic_pension_number: str
    approved: bool
    contribution_months: int
    age: int
    annual_amount: int
    reason: str
    account_reference: str
    payout_status: str = ""
    hold_reason: str = ""


@dataclass(frozen=True)
class YearView:
    """Contributions of one fiscal year."""

    fiscal_year: int
    months_paid: int
    months_exempt: int
    amount_paid: int


@dataclass(frozen=True)
class MergedRecordView:
    """A formerly orphaned record the insured person confirmed as theirs."""

    record_id: str
    period_start: str
    period_end: str
    employer: str
    months: int


@dataclass(frozen=True)
class RecordView:
    """Everything the pension service holds about one insured person."""

    basic_pension_number: str
    category: Category
    enrolled_on: dt.date
    contribution_months: int
    years: list[YearView] = field(default_factory=list)
    exemptions: list[ExemptionView] = field(default_factory=list)
    claims: list[ClaimView] = field(default_factory=list)
    merged_records: list[MergedRecordView] = field(default_factory=list)
    """Orphaned records confirmed as the person's; their months are in contribution_months."""


@dataclass(frozen=True)
class DueItem:
    """One unpaid contribution month as a payable item."""

    item_id: str
    fiscal_year: int
    amount: int
    due_date: dt.date


def exemption_view(row: ExemptionApplication, number: str) -> ExemptionView:
    """The view of a stored exemption decision."""
    return ExemptionView(
        application_id=row.application_id,
        basic_pension_number=number,
        fiscal_year=row.fiscal_year,
        income_year=row.income_year,
        level=ExemptionLevel(row.level),
        income=row.income,
        dependents=row.dependents,
        reason=row.reason,
        channel=row.channel,
        rejected=row.rejected,
    )


def claim_view(row: Claim, number: str) -> ClaimView:
    """The view of a stored claim decision."""
    return ClaimView(
        claim_id=row.claim_id,
        basic_pension_number=number,
        approved=row.approved,
        contribution_months=row.contribution_months,
        age=row.age,
        annual_amount=row.annual_amount,
        reason=row.reason,
        account_reference=row.account_reference,
        payout_status=row.payout_status,
        hold_reason=row.hold_reason,
    )
