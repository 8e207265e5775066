"""What the insurer provides through the hub: the ``coverage``, ``medical_expenses``,
``care_flags`` and ``vaccinations`` items."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from mynumber_core import errors
from mynumber_core.bound_lists import PerDialect, in_list
from mynumber_core.provider import ItemAnswer, ProvideCall
from services.health import domain
from services.health.domain import ExpenseCategory
from services.health.models import CareFlagsRow, Insured, MedicalExpense, Vaccination
from services.health.usecases import records
from services.health.usecases.context import Context

_CARE_FLAGS_BATCH = PerDialect(
    lambda pg: (
        select(Insured.token, CareFlagsRow.flags)
        .outerjoin(CareFlagsRow, CareFlagsRow.insured_id == Insured.id)
        .where(in_list(Insured.token, "tokens", postgres=pg))
    )
)
"""A ProvideBatch's care flags by token (the token list one bound parameter)."""


class ProviderItems:
    """Answers to other domains' queries about an insured person."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def item_coverage(self, call: ProvideCall) -> dict[str, Any]:
        """``coverage``: the coverage that applies today, and every period held."""
        ctx = self._ctx
        today = ctx.today()
        with ctx.db.transaction() as session:
            insured = records.insured_by_token(session, call.token)
            views = records.views(session, insured)
            current = records.select_current(views, today)
            return {
                "current": current.as_item(today) if current else None,
                "periods": [
                    v.as_item(today) for v in sorted(views, key=lambda v: v.row.valid_from)
                ],
            }

    def item_medical_expenses(self, call: ProvideCall) -> dict[str, Any]:
        """``medical_expenses`` (params: year): the calendar year's total and visits."""
        ctx = self._ctx
        year = domain.check_year(call.params.get("year"), ctx.today())
        with ctx.db.transaction() as session:
            insured = records.insured_by_token(session, call.token)
            rows = session.scalars(
                select(MedicalExpense).where(
                    MedicalExpense.insured_id == insured.id,
                    MedicalExpense.service_date >= dt.date(year, 1, 1),
                    MedicalExpense.service_date <= dt.date(year, 12, 31),
                )
            ).all()
            expenses = [
                domain.Expense(
                    r.service_date, r.provider, r.amount_yen, ExpenseCategory(r.category)
                )
                for r in rows
            ]
        return domain.expense_summary(year, expenses)

    def item_care_flags(self, call: ProvideCall) -> dict[str, Any]:
        """``care_flags``: disability grade, chronic-care needs, evacuation assistance."""
        ctx = self._ctx
        with ctx.db.transaction() as session:
            insured = records.insured_by_token(session, call.token)
            row = session.get(CareFlagsRow, insured.id)
            if row is None:
                return domain.NO_CARE_FLAGS.as_item()
            return dict(json.loads(row.flags))

    def items_care_flags(self, calls: Sequence[ProvideCall]) -> list[ItemAnswer]:
        """``care_flags`` for a whole ProvideBatch in one statement (the disaster list)."""
        with self._ctx.db.transaction() as session:
            rows = session.execute(
                _CARE_FLAGS_BATCH(session.connection()), {"tokens": list({c.token for c in calls})}
            ).all()
        flags = {token: raw for token, raw in rows}
        answers: list[ItemAnswer] = []
        for call in calls:
            if call.token not in flags:
                answers.append(
                    errors.NotFound("no insured person has this token; enrol the person first")
                )
            elif flags[call.token] is None:
                answers.append(domain.NO_CARE_FLAGS.as_item())
            else:
                answers.append(dict(json.loads(flags[call.token])))
        return answers

    def item_vaccinations(self, call: ProvideCall) -> dict[str, Any]:
        """``vaccinations``: every recorded dose, oldest first."""
        ctx = self._ctx
        with ctx.db.transaction() as session:
            insured = records.insured_by_token(session, call.token)
            rows = session.scalars(
                select(Vaccination)
                .where(Vaccination.insured_id == insured.id)
                .order_by(Vaccination.administered_on, Vaccination.dose)
            ).all()
            return {
                "vaccinations": [
                    {
                        "vaccine": r.vaccine,
                        "name": domain.VACCINE_NAMES.get(r.vaccine, r.vaccine),
                        "dose": r.dose,
                        "date": r.administered_on.isoformat(),
                    }
                    for r in rows
                ]
            }
