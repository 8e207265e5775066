"""Rules of the resident register: identifiers, residents, households, areas, care, support.

Plain values and functions only (no gRPC, no SQL). Every validator raises
:class:`~mynumber_core.errors.InvalidInput` with a message that names the field and the rule
and never echoes the value, so messages are safe to log and to return.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from mynumber_core.errors import InvalidInput
from mynumber_core.facts import BasicFacts, normalize_for_match

# ---------------------------------------------------------------------------------------
# Local identifiers: address number (宛名番号) and household number (世帯番号)
# ---------------------------------------------------------------------------------------

ADDRESS_NUMBER_LENGTH = 10
"""宛名番号: 9 random digits (the first never 0) and a Luhn check digit."""
HOUSEHOLD_ID_LENGTH = 9
"""世帯番号: 8 random digits (the first never 0) and a Luhn check digit."""


def luhn_check_digit(body: str) -> int:
    """The Luhn (ISO/IEC 7812-1) check digit for a string of ASCII digits.

    Luhn catches every single-digit substitution and almost every adjacent transposition,
    the two errors a clerk makes when copying a number off a form.
    """
    if not body or not body.isascii() or not body.isdigit():
        raise InvalidInput("a check digit needs a body of ASCII digits")
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:  # the digit next to the check digit is doubled
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def _parse_local_id(raw: str, *, length: int, what: str) -> str:
    if not isinstance(raw, str):
        raise InvalidInput(f"{what} must be given as text")
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise InvalidInput(f"{what} is required")
    if len(text) > 32:
        raise InvalidInput(f"{what} is too long; it has {length} digits")
    if not text.isascii() or not text.isdigit():
        raise InvalidInput(f"{what} must contain digits only ({length} digits, no hyphens)")
    if len(text) != length:
        raise InvalidInput(f"{what} has {len(text)} digits; it must have exactly {length}")
    if text[0] == "0":
        raise InvalidInput(f"{what} never starts with 0; please re-check it")
    if int(text[-1]) != luhn_check_digit(text[:-1]):
        raise InvalidInput(f"the check digit of the {what} does not match; please re-check it")
    return text


def parse_address_number(raw: str) -> str:
    """Canonical address number, or :class:`InvalidInput` saying what is wrong."""
    return _parse_local_id(raw, length=ADDRESS_NUMBER_LENGTH, what="address number")


def parse_household_id(raw: str) -> str:
    """Canonical household number, or :class:`InvalidInput` saying what is wrong."""
    return _parse_local_id(raw, length=HOUSEHOLD_ID_LENGTH, what="household number")


def _generate_local_id(length: int, is_taken: Callable[[str], bool]) -> str:
    for _ in range(64):
        body = (
            str(1 + secrets.randbelow(9))
            + f"{secrets.randbelow(10 ** (length - 2)):0{length - 2}d}"
        )
        candidate = body + str(luhn_check_digit(body))
        if not is_taken(candidate):
            return candidate
    raise RuntimeError("could not find a free local identifier")


def new_address_number(is_taken: Callable[[str], bool]) -> str:
    """A random unused address number (random, so numbers reveal no registration order)."""
    return _generate_local_id(ADDRESS_NUMBER_LENGTH, is_taken)


def new_household_id(is_taken: Callable[[str], bool]) -> str:
    """A random unused household number."""
    return _generate_local_id(HOUSEHOLD_ID_LENGTH, is_taken)


# ---------------------------------------------------------------------------------------
# Resident details: name kana, resident type, foreign residents
# ---------------------------------------------------------------------------------------

_KANA = re.compile(r"[\u30A1-\u30FA\u30FC\u30FB ]+")
MAX_KANA = 100


def parse_name_kana(raw: str) -> str:
    """フリガナ in full-width katakana; half-width kana and ideographic spaces are normalised."""
    if not isinstance(raw, str):
        raise InvalidInput("name_kana must be text")
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", raw)).strip()
    if not text:
        raise InvalidInput("name_kana is empty; give the name in katakana (フリガナ)")
    if len(text) > MAX_KANA:
        raise InvalidInput(f"name_kana is too long (at most {MAX_KANA} characters)")
    if not _KANA.fullmatch(text):
        raise InvalidInput("name_kana must be written in katakana only (e.g. ヤマダ タロウ)")
    return text


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


def _parse_date(field_name: str, value: str) -> dt.date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise InvalidInput(f"{field_name} must be an ISO 8601 date, YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{field_name} is not a real calendar date") from None


def parse_date(field_name: str, value: str) -> dt.date:
    """A required YYYY-MM-DD date."""
    return _parse_date(field_name, value)


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
            until = _parse_date("period_of_stay_until", period_of_stay_until)
            if until < today:
                raise InvalidInput(
                    "period_of_stay_until has passed; a resident's period of stay must be valid"
                )
        return cls(nat, status, card, until)


# ---------------------------------------------------------------------------------------
# Households
# ---------------------------------------------------------------------------------------

HOUSEHOLDER = "世帯主"
RELATIONSHIPS: frozenset[str] = frozenset(
    {
        HOUSEHOLDER,
        "妻",
        "夫",
        "妻(未届)",
        "夫(未届)",
        "子",
        "父",
        "母",
        "孫",
        "祖父",
        "祖母",
        "兄",
        "姉",
        "弟",
        "妹",
        "子の妻",
        "子の夫",
        "妻の父",
        "妻の母",
        "夫の父",
        "夫の母",
        "叔父",
        "叔母",
        "甥",
        "姪",
        "縁故者",
        "同居人",
    }
)
"""続柄 as written in the resident register (住民票)."""


def parse_relationship(raw: str) -> str:
    """A 続柄 from the register's list; full-width brackets are normalised."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if text not in RELATIONSHIPS:
        raise InvalidInput(
            "relationship must be a 続柄 of the resident register, e.g. 妻, 夫, 子, 父, 母, 同居人"
        )
    return text


def same_address(a: str, b: str) -> bool:
    """Addresses equal after NFKC and whitespace normalisation."""
    return normalize_for_match(a).replace(" ", "") == normalize_for_match(b).replace(" ", "")


# ---------------------------------------------------------------------------------------
# Areas: prefecture / city / ward of an address, for disaster matching by blind index
# ---------------------------------------------------------------------------------------

PREFECTURES: tuple[str, ...] = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県",
    "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県",
    "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府",
    "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県", "沖縄県",
)  # fmt: skip
DESIGNATED_CITIES: frozenset[str] = frozenset(
    {
        "札幌市", "仙台市", "さいたま市", "千葉市", "横浜市", "川崎市", "相模原市", "新潟市",
        "静岡市", "浜松市", "名古屋市", "京都市", "大阪市", "堺市", "神戸市", "岡山市",
        "広島市", "北九州市", "福岡市", "熊本市",
    }
)  # fmt: skip
"""政令指定都市: their addresses carry a ward (区) after the city."""
_CITY_WITH_INNER_SHI = re.compile(r"(四日市市|廿日市市|野々市市)")
_ISLAND_TOWNS = re.compile(
    r"(大島町|利島村|新島村|神津島村|三宅村|御蔵島村|八丈町|青ヶ島村|小笠原村)"
)
"""Tokyo's island towns and villages, which belong to no county (郡)."""
_COUNTY_TOWN = re.compile(r"([^市区]+?[郡島])([^市区郡]+?[町村])")
_CITY = re.compile(r"([^市]+?市)")
_SPECIAL_WARD = re.compile(r"([^市区]+?区)")


class AreaLevel(enum.StrEnum):
    """How much of an address an area names."""

    PREFECTURE = "prefecture"
    CITY = "city"
    WARD = "ward"


@dataclass(frozen=True)
class Area:
    """The administrative part of an address: 都道府県, 市区町村, and a designated city's 区."""

    prefecture: str
    city: str | None
    ward: str | None

    @property
    def level(self) -> AreaLevel:
        """The most specific level named."""
        if self.ward:
            return AreaLevel.WARD
        return AreaLevel.CITY if self.city else AreaLevel.PREFECTURE

    def key(self, level: AreaLevel) -> str | None:
        """The text indexed for one level (None when the address does not reach it)."""
        if level is AreaLevel.PREFECTURE:
            return self.prefecture
        if level is AreaLevel.CITY:
            return self.prefecture + self.city if self.city else None
        if self.city and self.ward:
            return self.prefecture + self.city + self.ward
        return None

    def __str__(self) -> str:
        return self.prefecture + (self.city or "") + (self.ward or "")


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _split(text: str) -> tuple[Area, str]:
    compact = _compact(text)
    prefecture = next((p for p in PREFECTURES if compact.startswith(p)), None)
    if prefecture is None:
        raise InvalidInput("the address must start with a prefecture (都道府県), e.g. 宮城県")
    rest = compact[len(prefecture) :]
    if not rest:
        return Area(prefecture, None, None), ""
    city: str | None = None
    for pattern in (_CITY_WITH_INNER_SHI, _ISLAND_TOWNS, _COUNTY_TOWN, _CITY, _SPECIAL_WARD):
        match = pattern.match(rest)
        if match:
            city = match.group(0)
            break
    if city is None:
        raise InvalidInput(
            "the address must name the city, ward, town or village (市区町村) after the prefecture"
        )
    rest = rest[len(city) :]
    ward: str | None = None
    if city in DESIGNATED_CITIES:
        match = _SPECIAL_WARD.match(rest)
        if match:
            ward = match.group(0)
            rest = rest[len(ward) :]
    return Area(prefecture, city, ward), rest


def address_area(address: str) -> Area:
    """The area of a full address; the address must name at least prefecture and city."""
    area, _ = _split(address)
    if area.city is None:
        raise InvalidInput("the address names only a prefecture; give the full address")
    return area


def parse_disaster_area(raw: str) -> Area:
    """A disaster area: exactly a prefecture, a city/town/village, or a designated city's ward."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput("area is required, e.g. 宮城県石巻市")
    if len(raw) > 60:
        raise InvalidInput("area is too long; give a prefecture, city or ward")
    area, rest = _split(raw)
    if rest:
        raise InvalidInput(
            "area must be a prefecture, a city/town/village or a ward (e.g. 宮城県石巻市), "
            "not a street address"
        )
    return area


# ---------------------------------------------------------------------------------------
# Long-term care certification (要介護認定)
# ---------------------------------------------------------------------------------------


class CareLevel(enum.IntEnum):
    """要支援1-2 and 要介護1-5, in increasing need."""

    SUPPORT_1 = 1
    SUPPORT_2 = 2
    CARE_1 = 3
    CARE_2 = 4
    CARE_3 = 5
    CARE_4 = 6
    CARE_5 = 7

    @property
    def label(self) -> str:
        """The level as written on the certificate."""
        if self <= CareLevel.SUPPORT_2:
            return f"要支援{int(self)}"
        return f"要介護{int(self) - 2}"

    @property
    def needs_care(self) -> bool:
        """要介護 (as opposed to 要支援)."""
        return self >= CareLevel.CARE_1


CARE_MIN_AGE = 40
"""Insured persons are 65+ (第1号) or 40-64 with a specified disease (第2号被保険者)."""
CARE_MAX_VALIDITY_MONTHS = 48
"""The longest validity of a renewed certification (介護保険法施行規則 Art. 41)."""


@dataclass(frozen=True)
class CareCertification:
    """One certification decision."""

    level: CareLevel
    certified_on: dt.date
    valid_from: dt.date
    valid_until: dt.date

    @classmethod
    def parse(
        cls,
        level: int,
        certified_on: str,
        valid_from: str,
        valid_until: str,
        *,
        birth_date: dt.date,
        today: dt.date,
    ) -> CareCertification:
        """Validate a certification against the law's age and validity rules."""
        try:
            care_level = CareLevel(level)
        except ValueError:
            raise InvalidInput("level must be 要支援1-2 or 要介護1-5") from None
        certified = _parse_date("certified_on", certified_on)
        start = _parse_date("valid_from", valid_from)
        end = _parse_date("valid_until", valid_until)
        if certified > today:
            raise InvalidInput("certified_on is in the future")
        if end <= start:
            raise InvalidInput("valid_until must be after valid_from")
        if start < certified - dt.timedelta(days=31):
            raise InvalidInput("valid_from may precede certified_on by at most a month")
        if _months_between(start, end) > CARE_MAX_VALIDITY_MONTHS:
            raise InvalidInput(
                f"the validity period is longer than {CARE_MAX_VALIDITY_MONTHS} months"
            )
        if age_on(birth_date, certified) < CARE_MIN_AGE:
            raise InvalidInput(
                f"long-term care insurance covers residents aged {CARE_MIN_AGE} or over"
            )
        return cls(care_level, certified, start, end)

    def valid_on(self, day: dt.date) -> bool:
        """True when ``day`` is inside the validity period."""
        return self.valid_from <= day <= self.valid_until


def _months_between(start: dt.date, end: dt.date) -> int:
    months = (end.year - start.year) * 12 + (end.month - start.month)
    return months + (1 if end.day >= start.day else 0)


def current_certification(
    certs: Iterable[CareCertification], today: dt.date
) -> CareCertification | None:
    """The certification valid today, the most recently decided one if several."""
    valid = [c for c in certs if c.valid_on(today)]
    return max(valid, key=lambda c: (c.certified_on, c.valid_from), default=None)


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Age in whole years on ``day`` (by calendar birthday)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


# ---------------------------------------------------------------------------------------
# Disaster support
# ---------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------
# A resident as the use cases see it
# ---------------------------------------------------------------------------------------


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


IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:\-]{8,100}")


def parse_idempotency_key(raw: str) -> str:
    """A client-chosen key (8-100 characters of letters, digits and ``._:-``)."""
    if not isinstance(raw, str) or not IDEMPOTENCY_KEY.fullmatch(raw):
        raise InvalidInput(
            "idempotency_key is required: 8-100 letters, digits, '.', '_', ':' or '-' "
            "(a UUID works); reuse it only to retry the same request"
        )
    return raw


_DIGIT_RUN = re.compile(r"\d{12}")


def parse_free_text(field_name: str, raw: str, *, max_len: int, required: bool) -> str:
    """Short audit text; rejects control characters and anything that looks like a number."""
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", raw or "")).strip()
    if required and not text:
        raise InvalidInput(f"{field_name} is required")
    if len(text) > max_len:
        raise InvalidInput(f"{field_name} is too long (at most {max_len} characters)")
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise InvalidInput(f"{field_name} contains control characters")
    if _DIGIT_RUN.search(text.replace("-", "").replace(" ", "")):
        raise InvalidInput(f"{field_name} must not contain a My Number or other long number")
    return text
