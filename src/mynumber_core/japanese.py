"""Japanese-aware forms of names and dates, for matching records written long ago.

Kana: a name written in katakana, hiragana or half-width kana is brought to one form
(:func:`normalize_kana`, with ``jaconv``), and to a coarser *phonetic key*
(:func:`kana_key`) that forgives the spelling variants old pension records are full of:
ヲ/オ, ヂ/ジ and ヅ/ズ, small kana written large (ャ/ヤ, ッ/ツ), long vowels written with a
mark or a vowel (ユーコ/ユウコ, サトー/サトウ) and voiced marks lost (ガ/カ).

Eras: Japanese records give birth dates in an era (元号) and an era year. The era table below
is the one in force, with the first day of each era in the Gregorian calendar:

- 明治 1868-01-25 (the era applied from the first day of 明治元年; 明治改元ノ詔, 1868);
- 大正 1912-07-30 (大正改元ノ詔書, 1912);
- 昭和 1926-12-25 (昭和改元ノ詔書, 1926);
- 平成 1989-01-08 (元号を改める政令, 昭和64年政令第1号, under 元号法 昭和54年法律第43号);
- 令和 2019-05-01 (元号を改める政令, 平成31年政令第143号).

Era year 1 is written 元年; both forms are read.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import jaconv

from mynumber_core.errors import InvalidInput

ERAS: tuple[tuple[str, dt.date], ...] = (
    ("明治", dt.date(1868, 1, 25)),
    ("大正", dt.date(1912, 7, 30)),
    ("昭和", dt.date(1926, 12, 25)),
    ("平成", dt.date(1989, 1, 8)),
    ("令和", dt.date(2019, 5, 1)),
)
"""(era, first day) in order; see the module docstring for the sources."""

ERA_NAMES = tuple(name for name, _ in ERAS)
_ERA_START = dict(ERAS)
_ERA_DATE = re.compile(r"^(明治|大正|昭和|平成|令和)(元|[0-9]{1,2})年([0-9]{1,2})月([0-9]{1,2})日$")

_PREFECTURE = re.compile(r"^(東京都|北海道|京都府|大阪府|.{2,3}?県)")
_SMALL = str.maketrans("ァィゥェォャュョッヮヵヶ", "アイウエオヤユヨツワカケ")
_VARIANTS = str.maketrans({"ヲ": "オ", "ヂ": "ジ", "ヅ": "ズ", "ヱ": "エ", "ヰ": "イ"})
_O_ROW = set("オコソトノホモヨロゴゾドボポョ")
_E_ROW = set("エケセテネヘメレゲゼデベペ")
_U_ROW = set("ウクスツヌフムユルグズヅブプュ")
_VOICE_MARKS = {"\u3099", "\u309a"}


def normalize_kana(text: str) -> str:
    """Full-width katakana without spaces (hiragana and half-width kana converted)."""
    wide = jaconv.h2z(unicodedata.normalize("NFKC", text), kana=True, ascii=False, digit=False)
    return "".join(jaconv.hira2kata(wide).split())


def kana_key(text: str) -> str:
    """The phonetic key: variants, small kana, long vowels and voiced marks folded away.

    Two spellings of one reading that differ only in those ways have the same key.
    """
    kana = normalize_kana(text).translate(_VARIANTS).translate(_SMALL)
    unvoiced = "".join(ch for ch in unicodedata.normalize("NFD", kana) if ch not in _VOICE_MARKS)
    kana = unicodedata.normalize("NFC", unvoiced)
    out: list[str] = []
    for ch in kana:
        if ch == "ー":
            continue
        previous = out[-1] if out else ""
        if ch == "ウ" and (previous in _O_ROW or previous in _U_ROW):
            continue
        if ch == "イ" and previous in _E_ROW:
            continue
        out.append(ch)
    return "".join(out)


def to_era(day: dt.date) -> tuple[str, int]:
    """The era and era year of a Gregorian date (明治 onward)."""
    for name, start in reversed(ERAS):
        if day >= start:
            return name, day.year - start.year + 1
    raise InvalidInput("dates before 明治 (1868-01-25) have no era in the table")


def format_era(day: dt.date) -> str:
    """A date as written on a Japanese form, e.g. ``昭和45年3月12日``."""
    era, year = to_era(day)
    return f"{era}{year}年{day.month}月{day.day}日"


def parse_era_parts(text: str) -> tuple[str, int, int, int]:
    """(era, era year, month, day) as written; the numbers are not checked against a calendar.

    An old record may carry a day and month swapped or an era that did not reach that year;
    matching needs the parts as written. InvalidInput names the expected form.
    """
    found = _ERA_DATE.match("".join(unicodedata.normalize("NFKC", text).split()))
    if found is None:
        raise InvalidInput("an era date must look like 昭和45年3月12日 (era, year, month, day)")
    era, year, month, day = found.groups()
    return era, 1 if year == "元" else int(year), int(month), int(day)


def from_era(era: str, year: int, month: int, day: int) -> dt.date:
    """The Gregorian date of an era date; InvalidInput when no such calendar date exists."""
    if era not in _ERA_START:
        raise InvalidInput(f"era must be one of {', '.join(ERA_NAMES)}")
    if year < 1:
        raise InvalidInput("era year must be 1 (元年) or more")
    try:
        return dt.date(_ERA_START[era].year + year - 1, month, day)
    except ValueError:
        raise InvalidInput("the era date is not a real calendar date") from None


def prefecture_of(address: str) -> str | None:
    """The prefecture (都道府県) an address starts with, or None."""
    found = _PREFECTURE.match(address)
    return found.group(1) if found else None
