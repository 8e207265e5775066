"""Medical expenses (医療費): what the person paid, recorded inside a coverage period; they
reach the portal and the tax deduction through the ``medical_expenses`` item."""

from __future__ import annotations

from services.health import domain
from services.health.domain import CoverageStatus, ExpenseCategory
from services.health.models import MedicalExpense
from services.health.usecases import records
from services.health.usecases.context import Context


class MedicalExpenses:
    """Record medical expenses."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def record_medical_expense(
        self,
        token: str,
        date: str,
        provider: str,
        amount_yen: int,
        category: ExpenseCategory,
        idempotency_key: str = "",
    ) -> str:
        """Record what the person paid; the date must fall inside a coverage."""
        ctx = self._ctx
        token = domain.check_token(token)
        key = domain.check_idempotency_key(idempotency_key)
        day = domain.parse_past_date("date", date, ctx.today())
        name = domain.clean_text("provider", provider, domain.MAX_PROVIDER)
        amount = domain.check_amount(amount_yen)
        with ctx.db.transaction() as session:
            earlier = records.replayed(session, "expense", key)
            if earlier is not None:
                return earlier
            insured = records.insured_by_token(session, token)
            covered = any(
                v.status(day) is CoverageStatus.ACTIVE for v in records.views(session, insured)
            )
            domain.require(
                covered, "the person had no coverage on that date; the insurer cannot record it"
            )
            row = MedicalExpense(
                id=records.new_id(),
                insured_id=insured.id,
                service_date=day,
                provider=name,
                amount_yen=amount,
                category=category.value,
                created_at=ctx.clock(),
            )
            session.add(row)
            records.remember(ctx, session, "expense", key, row.id)
            return row.id
