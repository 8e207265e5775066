"""Eligibility (オンライン資格確認): a clinic checks coverage by token or by the card's numbers;
every check is recorded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mynumber_core import errors
from services.health import domain
from services.health.domain import CoverageStatus, InsuredNumber, InsurerNumber, PlanType
from services.health.models import EligibilityCheck, Insured
from services.health.usecases import records
from services.health.usecases.context import Context


@dataclass(frozen=True)
class InsuredRef:
    """A card's insurer number and insured number, as typed by a clinic."""

    insurer_number: str
    symbol: str
    number: str
    branch: str


@dataclass(frozen=True)
class Eligibility:
    """The answer to an eligibility check."""

    status: CoverageStatus
    plan: PlanType
    copay_percent: int
    insurer_number: str
    insured: InsuredNumber
    valid_from: dt.date
    last_day: dt.date | None
    check_id: str
    token: str


class EligibilityChecks:
    """Coverage and copay on a date, for clinics."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def check_eligibility(
        self, subject: str | InsuredRef, on_date: str, checked_by: str
    ) -> Eligibility:
        """オンライン資格確認 by token or by card numbers; the check is recorded."""
        ctx = self._ctx
        on = domain.parse_date("on_date", on_date) if on_date else ctx.today()
        clinic = domain.clean_text("checked_by", checked_by, domain.MAX_CHECKED_BY)
        if isinstance(subject, InsuredRef):
            insurer = InsurerNumber.parse(subject.insurer_number)
            number = InsuredNumber.parse(subject.symbol, subject.number, subject.branch)
            method = "insured_number"
        else:
            token = domain.check_token(subject)
            method = "token"
        with ctx.db.transaction() as session:
            if isinstance(subject, InsuredRef):
                found = records.coverage_by_number(ctx, session, insurer, number)
                if found is None:
                    raise errors.NotFound(
                        "no coverage with this insurer number and insured number; re-check the card"
                    )
                insured = session.get(Insured, found.insured_id)
                assert insured is not None
                view: records.CoverageView | None = records.CoverageView(
                    found, dt.date.fromisoformat(insured.birth_date)
                )
            else:
                insured = records.insured_by_token(session, token)
                view = records.select_current(records.views(session, insured), on)
                if view is None:
                    raise errors.NotFound("the person has no coverage with this insurer")
            assert view is not None
            status, copay = view.status(on), view.copay(on)
            check = EligibilityCheck(
                id=records.new_id(),
                coverage_id=view.row.id,
                method=method,
                checked_by=clinic,
                on_date=on,
                status=status.value,
                copay_percent=copay,
                checked_at=ctx.clock(),
            )
            session.add(check)
            return Eligibility(
                status=status,
                plan=view.plan,
                copay_percent=copay,
                insurer_number=view.row.insurer_number,
                insured=view.insured(),
                valid_from=view.row.valid_from,
                last_day=view.last_day,
                check_id=check.id,
                token=insured.token,
            )
