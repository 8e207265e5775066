"""The four basic facts (基本4情報): name, birth date, sex, address — validated and compared.

Linking requires all four to match the registry's record (the 2023 mis-linkage lesson).
Names are compared after Unicode NFKC and whitespace normalisation, so full-width and
half-width forms or a double space do not cause false mismatches. Validation messages name
the field and the rule, never the value.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from mynumber_core import mynumber
from mynumber_core.calendar import today_jst
from mynumber_core.errors import InvalidInput

Sex = Literal["male", "female"]
SEXES: tuple[Sex, ...] = ("male", "female")
MAX_NAME = 100
MAX_ADDRESS = 200
MAX_KANA = 100
_SPACES = re.compile(r"\s+")
_KANA = re.compile(r"[\u30A1-\u30FA\u30FC\u30FB ]+")


def _clean(field: str, value: str, max_len: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text")
    text = _SPACES.sub(" ", value).strip()
    if not text:
        raise InvalidInput(f"{field} is empty; give the {field} as in the resident register")
    if len(text) > max_len:
        raise InvalidInput(f"{field} is too long ({len(text)} characters, at most {max_len})")
    # Every separator but the ASCII space was collapsed above (Python's \s covers the Z*
    # categories), so "printable" here means: no character in Cc, Cf, Cs, Co or Cn.
    if not text.isprintable():
        raise InvalidInput(f"{field} contains control or unassigned characters")
    return text


def address_of_event(payload: Mapping[str, object]) -> str:
    """The new address an ``address_changed`` event carries (``address``), spaces collapsed;
    InvalidInput when it is missing, empty or longer than :data:`MAX_ADDRESS`."""
    address = payload.get("address")
    if not isinstance(address, str) or not address.strip():
        raise InvalidInput("address_changed needs the new address in 'address'")
    address = " ".join(address.split())
    if len(address) > MAX_ADDRESS:
        raise InvalidInput(f"address is too long (at most {MAX_ADDRESS} characters)")
    return address


def normalize_for_match(text: str) -> str:
    """NFKC, collapse all whitespace (incl. the ideographic space) and case-fold."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def parse_birth_date(value: str, *, today: dt.date | None = None) -> dt.date:
    """An ISO 8601 date (YYYY-MM-DD) between 1880-01-01 and today."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value.strip()):
        raise InvalidInput("birth_date must be an ISO 8601 date, YYYY-MM-DD")
    try:
        parsed = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("birth_date is not a real calendar date") from None
    if not dt.date(1880, 1, 1) <= parsed <= (today or today_jst()):
        raise InvalidInput("birth_date must be between 1880-01-01 and today")
    return parsed


def parse_name_kana(raw: str) -> str:
    """フリガナ in full-width katakana; half-width kana and ideographic spaces are normalised."""
    if not isinstance(raw, str):
        raise InvalidInput("name_kana must be text")
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", raw)).strip()
    if not text:
        raise InvalidInput("name_kana is empty; give the name in katakana (フリガナ)")
    if len(text) > MAX_KANA:
        raise InvalidInput(f"name_kana is too long (at most {MAX_KANA} characters)")
    if not _KANA.fullmatch(text):
        raise InvalidInput("name_kana must be written in katakana only (e.g. ヤマダ タロウ)")
    return text


@dataclass(frozen=True)
class BasicFacts:
    """Validated basic facts; build with :meth:`parse`.

    ``name_kana`` is the name's reading (住民票の振り仮名, recorded since the 2025 amendment of
    the Family Register Act), empty when not given. It is kept beside the four facts for
    finding lost pension records, never compared when linking (:meth:`matches`).
    """

    name: str
    birth_date: dt.date
    sex: Sex
    address: str
    name_kana: str = ""

    @classmethod
    def parse(
        cls, name: str, birth_date: str, sex: str, address: str, name_kana: str = ""
    ) -> BasicFacts:
        """Validate raw input; raises :class:`InvalidInput` naming the first bad field."""
        if sex not in SEXES:
            raise InvalidInput("sex must be 'male' or 'female'")
        return cls(
            name=_clean("name", name, MAX_NAME),
            birth_date=parse_birth_date(birth_date),
            sex=sex,
            address=_clean("address", address, MAX_ADDRESS),
            name_kana=parse_name_kana(name_kana) if name_kana.strip() else "",
        )

    def to_json(self) -> str:
        """The facts as the registry stores them (sorted keys, ISO birth date, kanji kept;
        the reading only when known); :meth:`from_json` reads them back."""
        doc = {
            "name": self.name,
            "birth_date": self.birth_date.isoformat(),
            "sex": self.sex,
            "address": self.address,
        }
        if self.name_kana:
            doc["name_kana"] = self.name_kana
        return json.dumps(doc, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BasicFacts:
        """The facts :meth:`to_json` wrote (stored data, so not validated again)."""
        raw = json.loads(text)
        return cls(
            raw["name"],
            dt.date.fromisoformat(raw["birth_date"]),
            raw["sex"],
            raw["address"],
            raw.get("name_kana", ""),
        )

    def matches(self, other: BasicFacts) -> bool:
        """All four facts equal, names and addresses compared normalised."""
        return (
            normalize_for_match(self.name) == normalize_for_match(other.name)
            and self.birth_date == other.birth_date
            and self.sex == other.sex
            and normalize_for_match(self.address) == normalize_for_match(other.address)
        )


@dataclass(frozen=True)
class FormIdentity:
    """The number and the four facts as written on a form (validated by :meth:`parse`).

    Agencies use it at intake: they pass both to the registry's Link and keep only the token.
    """

    my_number: str
    facts: BasicFacts

    @classmethod
    def parse(
        cls, my_number: str, name: str, birth_date: str, sex: str, address: str
    ) -> FormIdentity:
        """Validate the number (check digit) and the facts; errors never echo the input."""
        return cls(mynumber.validate(my_number), BasicFacts.parse(name, birth_date, sex, address))
