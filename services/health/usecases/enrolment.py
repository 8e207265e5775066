"""Enrolment (資格取得): link the person through the registry and open a coverage period.

The My Number is used once, to link; only the insurer's token is stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.facts import BasicFacts
from mynumber_core.mynumber import validate as validate_my_number
from services.health import domain
from services.health.domain import (
    CoverageTerms,
    IncomeCategory,
    InsuredNumber,
    InsurerNumber,
    PlanType,
)
from services.health.models import Coverage, Insured
from services.health.usecases import records
from services.health.usecases.context import INSURED_INDEX_PURPOSE, Context

log = structlog.get_logger("mynumber.health")


@dataclass(frozen=True)
class EnrolCommand:
    """An enrolment as received: raw strings, validated by :meth:`Enrolment.enrol`."""

    my_number: str
    name: str
    birth_date: str
    sex: str
    address: str
    insurer_number: str
    plan: PlanType
    symbol: str
    number: str
    branch: str
    valid_from: str
    valid_to: str
    income: IncomeCategory
    idempotency_key: str = ""


@dataclass(frozen=True)
class Enrolled:
    """The result of an enrolment."""

    token: str
    coverage_id: str
    copay_percent: int


def parse_command(cmd: EnrolCommand) -> tuple[str, BasicFacts, CoverageTerms]:
    """The number, the four facts and the coverage terms of an enrolment, validated (its
    idempotency key aside); InvalidInput names the first bad field."""
    my_number = validate_my_number(cmd.my_number)
    facts = BasicFacts.parse(cmd.name, cmd.birth_date, cmd.sex, cmd.address)
    terms = CoverageTerms(
        insurer=InsurerNumber.parse(cmd.insurer_number),
        plan=cmd.plan,
        insured=InsuredNumber.parse(cmd.symbol, cmd.number, cmd.branch),
        valid_from=domain.parse_date("valid_from", cmd.valid_from),
        valid_to=domain.parse_date("valid_to", cmd.valid_to) if cmd.valid_to else None,
        income=cmd.income,
    )
    terms.validate_for(facts.birth_date)
    return my_number, facts, terms


class Enrolment:
    """Open coverage periods."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def enrol(self, cmd: EnrolCommand) -> Enrolled:
        """Link through the registry and open a coverage; the number is never stored."""
        ctx = self._ctx
        key = domain.check_idempotency_key(cmd.idempotency_key)
        my_number, facts, terms = parse_command(cmd)
        with ctx.db.transaction() as session:
            earlier = records.replayed(session, "enrol", key)
            if earlier is not None:
                return self._enrolled(session, earlier)

        token = ctx.registry.link(my_number, facts)

        with ctx.db.transaction() as session:
            earlier = records.replayed(session, "enrol", key)
            if earlier is not None:
                return self._enrolled(session, earlier)
            if records.coverage_by_number(ctx, session, terms.insurer, terms.insured) is not None:
                raise errors.AlreadyExists(
                    "this insurer number and insured number are already enrolled"
                )
            now = ctx.clock()
            insured = session.scalars(select(Insured).where(Insured.token == token)).first()
            if insured is None:
                insured = Insured(
                    id=records.new_id(),
                    token=token,
                    birth_date=facts.birth_date.isoformat(),
                    address=facts.address,
                    address_version=0,
                    created_at=now,
                    updated_at=now,
                )
                session.add(insured)
                session.flush()
            new_end = domain.effective_end(terms.plan, terms.valid_to, facts.birth_date)
            for view in records.views(session, insured):
                if domain.periods_overlap(
                    view.row.valid_from, view.last_day, terms.valid_from, new_end
                ):
                    raise errors.FailedPrecondition(
                        "the person already has coverage in this period; end it first "
                        "(valid_to) or start the new coverage after it"
                    )
            coverage = Coverage(
                id=records.new_id(),
                insured_id=insured.id,
                insurer_number=terms.insurer.value,
                plan=terms.plan.value,
                insured_index=ctx.blind.index(
                    INSURED_INDEX_PURPOSE, terms.insured.lookup_key(terms.insurer)
                ),
                symbol=terms.insured.symbol,
                number=terms.insured.number,
                branch=terms.insured.branch,
                valid_from=terms.valid_from,
                valid_to=terms.valid_to,
                income_category=terms.income.value,
                created_at=now,
            )
            session.add(coverage)
            records.remember(ctx, session, "enrol", key, coverage.id)
            session.flush()
            result = self._enrolled(session, coverage.id)
        log.info("enrolled", plan=terms.plan.value, coverage_id=result.coverage_id)
        return result

    def _enrolled(self, session: Session, coverage_id: str) -> Enrolled:
        coverage = session.get(Coverage, coverage_id)
        if coverage is None:  # the key's coverage cannot vanish; fail loudly if it did
            raise errors.IntegrityFailure("an enrolment recorded for this key is missing")
        insured = session.get(Insured, coverage.insured_id)
        assert insured is not None
        view = records.CoverageView(coverage, dt.date.fromisoformat(insured.birth_date))
        on = max(self._ctx.today(), coverage.valid_from)
        copay = domain.copay_percent(
            view.birth, on, view.plan, IncomeCategory(coverage.income_category)
        )
        return Enrolled(insured.token, coverage.id, copay)
