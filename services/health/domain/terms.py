"""The insurer's vocabulary: schemes, income categories, coverage status, expense and
chronic-care kinds, vaccines, and the input limits every rule shares."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum


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

MAX_EXPENSE_YEN = 100_000_000
MAX_DOSE = 10
MAX_PROVIDER = 100
MAX_CHECKED_BY = 100
MAX_TOKEN = 128
MAX_KEY = 64
MAX_SYMBOL = 20
MAX_NUMBER = 12
OLDEST_DATE = dt.date(1900, 1, 1)
