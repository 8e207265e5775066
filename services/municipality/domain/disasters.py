"""Disaster support: victim support (被災者生活再建支援法) and the evacuation support list
(避難行動要支援者名簿), from health's care flags and tax's income answers.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from mynumber_core.errors import InvalidInput
from services.municipality.domain.care import CareCertification


class DamageLevel(enum.IntEnum):
    """被害認定 of a dwelling."""

    TOTAL_COLLAPSE = 1  # 全壊
    LONG_TERM_EVACUATION = 2  # 長期避難
    LARGE_SCALE_HALF = 3  # 大規模半壊
    MEDIUM_SCALE_HALF = 4  # 中規模半壊

    @property
    def label(self) -> str:
        """The level as written on the damage certificate (罹災証明書)."""
        return {1: "全壊", 2: "長期避難", 3: "大規模半壊", 4: "中規模半壊"}[int(self)]


BASE_SUPPORT_YEN: dict[DamageLevel, int] = {
    DamageLevel.TOTAL_COLLAPSE: 1_000_000,
    DamageLevel.LONG_TERM_EVACUATION: 1_000_000,
    DamageLevel.LARGE_SCALE_HALF: 500_000,
    DamageLevel.MEDIUM_SCALE_HALF: 0,
}
"""基礎支援金 of the Act on Support for Reconstructing Livelihoods of Disaster Victims
(被災者生活再建支援法 Art. 3) for a household of two or more; 中規模半壊 gets only the
additional support (加算支援金), which depends on the rebuilding plan and is decided later."""
FULL_INCOME_LIMIT_YEN = 5_000_000
MIDDLE_INCOME_LIMIT_YEN = 7_000_000
UPPER_INCOME_LIMIT_YEN = 8_000_000


@dataclass(frozen=True)
class SupportDecision:
    """A household's computed support and how it was reached."""

    support_yen: int
    basis: str


def victim_support(
    damage: DamageLevel,
    household_size: int,
    household_income_yen: int,
    householder_age: int,
    needs_care: bool,
) -> SupportDecision:
    """Victim support for one household (the documented rule of this municipality).

    1. Base support by damage level (``BASE_SUPPORT_YEN``); a one-person household gets
       three quarters (the Act's Art. 3(5)).
    2. Income test, as the Act applied it from 2004 to 2007 and as this municipality still
       applies it to its own supplement: the household's total income of the previous year
       up to ¥5,000,000 → full; up to ¥7,000,000 → half when the householder is 45 or older
       or the household needs care (要援護世帯); up to ¥8,000,000 → half when the householder
       is 60 or older or the household needs care; otherwise nothing.
    Amounts are rounded down to the yen.
    """
    if household_size < 1:
        raise InvalidInput("a household has at least one member")
    if household_income_yen < 0:
        raise InvalidInput("household income cannot be negative")
    base = BASE_SUPPORT_YEN[damage]
    parts = [f"{damage.label} base ¥{base:,}"]
    if household_size == 1:
        base = base * 3 // 4
        parts.append("single-person household ×3/4")
    income = household_income_yen
    if income <= FULL_INCOME_LIMIT_YEN:
        full, reason = True, "income ≤ ¥5,000,000: full"
    elif income <= MIDDLE_INCOME_LIMIT_YEN and (householder_age >= 45 or needs_care):
        full, reason = False, "income ≤ ¥7,000,000 with householder 45+ or care: half"
    elif income <= UPPER_INCOME_LIMIT_YEN and (householder_age >= 60 or needs_care):
        full, reason = False, "income ≤ ¥8,000,000 with householder 60+ or care: half"
    else:
        return SupportDecision(0, "; ".join([*parts, "income above the limit: none"]))
    amount = base if full else base // 2
    parts.append(reason)
    return SupportDecision(amount, "; ".join(parts))


ELDERLY_ALONE_AGE = 75


@dataclass(frozen=True)
class EvacuationNeed:
    """Whether a resident goes on the 避難行動要支援者名簿, and why."""

    needed: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)


def evacuation_need(
    care: CareCertification | None,
    care_flags: Sequence[str],
    age: int,
    household_size: int,
) -> EvacuationNeed:
    """The list's criteria (災害対策基本法 Art. 49-10): 要介護 certification, the insurer's
    disability or chronic-care flags, or an elderly resident (75+) living alone."""
    reasons: list[str] = []
    if care is not None and care.level.needs_care:
        reasons.append(f"ltc:{care.level.label}")
    reasons.extend(f"care_flag:{flag}" for flag in care_flags)
    if age >= ELDERLY_ALONE_AGE and household_size == 1:
        reasons.append("elderly_living_alone")
    return EvacuationNeed(bool(reasons), tuple(reasons))


def care_flags_from(data: dict[str, object]) -> list[str]:
    """The flag names in a health ``care_flags`` answer.

    The insurer answers ``{"disability_grade": 0-6, "chronic_care": [...],
    "needs_evacuation_assistance": bool}``; a grade gives ``disability_grade_<n>``, each
    chronic-care need ``chronic_care:<kind>``, and the assistance flag its own name.
    A plain ``{"flags": [...]}`` list is accepted too.
    """
    flags = data.get("flags")
    if isinstance(flags, list):
        return sorted(str(f) for f in flags if f)
    names: list[str] = []
    grade = data.get("disability_grade")
    if isinstance(grade, int) and not isinstance(grade, bool) and grade > 0:
        names.append(f"disability_grade_{grade}")
    chronic = data.get("chronic_care")
    if isinstance(chronic, list):
        names.extend(f"chronic_care:{c}" for c in chronic if c)
    if data.get("needs_evacuation_assistance") is True:
        names.append("needs_evacuation_assistance")
    return sorted(names)


def income_from(data: dict[str, object]) -> int | None:
    """Total income in yen from a tax ``income`` answer (``total_income``, else ``income``)."""
    for key in ("total_income", "income", "total_income_yen", "amount"):
        value = data.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    return None
