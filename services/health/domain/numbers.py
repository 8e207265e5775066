"""Insurer number (保険者番号) and insured number (被保険者記号・番号・枝番).

Insurer number (厚生労働省「保険者番号設定要領」): 8 digits = 法別番号 (2) + 都道府県番号 (2) +
保険者別番号 (3) + 検証番号 (1); National Health Insurance has no 法別番号 and so 6 digits. The
check digit: multiply the body's digits by 2 and 1 alternately starting from its *last* digit,
add the products (a two-digit product counts as the sum of its digits), and subtract the last
digit of the total from 10 (0 when that last digit is 0) — the Luhn rule. Worked example from
the guideline: 3312001 → 6+3+2+2+0+0+2 = 15 → check digit 5.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from mynumber_core.errors import InvalidInput
from mynumber_core.insurer_number import check_digit as insurer_check_digit
from mynumber_core.insurer_number import with_check_digit
from services.health.domain.terms import MAX_NUMBER, MAX_SYMBOL, PlanType

_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_MAX_RAW = 64

# 法別番号 of the employee, mariner, mutual-aid and late-elderly schemes (8-digit numbers).
HOUBETSU_CODES: frozenset[str] = frozenset(
    {"01", "02", "03", "04", "06", "07", "31", "32", "33", "34", "39", "63", "72", "73"}
    | {"74", "75"}
)
_HOUBETSU_BY_PLAN = {PlanType.KYOKAI_KENPO: "01", PlanType.LATE_ELDERLY: "39"}


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


make_insurer_number = with_check_digit
"""A body plus its check digit (for demo data and tests)."""


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
