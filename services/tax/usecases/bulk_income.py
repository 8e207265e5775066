"""Bulk income recording (RecordIncomes): many years' income in one call, as employers'
reports (給与支払報告書) arrive in bulk (issue 10, item 5).

Each record is validated as RecordIncome validates it; the valid ones are written in one
transaction (set-based: one read of the taxpayers, one of their refunds and one of their
income rows for the years given, one insert of the new rows and one update of the amended
ones). A record that fails — a bad field, an unknown reference number, a year whose refund
was issued, the same taxpayer and year again later in the call — is answered with its own
error and changes nothing. Recording the same figures again leaves the same rows, so a
retried call is safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, update

from mynumber_core import bulk_link, errors
from services.tax import domain
from services.tax.models import IncomeYear, RefundRow, Taxpayer
from services.tax.usecases.context import TaxContext, log
from services.tax.usecases.taxpayers import parse_income
from services.tax.usecases.views import IncomeView


@dataclass(frozen=True)
class RawIncome:
    """One income record as received (unvalidated)."""

    reference_number: str
    year: int
    salary: int
    business: int
    withholding: int
    social_insurance: int


class BulkIncome:
    """RecordIncomes: see the module docstring."""

    def __init__(self, ctx: TaxContext) -> None:
        self.ctx = ctx

    def record_many(self, raw: Sequence[RawIncome]) -> list[IncomeView | errors.DomainError]:
        """One answer per record, in order."""
        bulk_link.check_size(len(raw), "RecordIncomes")
        answers: list[IncomeView | errors.DomainError | None] = [None] * len(raw)
        valid: list[tuple[int, str, domain.Income]] = []
        first: dict[tuple[str, int], int] = {}
        for i, r in enumerate(raw):
            try:
                number, income = parse_income(
                    r.reference_number,
                    r.year,
                    r.salary,
                    r.business,
                    r.withholding,
                    r.social_insurance,
                    self.ctx,
                )
            except errors.InvalidInput as exc:
                answers[i] = bulk_link.record_error(i, exc)
                continue
            if (number, income.year) in first:
                answers[i] = errors.InvalidInput(
                    f"record {i}: the same taxpayer and year are already in record "
                    f"{first[number, income.year]}; send each once per call"
                )
                continue
            first[number, income.year] = i
            valid.append((i, number, income))
        if valid:
            self._store(valid, answers)
        log.info(
            "income recorded in bulk",
            records=len(raw),
            recorded=sum(1 for a in answers if isinstance(a, IncomeView)),
        )
        return bulk_link.in_order(answers)

    def _store(
        self,
        valid: Sequence[tuple[int, str, domain.Income]],
        answers: list[IncomeView | errors.DomainError | None],
    ) -> None:
        """Write the valid records in one transaction (a concurrent first record of the same
        taxpayer and year retries the whole)."""

        def once() -> None:
            with self.ctx.db.transaction() as session:
                ids = dict(
                    bulk_link.rows_in(
                        session,
                        Taxpayer.reference_number,
                        [number for _, number, _ in valid],
                        Taxpayer.reference_number,
                        Taxpayer.id,
                    )
                )
                years = {income.year for _, _, income in valid}
                refunded = {
                    (t, y)
                    for t, y in bulk_link.rows_in(
                        session,
                        RefundRow.taxpayer_id,
                        ids.values(),
                        RefundRow.taxpayer_id,
                        RefundRow.year,
                    )
                }
                rows = {
                    (t, y): row_id
                    for t, y, row_id in bulk_link.rows_in(
                        session,
                        IncomeYear.taxpayer_id,
                        ids.values(),
                        IncomeYear.taxpayer_id,
                        IncomeYear.year,
                        IncomeYear.id,
                    )
                    if y in years
                }
                now = self.ctx.clock()
                new: list[dict[str, object]] = []
                amended: list[dict[str, object]] = []
                for i, number, income in valid:
                    taxpayer = ids.get(number)
                    if taxpayer is None:
                        answers[i] = bulk_link.record_error(
                            i, errors.NotFound("no taxpayer has this reference number")
                        )
                        continue
                    if (taxpayer, income.year) in refunded:
                        answers[i] = bulk_link.record_error(
                            i,
                            errors.FailedPrecondition(
                                f"the {income.year} refund was already issued; amend through "
                                "a correction request"
                            ),
                        )
                        continue
                    values = {
                        "salary": income.salary,
                        "business": income.business,
                        "withholding": income.withholding,
                        "social_insurance": income.social_insurance,
                        "recorded_at": now,
                    }
                    row_id = rows.get((taxpayer, income.year))
                    if row_id is None:
                        new.append({"taxpayer_id": taxpayer, "year": income.year, **values})
                    else:
                        amended.append({"id": row_id, **values})
                    answers[i] = IncomeView(number, income)
                if new:
                    session.execute(insert(IncomeYear), new)
                if amended:
                    session.execute(update(IncomeYear), amended)
            return

        return bulk_link.retry_on_conflict(
            once, "income recording raced with another request; send the batch again"
        )
