"""Local identifiers: address number (宛名番号) and household number (世帯番号)."""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable

from mynumber_core.errors import InvalidInput

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


def draw_local_id(length: int) -> str:
    """A random local identifier of ``length`` digits (first never 0, Luhn check digit),
    not checked against those in use (bulk enrolment checks a whole draw at once)."""
    body = str(1 + secrets.randbelow(9)) + f"{secrets.randbelow(10 ** (length - 2)):0{length - 2}d}"
    return body + str(luhn_check_digit(body))


def _generate_local_id(length: int, is_taken: Callable[[str], bool]) -> str:
    for _ in range(64):
        candidate = draw_local_id(length)
        if not is_taken(candidate):
            return candidate
    raise RuntimeError("could not find a free local identifier")


def new_address_number(is_taken: Callable[[str], bool]) -> str:
    """A random unused address number (random, so numbers reveal no registration order)."""
    return _generate_local_id(ADDRESS_NUMBER_LENGTH, is_taken)


def new_household_id(is_taken: Callable[[str], bool]) -> str:
    """A random unused household number."""
    return _generate_local_id(HOUSEHOLD_ID_LENGTH, is_taken)
