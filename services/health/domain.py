"""Health-insurance rules: insurer and insured numbers, coverage periods, copay, records.

Plain dataclasses and functions; no gRPC and no SQL. Error messages describe what is wrong
with the *shape* of an input and never echo it back, so they are safe to log and return.

Insurer number (保険者番号, 厚生労働省「保険者番号設定要領」): 8 digits = 法別番号 (2) +
都道府県番号 (2) + 保険者別番号 (3) + 検証番号 (1); National Health Insurance has no 法別番号 and
so 6 digits. The check digit: multiply the body's digits by 2 and 1 alternately starting from
its *last* digit, add the products (a two-digit product counts as the sum of its digits), and
subtract the last digit of the total from 10 (0 when that last digit is 0) — the Luhn rule.
Worked example from the guideline: 3312001 → 6+3+2+2+0+0+2 = 15 → check digit 5.

Copay (一部負担金の割合, 健康保険法 Art. 74, 高齢者医療確保法 Art. 67): 20% until the first
31 March after the sixth birthday's eve (義務教育就学前), 30% up to 69, 20% from the month after
the seventieth birthday's eve (30% with 現役並み所得), and in 後期高齢者医療 (from the 75th
birthday) 10%, 20% with 一定以上所得, 30% with 現役並み所得. A person "reaches" an age on the
day before the birthday (年齢計算ニ関スル法律).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from mynumber_core.errors import FailedPrecondition, InvalidInput

_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_MAX_RAW = 64


class PlanType(StrEnum):
    """The insurance schemes this insurer administers."""

    NATIONAL_HEALTH_INSURANCE = "national_health_insurance"  # 国民健康保険
    KYOKAI_KENPO = "kyokai_kenpo"  # 協会けんぽ (全国健康保険協会)
    LATE_ELDERLY = "late_elderly"  # 後期高齢者医療


class IncomeCategory(StrEnum):
    """Income category that decides the copay from age 70."""

    GENERAL = "general"  # 一般
    CERTAIN_INCOME = "certain_income"  # 一定以上所得 (後期高齢者医療 only)
    ACTIVE_EQUIVALENT = "active_equivalent"  # 現役並み所得


class CoverageStatus(StrEnum):
    """Whether a coverage applies on a given date."""

    ACTIVE = "active"
    LAPSED = "lapsed"
    PENDING = "pending"


class ExpenseCategory(StrEnum):
    """Kinds of medical expense, as on the 医療費通知."""

    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"
    DENTAL = "dental"
    PHARMACY = "pharmacy"
    HOME_NURSING = "home_nursing"


class ChronicCare(StrEnum):
    """Chronic-care needs that matter in an evacuation."""

    DIALYSIS = "dialysis"
    OXYGEN_THERAPY = "oxygen_therapy"
    VENTILATOR = "ventilator"
    INSULIN = "insulin"
    INTRACTABLE_DISEASE = "intractable_disease"


VACCINE_NAMES: dict[str, str] = {
    "bcg": "BCG",
    "covid19": "新型コロナワクチン",
    "dpt_ipv": "五種混合（DPT-IPV-Hib）・四種混合",
    "hepatitis_b": "B型肝炎",
    "herpes_zoster": "帯状疱疹",
    "hib": "ヒブ",
    "hpv": "HPV（子宮頸がん予防）",
    "influenza": "インフルエンザ",
    "japanese_encephalitis": "日本脳炎",
    "measles_rubella": "麻しん風しん混合（MR）",
    "mumps": "おたふくかぜ",
    "pneumococcal": "肺炎球菌",
    "rotavirus": "ロタウイルス",
    "rsv": "RSウイルス",
    "varicella": "水痘",
}
VACCINES: frozenset[str] = frozenset(VACCINE_NAMES)
"""Vaccine codes accepted (定期接種 and the common voluntary ones)."""

# 法別番号 of the employee, mariner, mutual-aid and late-elderly schemes (8-digit numbers).
HOUBETSU_CODES: frozenset[str] = frozenset(
    {"01", "02", "03", "04", "06", "07", "31", "32", "33", "34", "39", "63", "72", "73"}
    | {"74", "75"}
)
_HOUBETSU_BY_PLAN = {PlanType.KYOKAI_KENPO: "01", PlanType.LATE_ELDERLY: "39"}

MAX_EXPENSE_YEN = 100_000_000
MAX_DOSE = 10
MAX_PROVIDER = 100
MAX_CHECKED_BY = 100
MAX_TOKEN = 128
MAX_KEY = 64
MAX_SYMBOL = 20
MAX_NUMBER = 12
OLDEST_DATE = dt.date(1900, 1, 1)


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


def birthday(birth: dt.date, years: int) -> dt.date:
    """The calendar birthday ``years`` after ``birth`` (29 Feb → 1 Mar in common years)."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return dt.date(birth.year + years, 3, 1)


def reaches_age_on(birth: dt.date, years: int) -> dt.date:
    """The day a person legally reaches an age: the eve of the birthday."""
    return birthday(birth, years) - dt.timedelta(days=1)


def age_on(birth: dt.date, on: dt.date) -> int:
    """Legal age on a date (the age is reached on the eve of the birthday)."""
    age = on.year - birth.year
    return age if on >= reaches_age_on(birth, age) else age - 1


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


# --- insurer number (保険者番号) -----------------------------------------------------------


def _digits(field: str, raw: str) -> str:
    if not isinstance(raw, str):
        raise InvalidInput(f"{field} must be text")
    if len(raw) > _MAX_RAW:
        raise InvalidInput(f"{field} is too long ({len(raw)} characters)")
    text = raw.strip().translate(_FULLWIDTH)
    if not text:
        raise InvalidInput(f"{field} is empty")
    if not all("0" <= ch <= "9" for ch in text):
        raise InvalidInput(f"{field} must contain only digits, without hyphens or spaces")
    return text


def insurer_check_digit(body: str) -> int:
    """The 検証番号 for a 5- or 7-digit body (weights 2,1,2,... from the last digit)."""
    if len(body) not in (5, 7) or not body.isascii() or not body.isdigit():
        raise InvalidInput("an insurer number body has 5 or 7 digits")
    total = 0
    for position, ch in enumerate(reversed(body)):
        product = int(ch) * (2 if position % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


@dataclass(frozen=True)
class InsurerNumber:
    """A validated 保険者番号."""

    value: str

    @property
    def houbetsu(self) -> str | None:
        """法別番号, or None for National Health Insurance (6 digits)."""
        return self.value[:2] if len(self.value) == 8 else None

    @property
    def prefecture(self) -> str:
        """都道府県番号 (01 Hokkaido … 47 Okinawa)."""
        return self.value[-6:-4]

    @classmethod
    def parse(cls, raw: str) -> InsurerNumber:
        """Validate length, 法別番号, prefecture and check digit."""
        text = _digits("insurer_number", raw)
        if len(text) not in (6, 8):
            raise InvalidInput(
                f"insurer_number has {len(text)} digits; it has 8 digits "
                "(6 for National Health Insurance)"
            )
        if len(text) == 8 and text[:2] not in HOUBETSU_CODES:
            raise InvalidInput("insurer_number starts with an unknown 法別番号 (scheme code)")
        if not 1 <= int(text[-6:-4]) <= 47:
            raise InvalidInput("insurer_number has a prefecture code outside 01-47")
        if int(text[-1]) != insurer_check_digit(text[:-1]):
            raise InvalidInput("insurer_number check digit does not match; re-check the card")
        return cls(text)

    def check_plan(self, plan: PlanType) -> None:
        """The number's scheme must be the plan's (国保 6 digits, 協会けんぽ 01, 後期 39)."""
        if plan is PlanType.NATIONAL_HEALTH_INSURANCE:
            if self.houbetsu is not None:
                raise InvalidInput("national_health_insurance needs a 6-digit insurer number")
            return
        if self.houbetsu != _HOUBETSU_BY_PLAN[plan]:
            raise InvalidInput(
                f"{plan.value} needs an 8-digit insurer number starting with "
                f"{_HOUBETSU_BY_PLAN[plan]}"
            )


def make_insurer_number(body: str) -> str:
    """A body plus its check digit (for demo data and tests)."""
    return body + str(insurer_check_digit(body))


# --- insured number (被保険者記号・番号・枝番) ----------------------------------------------


def _symbol_char_ok(ch: str) -> bool:
    if ch.isascii():
        return ch.isalnum() or ch == "-"
    name = unicodedata.name(ch, "")
    return ch == "・" or name.startswith(("CJK UNIFIED IDEOGRAPH", "KATAKANA", "HIRAGANA"))


@dataclass(frozen=True)
class InsuredNumber:
    """A validated 被保険者記号・番号・枝番."""

    symbol: str
    number: str
    branch: str

    @classmethod
    def parse(cls, symbol: str, number: str, branch: str) -> InsuredNumber:
        """NFKC-normalise and validate each part; ASCII letters are upper-cased."""
        if not all(isinstance(v, str) for v in (symbol, number, branch)):
            raise InvalidInput("the insured symbol, number and branch must be text")
        if max(len(symbol), len(number), len(branch)) > _MAX_RAW:
            raise InvalidInput("an insured symbol, number or branch is too long")
        sym = unicodedata.normalize("NFKC", symbol).strip().upper()
        if not sym:
            raise InvalidInput("insured symbol (記号) is empty")
        if len(sym) > MAX_SYMBOL:
            raise InvalidInput(f"insured symbol (記号) has more than {MAX_SYMBOL} characters")
        if not all(_symbol_char_ok(ch) for ch in sym):
            raise InvalidInput(
                "insured symbol (記号) may contain only digits, letters, kana, kanji, '-' and '・'"
            )
        num = _digits("insured number (番号)", number)
        if len(num) > MAX_NUMBER:
            raise InvalidInput(f"insured number (番号) has more than {MAX_NUMBER} digits")
        br = _digits("insured branch (枝番)", branch)
        if len(br) != 2:
            raise InvalidInput("insured branch (枝番) has exactly 2 digits, e.g. 00 or 01")
        return cls(sym, num, br)

    def lookup_key(self, insurer: InsurerNumber) -> str:
        """The string the blind index is computed over."""
        return f"{insurer.value}\x1f{self.symbol}\x1f{self.number}\x1f{self.branch}"


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
