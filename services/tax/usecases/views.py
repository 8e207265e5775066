"""What the tax use cases return: plain, frozen views."""

from __future__ import annotations

from dataclasses import dataclass

from services.tax import domain
from services.tax.models import RefundRow


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


def refund_view(row: RefundRow, number: str, *, already: bool) -> RefundView:
    """The view of a stored refund."""
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
