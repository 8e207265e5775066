"""Pension rules: the basic pension number, fiscal years, contributions, exemptions, claims.

Plain values and rules only (no gRPC, no SQL).

**Basic pension number (基礎年金番号)**: ``NNNN-NNNNNN`` — a 4-digit office code and a 6-digit
serial, drawn at random from the OS CSPRNG and unique. Input may use full-width digits and may
omit the hyphen; anything else is rejected without echoing it.

**Contributions**: the national pension monthly contribution (国民年金保険料) is fixed per
fiscal year (April to March) by the Japan Pension Service; ``MONTHLY_CONTRIBUTION``
(:mod:`mynumber_core.pension_rates`) holds the published amounts (e.g. 17,510 yen for FY2025,
令和7年度).

**Exemption rule** (国民年金保険料の免除制度, Japan Pension Service,
https://www.nenkin.go.jp/service/kokunen/menjo/20150428.html), tested on the applicant's
*previous-year* total income (前年所得, 合計所得金額):

* full exemption (全額免除): income ≤ (dependents + 1) × 350,000 + 320,000 yen;
* three-quarters (4分の3免除): income ≤ 880,000 + dependants deduction + social insurance;
* half (半額免除): income ≤ 1,280,000 + dependants deduction + social insurance;
* quarter (4分の1免除): income ≤ 1,680,000 + dependants deduction + social insurance;
* otherwise no exemption.

The dependants deduction (扶養親族等控除額) is taken as 380,000 yen per dependant (the general
rate; the higher rates for specified or elderly dependants are not modelled). The number of
dependants comes from the municipality's household item (see ``dependents_in_household``).
Simplifications: the exemption period is taken as the fiscal year (the real one runs July
to June), and only the applicant's income is tested (the real test also covers the
householder and spouse).

**Old-age basic pension claim (老齢基礎年金)**: eligible at age 65 or older with at least 120
qualifying months (受給資格期間 of 10 years since August 2017; paid and exempt months count).
The annual amount is the FY2025 full amount, 831,700 yen, × min(months, 480) / 480.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mynumber_core.errors import InvalidInput
from mynumber_core.orphan_records import month_index
from mynumber_core.pension_rates import MONTHLY_CONTRIBUTION

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９－", "0123456789-")
_BPN = re.compile(r"(\d{4})-?(\d{6})")
_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


FULL_EXEMPTION_PER_PERSON = 350_000
FULL_EXEMPTION_BASE = 320_000
DEPENDANT_DEDUCTION = 380_000
PARTIAL_LIMITS = ((880_000, "three_quarters"), (1_280_000, "half"), (1_680_000, "quarter"))
QUALIFYING_MONTHS = 120
PENSION_AGE = 65
FULL_ANNUAL_AMOUNT = 831_700
FULL_MONTHS = 480


class Category(enum.IntEnum):
    """Insured category (被保険者の種別)."""

    FIRST = 1  # 第1号: pays the national pension contribution directly
    SECOND = 2  # 第2号: employee, contributes through the employees' pension
    THIRD = 3  # 第3号: dependent spouse of a category 2 insured, no contribution


class ExemptionLevel(enum.StrEnum):
    """Outcome of the exemption test; values are stored and shown."""

    NONE = "none"
    FULL = "full"
    THREE_QUARTERS = "three_quarters"
    HALF = "half"
    QUARTER = "quarter"


EXEMPT_FRACTION: Mapping[ExemptionLevel, tuple[int, int]] = {
    ExemptionLevel.NONE: (0, 1),
    ExemptionLevel.FULL: (1, 1),
    ExemptionLevel.THREE_QUARTERS: (3, 4),
    ExemptionLevel.HALF: (1, 2),
    ExemptionLevel.QUARTER: (1, 4),
}
"""The share of the contribution waived at each level."""

LEVEL_NAMES_JA: Mapping[ExemptionLevel, str] = {
    ExemptionLevel.NONE: "免除非該当",
    ExemptionLevel.FULL: "全額免除",
    ExemptionLevel.THREE_QUARTERS: "4分の3免除",
    ExemptionLevel.HALF: "半額免除",
    ExemptionLevel.QUARTER: "4分の1免除",
}


# --- identifiers -------------------------------------------------------------------------


def parse_basic_pension_number(raw: str) -> str:
    """Canonical ``NNNN-NNNNNN`` form; raises :class:`InvalidInput` without echoing input."""
    if not isinstance(raw, str) or len(raw) > 32:
        raise InvalidInput("basic_pension_number must be 10 digits as NNNN-NNNNNN")
    match = _BPN.fullmatch(raw.strip().translate(_FULLWIDTH_DIGITS))
    if match is None or not raw.strip().translate(_FULLWIDTH_DIGITS).isascii():
        raise InvalidInput("basic_pension_number must be 10 digits as NNNN-NNNNNN")
    return f"{match.group(1)}-{match.group(2)}"


def generate_basic_pension_number(is_taken: Callable[[str], bool], attempts: int = 32) -> str:
    """A random unused basic pension number (the unique index is the final guard)."""
    for _ in range(attempts):
        office = 1000 + secrets.randbelow(9000)  # office codes do not start with 0
        candidate = f"{office:04d}-{secrets.randbelow(10**6):06d}"
        if not is_taken(candidate):
            return candidate
    raise RuntimeError("could not find an unused basic pension number")


def parse_key(field: str, raw: str) -> str:
    """An idempotency key from a form or a client: 1-64 of ``[A-Za-z0-9_-]``."""
    if not isinstance(raw, str) or _KEY.fullmatch(raw) is None:
        raise InvalidInput(f"{field} must be 1-64 characters of letters, digits, '-' or '_'")
    return raw


def parse_category(value: int) -> Category:
    """An insured category 1, 2 or 3."""
    try:
        return Category(value)
    except ValueError:
        raise InvalidInput("category must be 1, 2 or 3 (第1号/第2号/第3号被保険者)") from None


def parse_date(field: str, raw: str, *, default: dt.date) -> dt.date:
    """An ISO date, or ``default`` when empty."""
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{field} must be an ISO 8601 date, YYYY-MM-DD") from None


# --- fiscal years and contributions --------------------------------------------------------


def month_of_fiscal_year(fiscal_year: int, index: int) -> tuple[int, int]:
    """(calendar year, month) of the ``index``-th month (1 = April … 12 = March)."""
    month = (index + 2) % 12 + 1
    return (fiscal_year if index <= 9 else fiscal_year + 1), month


def due_date(fiscal_year: int, index: int) -> dt.date:
    """Payment deadline: the last day of the month after the contribution month."""
    year, month = month_of_fiscal_year(fiscal_year, index)
    first_of_after_next = dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return first_of_after_next - dt.timedelta(days=1)


def monthly_contribution(fiscal_year: int) -> int:
    """The monthly contribution for a fiscal year, or a clear error for unknown years."""
    try:
        return MONTHLY_CONTRIBUTION[fiscal_year]
    except KeyError:
        known = f"{min(MONTHLY_CONTRIBUTION)}-{max(MONTHLY_CONTRIBUTION)}"
        raise InvalidInput(
            f"no contribution rate on record for FY{fiscal_year}; known {known}"
        ) from None


def check_contribution(fiscal_year: int, months: int, amount: int, rate: int) -> None:
    """Validate a payment: 1-12 months, amount = months × the monthly amount due."""
    if not 1 <= months <= 12:
        raise InvalidInput("months_paid must be between 1 and 12")
    if amount != months * rate:
        raise InvalidInput(
            f"amount_yen must be months_paid × {rate:,} yen (the FY{fiscal_year} monthly "
            f"amount due) = {months * rate:,} yen"
        )


def months_in_scope(enrolled_on: dt.date, until: dt.date, fiscal_year: int) -> list[int]:
    """Month indices of a fiscal year from the enrolment month up to ``until``'s month."""
    start = (enrolled_on.year, enrolled_on.month)
    end = (until.year, until.month)
    return [i for i in range(1, 13) if start <= month_of_fiscal_year(fiscal_year, i) <= end]


def reduced_contribution(fiscal_year: int, level: ExemptionLevel) -> int:
    """What is still due for one month under a (partial) exemption, rounded down to 10 yen.

    Years after the last published rate use the latest rate.
    """
    num, den = EXEMPT_FRACTION[level]
    rate = MONTHLY_CONTRIBUTION.get(fiscal_year) or monthly_contribution(
        min(max(fiscal_year, min(MONTHLY_CONTRIBUTION)), max(MONTHLY_CONTRIBUTION))
    )
    due = rate * (den - num) // den
    return due - due % 10


def month_item_id(fiscal_year: int, index: int) -> str:
    """The stable id of one contribution month as a payable item, e.g. ``NP-2025-07``."""
    year, month = month_of_fiscal_year(fiscal_year, index)
    return f"NP-{year:04d}-{month:02d}"


def parse_month_item_id(raw: str) -> tuple[int, int]:
    """(fiscal year, month index) of a payable item id; InvalidInput when malformed."""
    match = re.fullmatch(r"NP-(\d{4})-(\d{2})", raw or "")
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput("item_id must look like NP-YYYY-MM (a pension contribution month)")
    year, month = int(match.group(1)), int(match.group(2))
    fiscal_year = year if month >= 4 else year - 1
    index = (month - 4) % 12 + 1
    return fiscal_year, index


# --- exemption ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExemptionTest:
    """The inputs and outcome of one exemption decision."""

    level: ExemptionLevel
    income: int
    dependents: int
    social_insurance: int
    reason: str


def decide_exemption(income: int, dependents: int, social_insurance: int = 0) -> ExemptionTest:
    """Apply the documented income rule (see the module docstring)."""
    if income < 0 or dependents < 0 or social_insurance < 0:
        raise InvalidInput("income, dependents and social insurance must not be negative")
    full_limit = (dependents + 1) * FULL_EXEMPTION_PER_PERSON + FULL_EXEMPTION_BASE
    if income <= full_limit:
        return ExemptionTest(
            ExemptionLevel.FULL,
            income,
            dependents,
            social_insurance,
            f"income {income:,} yen ≤ full-exemption limit {full_limit:,} yen",
        )
    extra = dependents * DEPENDANT_DEDUCTION + social_insurance
    for base, level in PARTIAL_LIMITS:
        limit = base + extra
        if income <= limit:
            return ExemptionTest(
                ExemptionLevel(level),
                income,
                dependents,
                social_insurance,
                f"income {income:,} yen ≤ {level.replace('_', '-')} exemption limit {limit:,} yen",
            )
    limit = PARTIAL_LIMITS[-1][0] + extra
    return ExemptionTest(
        ExemptionLevel.NONE,
        income,
        dependents,
        social_insurance,
        f"income {income:,} yen exceeds the quarter-exemption limit {limit:,} yen",
    )


def dependents_in_household(household: Mapping[str, Any]) -> int:
    """Dependants counted for the exemption test, from the municipality's household item.

    The resident register does not record tax dependency, so: when the applicant is the
    householder (世帯主), every other member of the household counts (spouse and relatives,
    扶養親族等); otherwise none does (they are the householder's dependants).
    """
    if not household.get("is_householder"):
        return 0
    members = household.get("members")
    if isinstance(members, list):
        return sum(1 for m in members if isinstance(m, dict) and not m.get("is_subject"))
    size = household.get("size")
    return size - 1 if isinstance(size, int) and size >= 1 else 0


# --- claims ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimTest:
    """Outcome of the old-age basic pension eligibility test."""

    approved: bool
    contribution_months: int
    age: int
    annual_amount: int
    reason: str


def decide_claim(contribution_months: int, age: int) -> ClaimTest:
    """Eligibility and amount of the old-age basic pension (see the module docstring)."""
    if age < PENSION_AGE:
        return ClaimTest(
            False, contribution_months, age, 0, f"age {age} is below the pension age {PENSION_AGE}"
        )
    if contribution_months < QUALIFYING_MONTHS:
        return ClaimTest(
            False,
            contribution_months,
            age,
            0,
            f"{contribution_months} qualifying months on record; {QUALIFYING_MONTHS} are needed",
        )
    amount = FULL_ANNUAL_AMOUNT * min(contribution_months, FULL_MONTHS) // FULL_MONTHS
    return ClaimTest(
        True,
        contribution_months,
        age,
        amount,
        f"age {age} and {contribution_months} qualifying months meet the requirements",
    )


def months_counted(
    covered: Iterable[tuple[int, int]], merged: Iterable[tuple[str, str, int]]
) -> int:
    """Contribution months, each calendar month counted once.

    ``covered``: the (calendar year, month) already on record (paid or fully exempt).
    ``merged``: confirmed ledger records as (period_start, period_end, months) with
    ``YYYY-MM`` periods, oldest first. A record adds the months of its period not already
    counted, at most its own ``months`` (a ledger that paid fewer months than its period does
    not say which: the earliest free ones are taken, so a later record cannot count them
    again). Two records, or a record and the counter's receipts, for the same month count it
    once — one person cannot pay one month twice.
    """
    counted = {year * 12 + month - 1 for year, month in covered}
    total = len(counted)
    for start, end, months in merged:
        first = month_index("merged record", "period_start", start)
        last = month_index("merged record", "period_end", end)
        free = [m for m in range(first, last + 1) if m not in counted][: max(months, 0)]
        counted.update(free)
        total += len(free)
    return total


def estimated_annual_amount(contribution_months: int) -> int:
    """The old-age basic pension a year that ``contribution_months`` would earn (the claim's
    formula, before the age and the qualifying period are checked): what the pension record
    shows as its estimate."""
    return FULL_ANNUAL_AMOUNT * min(contribution_months, FULL_MONTHS) // FULL_MONTHS
