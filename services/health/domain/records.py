"""Records the insurer keeps: input checks for expenses, vaccinations and notices, care flags,
and the yearly medical-expense summary."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mynumber_core.errors import FailedPrecondition, InvalidInput
from services.health.domain.terms import (
    MAX_DOSE,
    MAX_EXPENSE_YEN,
    MAX_KEY,
    MAX_TOKEN,
    VACCINES,
    ChronicCare,
    ExpenseCategory,
)

# --- records ----------------------------------------------------------------------------


def clean_text(field: str, value: str, max_len: int) -> str:
    """Trimmed, NFKC-normalised text without control characters."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text")
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", value)).strip()
    if not text:
        raise InvalidInput(f"{field} is empty")
    if len(text) > max_len:
        raise InvalidInput(f"{field} is too long ({len(text)} characters, at most {max_len})")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in text):
        raise InvalidInput(f"{field} contains control or unassigned characters")
    return text


def check_token(token: str) -> str:
    """A non-empty opaque token of reasonable length."""
    if not isinstance(token, str) or not token.strip():
        raise InvalidInput("token is required; enrol the person first to get it")
    if len(token) > MAX_TOKEN:
        raise InvalidInput(f"token is longer than {MAX_TOKEN} characters")
    return token.strip()


def check_idempotency_key(key: str) -> str:
    """An optional key; at most 64 printable ASCII characters."""
    if not key:
        return ""
    if len(key) > MAX_KEY or not key.isascii() or not key.isprintable():
        raise InvalidInput(f"idempotency_key must be at most {MAX_KEY} printable ASCII characters")
    return key


def check_amount(amount_yen: int) -> int:
    """A positive whole number of yen, at most 100 million per record."""
    if not 1 <= amount_yen <= MAX_EXPENSE_YEN:
        raise InvalidInput(f"amount_yen must be between 1 and {MAX_EXPENSE_YEN:,} yen")
    return amount_yen


def check_vaccine(code: str) -> str:
    """A known vaccine code."""
    text = code.strip().lower() if isinstance(code, str) else ""
    if text not in VACCINES:
        raise InvalidInput(f"vaccine must be one of: {', '.join(sorted(VACCINES))}")
    return text


def check_dose(dose: int) -> int:
    """Dose numbers start at 1."""
    if not 1 <= dose <= MAX_DOSE:
        raise InvalidInput(f"dose must be between 1 and {MAX_DOSE}")
    return dose


def check_year(value: object, today: dt.date) -> int:
    """A calendar year between 1900 and next year (the provider's ``year`` parameter)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput("year is required, e.g. {'year': 2025}")
    try:
        year = int(value)
    except ValueError:
        raise InvalidInput("year must be a whole number, e.g. 2025") from None
    if not 1900 <= year <= today.year + 1:
        raise InvalidInput(f"year must be between 1900 and {today.year + 1}")
    return year


@dataclass(frozen=True)
class CareFlags:
    """Disability grade (0 = none, 1-6) and chronic-care needs."""

    disability_grade: int
    chronic_care: tuple[ChronicCare, ...]
    needs_evacuation_assistance: bool

    @classmethod
    def build(
        cls, disability_grade: int, chronic_care: Iterable[ChronicCare], needs_evacuation: bool
    ) -> CareFlags:
        """Validate the grade and de-duplicate the needs (kept in a stable order)."""
        if not 0 <= disability_grade <= 6:
            raise InvalidInput("disability_grade must be 0 (no certificate) or 1-6")
        ordered = tuple(sorted(set(chronic_care), key=list(ChronicCare).index))
        return cls(disability_grade, ordered, needs_evacuation)

    def as_item(self) -> dict[str, object]:
        """The ``care_flags`` item."""
        return {
            "disability_grade": self.disability_grade,
            "chronic_care": [c.value for c in self.chronic_care],
            "needs_evacuation_assistance": self.needs_evacuation_assistance,
        }


NO_CARE_FLAGS = CareFlags(0, (), False)


@dataclass(frozen=True)
class Expense:
    """One medical expense."""

    date: dt.date
    provider: str
    amount_yen: int
    category: ExpenseCategory


def expense_summary(year: int, expenses: Sequence[Expense]) -> dict[str, object]:
    """The ``medical_expenses`` item: the calendar year's total and its visits, by date."""
    in_year = sorted((e for e in expenses if e.date.year == year), key=lambda e: e.date)
    return {
        "year": year,
        "total_yen": sum(e.amount_yen for e in in_year),
        "visits": [
            {
                "date": e.date.isoformat(),
                "provider": e.provider,
                "amount_yen": e.amount_yen,
                "category": e.category.value,
            }
            for e in in_year
        ],
    }


def require(condition: bool, message: str) -> None:
    """Raise FailedPrecondition when a state rule does not hold."""
    if not condition:
        raise FailedPrecondition(message)
