"""Areas: the prefecture / city / ward of an address, for disaster matching by blind index."""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

from mynumber_core.errors import InvalidInput

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
