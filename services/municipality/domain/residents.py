"""A resident on the register: the form a clerk types, name kana, resident type, foreign
residents' details (住民基本台帳法 Art. 30-45) and register status.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
import unicodedata
from dataclasses import dataclass

from mynumber_core.errors import InvalidInput
from mynumber_core.facts import BasicFacts, parse_name_kana
from services.municipality.domain.areas import Area, address_area
from services.municipality.domain.inputs import parse_date


class ResidentType(enum.StrEnum):
    """日本人住民 or 外国人住民."""

    CITIZEN = "citizen"
    FOREIGN = "foreign"


RESIDENCE_STATUSES: frozenset[str] = frozenset(
    {
        "外交",
        "公用",
        "教授",
        "芸術",
        "宗教",
        "報道",
        "高度専門職",
        "経営・管理",
        "法律・会計業務",
        "医療",
        "研究",
        "教育",
        "技術・人文知識・国際業務",
        "企業内転勤",
        "介護",
        "興行",
        "技能",
        "特定技能",
        "技能実習",
        "文化活動",
        "留学",
        "研修",
        "家族滞在",
        "特定活動",
        "永住者",
        "日本人の配偶者等",
        "永住者の配偶者等",
        "定住者",
        "特別永住者",
    }
)
"""在留資格 under the Immigration Control Act (別表第一・第二), plus 特別永住者."""
PERMANENT_STATUSES = frozenset({"永住者", "特別永住者"})
"""Statuses without a period of stay."""

_CARD = re.compile(r"[A-Z]{2}[0-9]{8}[A-Z]{2}")


def parse_residence_card_number(raw: str) -> str:
    """在留カード番号: two letters, eight digits, two letters (e.g. ``AB12345678CD``).

    Full-width characters and lower case are normalised; hyphens and spaces are rejected.
    """
    if not isinstance(raw, str):
        raise InvalidInput("residence_card_number must be text")
    text = unicodedata.normalize("NFKC", raw).strip().upper()
    if not text:
        raise InvalidInput("residence_card_number is required for a foreign resident")
    if len(text) != 12 or not text.isascii() or not _CARD.fullmatch(text):
        raise InvalidInput(
            "residence_card_number must be 2 letters, 8 digits and 2 letters (12 characters, "
            "e.g. AB12345678CD)"
        )
    return text


@dataclass(frozen=True)
class ForeignDetails:
    """What the register holds for a foreign resident (住民基本台帳法 Art. 30-45)."""

    nationality: str
    residence_status: str
    residence_card_number: str
    period_of_stay_until: dt.date | None

    @classmethod
    def parse(
        cls,
        nationality: str,
        residence_status: str,
        residence_card_number: str,
        period_of_stay_until: str,
        *,
        today: dt.date,
    ) -> ForeignDetails:
        """Validate a foreign resident's details."""
        nat = unicodedata.normalize("NFKC", nationality or "").strip()
        if not nat:
            raise InvalidInput("nationality is required for a foreign resident")
        if len(nat) > 50 or any(unicodedata.category(c).startswith("C") for c in nat):
            raise InvalidInput("nationality must be a country or region name or code")
        if len(nat) == 2 and nat.isascii() and nat.isalpha():
            nat = nat.upper()
        if nat in ("JP", "日本", "JPN"):
            raise InvalidInput("a foreign resident's nationality cannot be Japan")
        status = unicodedata.normalize("NFKC", residence_status or "").strip()
        status = status.replace("･", "・")
        if status not in RESIDENCE_STATUSES:
            raise InvalidInput(
                "residence_status must be a status of residence (在留資格) such as "
                "技術・人文知識・国際業務, 留学, 家族滞在, 永住者 or 定住者"
            )
        card = parse_residence_card_number(residence_card_number)
        until: dt.date | None = None
        if status in PERMANENT_STATUSES:
            if (period_of_stay_until or "").strip():
                raise InvalidInput(f"{status} has no period of stay; leave it empty")
        else:
            if not (period_of_stay_until or "").strip():
                raise InvalidInput("period_of_stay_until is required for this status")
            until = parse_date("period_of_stay_until", period_of_stay_until)
            if until < today:
                raise InvalidInput(
                    "period_of_stay_until has passed; a resident's period of stay must be valid"
                )
        return cls(nat, status, card, until)


class ResidentStatus(enum.StrEnum):
    """Whether the resident is on the register."""

    RESIDENT = "resident"
    MOVED_OUT = "moved_out"
    DECEASED = "deceased"


@dataclass(frozen=True)
class ResidentInput:
    """Validated registration facts."""

    facts: BasicFacts
    name_kana: str
    resident_type: ResidentType
    foreign: ForeignDetails | None
    area: Area


@dataclass(frozen=True)
class ResidentForm:
    """A registration form as the clerk typed it (raw text; :meth:`parse` validates)."""

    name: str
    name_kana: str
    birth_date: str
    sex: str
    address: str
    resident_type: str
    nationality: str = ""
    residence_status: str = ""
    residence_card_number: str = ""
    period_of_stay_until: str = ""

    def parse(self, today: dt.date) -> ResidentInput:
        """Validate every field; raises :class:`InvalidInput` naming the first bad one."""
        facts = BasicFacts.parse(self.name, self.birth_date, self.sex, self.address)
        kana = parse_name_kana(self.name_kana)
        facts = dataclasses.replace(facts, name_kana=kana)
        try:
            kind = ResidentType(self.resident_type)
        except ValueError:
            raise InvalidInput("resident_type must be citizen or foreign") from None
        foreign: ForeignDetails | None = None
        if kind is ResidentType.FOREIGN:
            foreign = ForeignDetails.parse(
                self.nationality,
                self.residence_status,
                self.residence_card_number,
                self.period_of_stay_until,
                today=today,
            )
        elif any(
            (
                self.nationality,
                self.residence_status,
                self.residence_card_number,
                self.period_of_stay_until,
            )
        ):
            raise InvalidInput("nationality and residence details are only for foreign residents")
        return ResidentInput(facts, kana, kind, foreign, address_area(facts.address))
