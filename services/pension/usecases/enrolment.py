"""Enrolment and records: issue a basic pension number, show a person's record, keep the
letter address current (``address_changed``), and the ``pension_record`` item."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.calendar import age_on
from mynumber_core.facts import FormIdentity, address_of_event
from mynumber_core.local_ids import issue_once
from mynumber_core.provider import DeliveredEvent, ProvideCall
from services.pension import domain
from services.pension.domain import Category, ExemptionLevel
from services.pension.models import (
    Claim,
    ContributionMonth,
    Enrolment,
    ExemptionApplication,
    OrphanRecord,
)
from services.pension.usecases.context import (
    PensionContext,
    log,
)
from services.pension.usecases.views import (
    MergedRecordView,
    RecordView,
    YearView,
    claim_view,
    exemption_view,
)


class Enrolments:
    """Enrolment, the record view and the lookups every feature shares."""

    def __init__(self, ctx: PensionContext) -> None:
        self.ctx = ctx

    def enrol(
        self, identity: FormIdentity, category: int, enrolled_on: str = ""
    ) -> tuple[str, bool]:
        """Link the person, then issue a basic pension number (idempotent per person)."""
        cat = domain.parse_category(category)
        day = domain.parse_date("enrolled_on", enrolled_on, default=self.ctx.today())
        if day > self.ctx.today():
            raise errors.InvalidInput("enrolled_on must not be in the future")
        if age_on(identity.facts.birth_date, day) < 20 and cat is Category.FIRST:
            raise errors.InvalidInput(
                "category 1 insured must be at least 20 on the enrolment date (国民年金法 7条)"
            )
        token = self.ctx.registry.link(identity.my_number, identity.facts)

        def existing(session: Session) -> str | None:
            row = session.scalars(select(Enrolment).where(Enrolment.token == token)).first()
            return None if row is None else row.basic_pension_number

        def issue(session: Session) -> str:
            number = domain.generate_basic_pension_number(
                lambda n: _by_number(session, n) is not None
            )
            now = self.ctx.clock()
            session.add(
                Enrolment(
                    id=uuid.uuid4().hex,
                    basic_pension_number=number,
                    token=token,
                    category=int(cat),
                    enrolled_on=day,
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
            raced="enrolment raced with another request; retry",
        )
        if not already:
            log.info("enrolled", category=int(cat))
        return number, already

    def get_record(self, basic_pension_number: str) -> RecordView:
        """The record behind a basic pension number."""
        number = domain.parse_basic_pension_number(basic_pension_number)
        with self.ctx.db.transaction() as session:
            return self.record(session, self.by_number(session, number))

    def by_number(self, session: Session, number: str) -> Enrolment:
        """The enrolment behind a basic pension number; NotFound otherwise."""
        enrolment = _by_number(session, number)
        if enrolment is None:
            raise errors.NotFound("no enrolment has this basic pension number")
        return enrolment

    def record(self, session: Session, enrolment: Enrolment) -> RecordView:
        """Everything held about one enrolment (months paid and exempt, decisions)."""
        paid = session.scalars(
            select(ContributionMonth).where(ContributionMonth.enrolment_id == enrolment.id)
        ).all()
        apps = session.scalars(
            select(ExemptionApplication)
            .where(ExemptionApplication.enrolment_id == enrolment.id)
            .order_by(ExemptionApplication.decided_at)
        ).all()
        claims = session.scalars(
            select(Claim).where(Claim.enrolment_id == enrolment.id).order_by(Claim.filed_at)
        ).all()
        levels = levels_by_year(apps)
        today = self.ctx.today()
        years: dict[int, list[int]] = {}
        amounts: dict[int, int] = {}
        for row in paid:
            years.setdefault(row.fiscal_year, []).append(row.month_index)
            amounts[row.fiscal_year] = amounts.get(row.fiscal_year, 0) + row.amount
        exempt_months: dict[int, set[int]] = {}
        for fy, level in levels.items():
            if level is ExemptionLevel.FULL:
                scope = domain.months_in_scope(enrolment.enrolled_on, today, fy)
                exempt_months[fy] = set(scope) - set(years.get(fy, []))
        exempt = {fy: len(months) for fy, months in exempt_months.items()}
        all_years = sorted(set(years) | set(exempt))
        merged = [
            MergedRecordView(r.record_id, r.period_start, r.period_end, r.employer, r.months)
            for r in session.scalars(
                select(OrphanRecord)
                .where(
                    OrphanRecord.merged_token == enrolment.token, OrphanRecord.status == "merged"
                )
                .order_by(OrphanRecord.period_start, OrphanRecord.record_id)
            )
        ]
        return RecordView(
            basic_pension_number=enrolment.basic_pension_number,
            category=Category(enrolment.category),
            enrolled_on=enrolment.enrolled_on,
            contribution_months=domain.months_counted(
                [
                    domain.month_of_fiscal_year(fy, i)
                    for by_year in (years, exempt_months)
                    for fy, indexes in by_year.items()
                    for i in indexes
                ],
                [(m.period_start, m.period_end, m.months) for m in merged],
            ),
            years=[
                YearView(fy, len(years.get(fy, [])), exempt.get(fy, 0), amounts.get(fy, 0))
                for fy in all_years
            ],
            exemptions=[exemption_view(a, enrolment.basic_pension_number) for a in apps],
            claims=[claim_view(c, enrolment.basic_pension_number) for c in claims],
            merged_records=merged,
        )

    def by_token(self, session: Session, token: str) -> Enrolment:
        """The enrolment of a person known by their pension token; NotFound otherwise."""
        enrolment = session.scalars(select(Enrolment).where(Enrolment.token == token)).first()
        if enrolment is None:
            raise errors.NotFound("the pension service holds no record for this person")
        return enrolment

    def provide_pension_record(self, call: ProvideCall) -> dict[str, Any]:
        """Item ``pension_record``."""
        with self.ctx.db.transaction() as session:
            record = self.record(session, self.by_token(session, call.token))
        return {
            "basic_pension_number": record.basic_pension_number,
            "category": int(record.category),
            "enrolled_on": record.enrolled_on.isoformat(),
            "contribution_months": record.contribution_months,
            "estimated_annual_amount": domain.estimated_annual_amount(record.contribution_months),
            "merged_records": [
                {
                    "record_id": m.record_id,
                    "period_start": m.period_start,
                    "period_end": m.period_end,
                    "employer": m.employer,
                    "months": m.months,
                }
                for m in record.merged_records
            ],
            "contributions": [
                {
                    "fiscal_year": y.fiscal_year,
                    "months_paid": y.months_paid,
                    "months_exempt": y.months_exempt,
                    "amount_paid": y.amount_paid,
                }
                for y in record.years
            ],
            "exemptions": [
                {
                    "application_id": e.application_id,
                    "fiscal_year": e.fiscal_year,
                    "level": e.level.value,
                    "rejected": e.rejected,
                    "reason": e.reason,
                }
                for e in record.exemptions
            ],
            "claims": [
                {
                    "claim_id": c.claim_id,
                    "approved": c.approved,
                    "annual_amount": c.annual_amount,
                    "reason": c.reason,
                }
                for c in record.claims
            ],
        }

    def on_address_changed(self, session: Session, event: DeliveredEvent) -> None:
        """Deliver ``address_changed``: keep the letter address current."""
        address = address_of_event(event.payload)
        enrolment = session.scalars(select(Enrolment).where(Enrolment.token == event.token)).first()
        if enrolment is None:
            log.info("address change for a person not enrolled; nothing to update")
            return
        enrolment.address = address
        enrolment.updated_at = enrolment.address_changed_at = self.ctx.clock()


def _by_number(session: Session, number: str) -> Enrolment | None:
    return session.scalars(
        select(Enrolment).where(Enrolment.basic_pension_number == number)
    ).first()


def levels_by_year(apps: Any) -> dict[int, ExemptionLevel]:
    """The latest decided (not rejected) exemption level per fiscal year."""
    levels: dict[int, ExemptionLevel] = {}
    for app in apps:
        if not app.rejected:
            levels[app.fiscal_year] = ExemptionLevel(app.level)
    return levels


def applications(session: Session, enrolment_id: str) -> list[ExemptionApplication]:
    return list(
        session.scalars(
            select(ExemptionApplication)
            .where(ExemptionApplication.enrolment_id == enrolment_id)
            .order_by(ExemptionApplication.decided_at)
        ).all()
    )
