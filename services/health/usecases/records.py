"""Shared by the insurer's use cases: idempotency keys, the insured person and their coverages.

:class:`CoverageView` is a coverage row read with the holder's birth date: its status, its last
day (the eve of the 75th birthday for non-elderly schemes) and its copay on a date.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors
from services.health import domain
from services.health.domain import (
    CoverageStatus,
    IncomeCategory,
    InsuredNumber,
    InsurerNumber,
    PlanType,
)
from services.health.models import Coverage, IdempotencyKey, Insured
from services.health.usecases.context import INSURED_INDEX_PURPOSE, Context


def new_id() -> str:
    """A fresh row id."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class CoverageView:
    """A coverage row with its holder's birth date."""

    row: Coverage
    birth: dt.date

    @property
    def plan(self) -> PlanType:
        """The scheme."""
        return PlanType(self.row.plan)

    @property
    def last_day(self) -> dt.date | None:
        """The last covered day, if any."""
        return domain.effective_end(self.plan, self.row.valid_to, self.birth)

    def status(self, on: dt.date) -> CoverageStatus:
        """Active, not yet started or ended on ``on``."""
        return domain.coverage_status(self.row.valid_from, self.last_day, on)

    def copay(self, on: dt.date) -> int:
        """The copay percentage on ``on`` (0 when not covered)."""
        if self.status(on) is not CoverageStatus.ACTIVE:
            return 0
        income = IncomeCategory(self.row.income_category)
        return domain.copay_percent(self.birth, on, self.plan, income)

    def insured(self) -> InsuredNumber:
        """The insured number on the card."""
        return InsuredNumber(self.row.symbol, self.row.number, self.row.branch)

    def as_item(self, on: dt.date) -> dict[str, Any]:
        """The coverage as the ``coverage`` item shows it."""
        insured = self.insured()
        return {
            "status": self.status(on).value,
            "plan": self.plan.value,
            "insurer_number": self.row.insurer_number,
            "insured_symbol": insured.symbol,
            "insured_number": insured.number,
            "insured_branch": insured.branch,
            "valid_from": self.row.valid_from.isoformat(),
            "valid_to": self.last_day.isoformat() if self.last_day else None,
            "copay_percent": self.copay(on),
        }


def select_current(views: Sequence[CoverageView], on: dt.date) -> CoverageView | None:
    """The coverage that applies on ``on``; else the latest that ended; else the next one."""
    ordered = sorted(views, key=lambda v: v.row.valid_from)
    for view in ordered:
        if view.status(on) is CoverageStatus.ACTIVE:
            return view
    started = [v for v in ordered if v.row.valid_from <= on]
    if started:
        return started[-1]
    return ordered[0] if ordered else None


def insured_by_token(session: Session, token: str) -> Insured:
    """The insured person behind the insurer's registry token."""
    row = session.scalars(select(Insured).where(Insured.token == token)).first()
    if row is None:
        raise errors.NotFound("no insured person has this token; enrol the person first")
    return row


def views(session: Session, insured: Insured) -> list[CoverageView]:
    """Every coverage the person holds or held here."""
    birth = dt.date.fromisoformat(insured.birth_date)
    rows = session.scalars(select(Coverage).where(Coverage.insured_id == insured.id)).all()
    return [CoverageView(r, birth) for r in rows]


def replayed(session: Session, scope: str, key: str) -> str | None:
    """The result id stored under an idempotency key (none when no key was given)."""
    if not key:
        return None
    return session.scalars(
        select(IdempotencyKey.result_id).where(
            IdempotencyKey.scope == scope, IdempotencyKey.key == key
        )
    ).first()


def remember(ctx: Context, session: Session, scope: str, key: str, result_id: str) -> None:
    """Store a write's result id under its idempotency key (same transaction as the write)."""
    if key:
        session.add(
            IdempotencyKey(scope=scope, key=key, result_id=result_id, created_at=ctx.clock())
        )


def coverage_by_number(
    ctx: Context, session: Session, insurer: InsurerNumber, insured: InsuredNumber
) -> Coverage | None:
    """The coverage a card's insurer number and insured number name, if any."""
    candidates = ctx.blind.candidates(INSURED_INDEX_PURPOSE, insured.lookup_key(insurer))
    return session.scalars(
        select(Coverage).where(
            Coverage.insurer_number == insurer.value, Coverage.insured_index.in_(candidates)
        )
    ).first()
