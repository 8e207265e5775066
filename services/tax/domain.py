"""Income tax rules: the taxpayer reference number, income, deductions, rates, payouts.

Plain values and rules only (no gRPC, no SQL). Amounts are whole yen.

**Taxpayer reference number (整理番号)**: 8 digits drawn at random from the OS CSPRNG, first
digit non-zero, unique. Input may use full-width digits; anything else is rejected without
echoing it.

**Employment income (給与所得)**: gross salary minus the employment income deduction
(給与所得控除, 所得税法 28条): ≤ 1,625,000 → 550,000 (650,000 from 2025); ≤ 1,800,000 → 40% −
100,000; ≤ 3,600,000 → 30% + 80,000; ≤ 6,600,000 → 20% + 440,000; ≤ 8,500,000 → 10% +
1,100,000; above → 1,950,000. Total income (合計所得金額) = employment income + business income.

**Deductions**: basic deduction (基礎控除) 480,000 yen (580,000 from 2025; the tapering for
very high incomes and the 2025 low-income additions are not modelled); social insurance
premiums in full (社会保険料控除); medical expenses (医療費控除, 所得税法 73条): expenses −
min(100,000, 5% of total income), at most 2,000,000 yen. Medical expenses come from the health
insurer's records through the registry (procedure ``tax.medical_deduction``).

**Rates** (所得税の速算表, National Tax Agency No.2260): taxable income rounded down to 1,000
yen; 5% up to 1,949,000; 10% − 97,500 up to 3,299,000; 20% − 427,500 up to 6,949,000; 23% −
636,000 up to 8,999,000; 33% − 1,536,000 up to 17,999,000; 40% − 2,796,000 up to 39,999,000;
45% − 4,796,000 above. The special reconstruction income tax (復興特別所得税) adds 2.1% of the
income tax; the total is rounded down to 100 yen (申告納税額の端数処理).

The balance is total tax − withholding − payments: positive is due by 15 March of the next
year, negative is refunded to the public-funds receipt account.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mynumber_core.errors import InvalidInput
from mynumber_core.payout import PayoutDecision, PayoutPolicy

__all__ = ["PayoutDecision", "PayoutPolicy"]

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
FIRST_YEAR = 2015
MAX_AMOUNT = 10**12
MEDICAL_FLOOR = 100_000
MEDICAL_CAP = 2_000_000

BRACKETS: tuple[tuple[int, int, int], ...] = (
    (1_949_000, 5, 0),
    (3_299_000, 10, 97_500),
    (6_949_000, 20, 427_500),
    (8_999_000, 23, 636_000),
    (17_999_000, 33, 1_536_000),
    (39_999_000, 40, 2_796_000),
)
"""(upper bound of taxable income, rate %, amount subtracted) — the quick calculation table."""
TOP_RATE, TOP_SUBTRACT = 45, 4_796_000


# --- identifiers and input ------------------------------------------------------------------


def parse_reference_number(raw: str) -> str:
    """Canonical 8-digit taxpayer reference number; errors never echo the input."""
    text = raw.strip().translate(_FULLWIDTH_DIGITS) if isinstance(raw, str) else ""
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        raise InvalidInput("reference_number must be the 8-digit taxpayer reference number")
    return text


def generate_reference_number(is_taken: Callable[[str], bool], attempts: int = 32) -> str:
    """A random unused reference number (the unique index is the final guard)."""
    for _ in range(attempts):
        candidate = str(10_000_000 + secrets.randbelow(90_000_000))
        if not is_taken(candidate):
            return candidate
    raise RuntimeError("could not find an unused taxpayer reference number")


def check_year(year: int, today: dt.date) -> int:
    """A tax year from FIRST_YEAR up to the current calendar year."""
    if not FIRST_YEAR <= year <= today.year:
        raise InvalidInput(f"year must be between {FIRST_YEAR} and {today.year}")
    return year


def check_amount(field: str, value: int) -> int:
    """A non-negative yen amount below one trillion."""
    if not 0 <= value < MAX_AMOUNT:
        raise InvalidInput(f"{field} must be between 0 and {MAX_AMOUNT - 1:,} yen")
    return value


# --- computation ------------------------------------------------------------------------------


def employment_income_deduction(salary: int, year: int) -> int:
    """給与所得控除 for a gross salary."""
    minimum = 650_000 if year >= 2025 else 550_000
    if salary <= 1_625_000:
        deduction = minimum
    elif salary <= 1_800_000:
        deduction = salary * 40 // 100 - 100_000
    elif salary <= 3_600_000:
        deduction = salary * 30 // 100 + 80_000
    elif salary <= 6_600_000:
        deduction = salary * 20 // 100 + 440_000
    elif salary <= 8_500_000:
        deduction = salary * 10 // 100 + 1_100_000
    else:
        deduction = 1_950_000
    return min(salary, max(deduction, minimum))


def employment_income(salary: int, year: int) -> int:
    """給与所得: salary after the employment income deduction."""
    return max(0, salary - employment_income_deduction(salary, year))


def basic_deduction(year: int) -> int:
    """基礎控除 for a year."""
    return 580_000 if year >= 2025 else 480_000


def medical_deduction(expenses: int, total_income: int) -> int:
    """医療費控除: expenses − min(100,000, 5% of total income), capped at 2,000,000."""
    floor = min(MEDICAL_FLOOR, total_income * 5 // 100)
    return max(0, min(MEDICAL_CAP, expenses - floor))


def income_tax(taxable: int) -> int:
    """Income tax on taxable income (already rounded to 1,000 yen) from the rate table."""
    for upper, rate, subtract in BRACKETS:
        if taxable <= upper:
            return max(0, taxable * rate // 100 - subtract)
    return taxable * TOP_RATE // 100 - TOP_SUBTRACT


@dataclass(frozen=True)
class Income:
    """One year's income as recorded."""

    year: int
    salary: int
    business: int
    withholding: int
    social_insurance: int

    @property
    def employment(self) -> int:
        """給与所得."""
        return employment_income(self.salary, self.year)

    @property
    def total(self) -> int:
        """合計所得金額."""
        return self.employment + self.business


@dataclass(frozen=True)
class Computation:
    """The result of assessing one year."""

    year: int
    total_income: int
    basic_deduction: int
    social_insurance_deduction: int
    medical_expenses: int
    medical_deduction: int
    taxable_income: int
    income_tax: int
    tax_total: int
    withholding: int
    paid: int

    @property
    def balance(self) -> int:
        """Positive: still due; negative: to be refunded."""
        return self.tax_total - self.withholding - self.paid

    @property
    def due(self) -> int:
        """Tax still to pay."""
        return max(0, self.balance)

    @property
    def refund(self) -> int:
        """Tax to refund."""
        return max(0, -self.balance)


def assess(income: Income, medical_expenses: int, paid: int = 0) -> Computation:
    """Assess one year (see the module docstring for every rule)."""
    total = income.total
    basic = basic_deduction(income.year)
    medical = medical_deduction(medical_expenses, total)
    taxable = max(0, total - basic - income.social_insurance - medical)
    taxable -= taxable % 1000
    tax = income_tax(taxable)
    with_surtax = tax + tax * 21 // 1000
    with_surtax -= with_surtax % 100
    return Computation(
        year=income.year,
        total_income=total,
        basic_deduction=basic,
        social_insurance_deduction=income.social_insurance,
        medical_expenses=medical_expenses,
        medical_deduction=medical,
        taxable_income=taxable,
        income_tax=tax,
        tax_total=with_surtax,
        withholding=income.withholding,
        paid=paid,
    )


def due_date(year: int) -> dt.date:
    """The filing and payment deadline of a tax year: 15 March of the next year."""
    return dt.date(year + 1, 3, 15)


def item_id(year: int) -> str:
    """The stable payable-item id of a year's income tax, e.g. ``IT-2024``."""
    return f"IT-{year:04d}"


def parse_item_id(raw: str) -> int:
    """The year of an ``IT-YYYY`` item id."""
    match = re.fullmatch(r"IT-(\d{4})", raw or "")
    if match is None:
        raise InvalidInput("item_id must look like IT-YYYY (income tax for a year)")
    return int(match.group(1))


def medical_total(data: Mapping[str, Any]) -> int | None:
    """Medical expenses paid in the year from the insurer's item; None when malformed."""
    value = data.get("total_yen")
    return value if isinstance(value, int) and value >= 0 else None


# --- payouts ------------------------------------------------------------------------------
# The payout policy (cooling-off holds, shared accounts) is shared with pension; it lives in
# mynumber_core.payout. Re-exported here because the tax use cases take it as a seam.
