"""Health-insurance rules, one module per concern (no gRPC, no SQL).

- ``terms``: schemes, categories, vaccines and input limits;
- ``numbers``: insurer and insured numbers;
- ``coverage``: coverage periods, ages and copay;
- ``records``: checks for expenses, vaccinations and notices, care flags, expense summary.

Error messages describe what is wrong with the *shape* of an input and never echo it back, so
they are safe to log and return. The names are re-exported here so callers write ``domain.X``.
"""

from __future__ import annotations

from mynumber_core.calendar import age_on, birthday, reaches_age_on
from services.health.domain.coverage import (
    CoverageTerms,
    copay_percent,
    coverage_status,
    effective_end,
    late_elderly_start,
    parse_date,
    parse_past_date,
    periods_overlap,
)
from services.health.domain.numbers import (
    HOUBETSU_CODES,
    InsuredNumber,
    InsurerNumber,
    insurer_check_digit,
    make_insurer_number,
)
from services.health.domain.records import (
    NO_CARE_FLAGS,
    CareFlags,
    Expense,
    check_amount,
    check_dose,
    check_idempotency_key,
    check_token,
    check_vaccine,
    check_year,
    clean_text,
    expense_summary,
    require,
)
from services.health.domain.terms import (
    MAX_CHECKED_BY,
    MAX_DOSE,
    MAX_EXPENSE_YEN,
    MAX_KEY,
    MAX_NUMBER,
    MAX_PROVIDER,
    MAX_SYMBOL,
    MAX_TOKEN,
    OLDEST_DATE,
    VACCINE_NAMES,
    VACCINES,
    ChronicCare,
    CoverageStatus,
    ExpenseCategory,
    IncomeCategory,
    PlanType,
)

__all__ = [
    "HOUBETSU_CODES",
    "MAX_CHECKED_BY",
    "MAX_DOSE",
    "MAX_EXPENSE_YEN",
    "MAX_KEY",
    "MAX_NUMBER",
    "MAX_PROVIDER",
    "MAX_SYMBOL",
    "MAX_TOKEN",
    "NO_CARE_FLAGS",
    "OLDEST_DATE",
    "VACCINES",
    "VACCINE_NAMES",
    "CareFlags",
    "ChronicCare",
    "CoverageStatus",
    "CoverageTerms",
    "Expense",
    "ExpenseCategory",
    "IncomeCategory",
    "InsuredNumber",
    "InsurerNumber",
    "PlanType",
    "age_on",
    "birthday",
    "check_amount",
    "check_dose",
    "check_idempotency_key",
    "check_token",
    "check_vaccine",
    "check_year",
    "clean_text",
    "copay_percent",
    "coverage_status",
    "effective_end",
    "expense_summary",
    "insurer_check_digit",
    "late_elderly_start",
    "make_insurer_number",
    "parse_date",
    "parse_past_date",
    "periods_overlap",
    "reaches_age_on",
    "require",
]
