"""Coverage periods, ages and copay.

Copay (一部負担金の割合, 健康保険法 Art. 74, 高齢者医療確保法 Art. 67): 20% until the first
31 March after the sixth birthday's eve (義務教育就学前), 30% up to 69, 20% from the month after
the seventieth birthday's eve (30% with 現役並み所得), and in 後期高齢者医療 (from the 75th
birthday) 10%, 20% with 一定以上所得, 30% with 現役並み所得. A person "reaches" an age on the
day before the birthday (年齢計算ニ関スル法律), counted by :mod:`mynumber_core.calendar`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from mynumber_core.calendar import age_on, birthday, reaches_age_on
from mynumber_core.errors import InvalidInput
from services.health.domain.numbers import InsuredNumber, InsurerNumber
from services.health.domain.terms import OLDEST_DATE, CoverageStatus, IncomeCategory, PlanType

# --- dates and ages ---------------------------------------------------------------------


def parse_date(field: str, value: str) -> dt.date:
    """An ISO 8601 calendar date (YYYY-MM-DD) from 1900 on; the message names the field."""
    text = value.strip() if isinstance(value, str) else ""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise InvalidInput(f"{field} must be an ISO 8601 date, YYYY-MM-DD")
    try:
        parsed = dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field} is not a real calendar date") from None
    if parsed < OLDEST_DATE:
        raise InvalidInput(f"{field} must be 1900-01-01 or later")
    return parsed


def parse_past_date(field: str, value: str, today: dt.date) -> dt.date:
    """A date that is not in the future."""
    parsed = parse_date(field, value)
    if parsed > today:
        raise InvalidInput(f"{field} is in the future; record things that have happened")
    return parsed


def _first_march_31_from(day: dt.date) -> dt.date:
    candidate = dt.date(day.year, 3, 31)
    return candidate if candidate >= day else dt.date(day.year + 1, 3, 31)


def _first_of_next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def late_elderly_start(birth: dt.date) -> dt.date:
    """後期高齢者医療 starts on the 75th birthday itself; other schemes end the day before."""
    return birthday(birth, 75)


def copay_percent(birth: dt.date, on: dt.date, plan: PlanType, income: IncomeCategory) -> int:
    """The share of the bill the patient pays, in percent (10, 20 or 30)."""
    if plan is PlanType.LATE_ELDERLY:
        return {
            IncomeCategory.GENERAL: 10,
            IncomeCategory.CERTAIN_INCOME: 20,
            IncomeCategory.ACTIVE_EQUIVALENT: 30,
        }[income]
    if on <= _first_march_31_from(reaches_age_on(birth, 6)):
        return 20
    if on >= _first_of_next_month(reaches_age_on(birth, 70)):
        return 30 if income is IncomeCategory.ACTIVE_EQUIVALENT else 20
    return 30


# --- coverage ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageTerms:
    """What an enrolment opens: scheme, numbers, period and income category."""

    insurer: InsurerNumber
    plan: PlanType
    insured: InsuredNumber
    valid_from: dt.date
    valid_to: dt.date | None
    income: IncomeCategory

    def validate_for(self, birth: dt.date) -> None:
        """Scheme, period and income category must fit the person's age."""
        self.insurer.check_plan(self.plan)
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise InvalidInput("valid_to is before valid_from")
        if self.valid_from < birth:
            raise InvalidInput("valid_from is before the birth date")
        if self.plan is PlanType.LATE_ELDERLY:
            if age_on(birth, self.valid_from) < 65:
                raise InvalidInput(
                    "late_elderly coverage is for people aged 75 (65 with a disability "
                    "certification); valid_from is too early"
                )
        else:
            if self.valid_from >= late_elderly_start(birth):
                raise InvalidInput(
                    f"{self.plan.value} ends at 75; enrol this person in late_elderly"
                )
            if self.income is IncomeCategory.CERTAIN_INCOME:
                raise InvalidInput("certain_income applies only to late_elderly coverage")


def effective_end(terms_plan: PlanType, valid_to: dt.date | None, birth: dt.date) -> dt.date | None:
    """The last covered day: valid_to, and for non-elderly schemes the eve of the 75th birthday."""
    if terms_plan is PlanType.LATE_ELDERLY:
        return valid_to
    cap = late_elderly_start(birth) - dt.timedelta(days=1)
    return cap if valid_to is None else min(valid_to, cap)


def coverage_status(valid_from: dt.date, last_day: dt.date | None, on: dt.date) -> CoverageStatus:
    """ACTIVE inside the period, PENDING before it, LAPSED after it."""
    if on < valid_from:
        return CoverageStatus.PENDING
    if last_day is not None and on > last_day:
        return CoverageStatus.LAPSED
    return CoverageStatus.ACTIVE


def periods_overlap(
    a_from: dt.date, a_to: dt.date | None, b_from: dt.date, b_to: dt.date | None
) -> bool:
    """True when two (possibly open-ended) periods share a day."""
    return (a_to is None or b_from <= a_to) and (b_to is None or a_from <= b_to)
