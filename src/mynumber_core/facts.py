"""The four basic facts (基本4情報): name, birth date, sex, address — validated and compared.

Linking requires all four to match the registry's record (the 2023 mis-linkage lesson).
Names are compared after Unicode NFKC and whitespace normalisation, so full-width and
half-width forms or a double space do not cause false mismatches. Validation messages name
the field and the rule, never the value.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from mynumber_core import mynumber
from mynumber_core.errors import InvalidInput

Sex = Literal["male", "female"]
SEXES: tuple[Sex, ...] = ("male", "female")
MAX_NAME = 100
MAX_ADDRESS = 200
_SPACES = re.compile(r"\s+")


def _clean(field: str, value: str, max_len: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text")
    text = _SPACES.sub(" ", value).strip()
    if not text:
        raise InvalidInput(f"{field} is empty; give the {field} as in the resident register")
    if len(text) > max_len:
        raise InvalidInput(f"{field} is too long ({len(text)} characters, at most {max_len})")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in text):
        raise InvalidInput(f"{field} contains control or unassigned characters")
    return text


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
    if not dt.date(1880, 1, 1) <= parsed <= (today or dt.date.today()):
        raise InvalidInput("birth_date must be between 1880-01-01 and today")
    return parsed


@dataclass(frozen=True)
class BasicFacts:
    """Validated basic facts; build with :meth:`parse`."""

    name: str
    birth_date: dt.date
    sex: Sex
    address: str

    @classmethod
    def parse(cls, name: str, birth_date: str, sex: str, address: str) -> BasicFacts:
        """Validate raw input; raises :class:`InvalidInput` naming the first bad field."""
        if sex not in SEXES:
            raise InvalidInput("sex must be 'male' or 'female'")
        return cls(
            name=_clean("name", name, MAX_NAME),
            birth_date=parse_birth_date(birth_date),
            sex=sex,
            address=_clean("address", address, MAX_ADDRESS),
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
