"""The My Number itself: canonical form, the official check digit, and generation.

Check digit (総務省令第85号 Art. 5): weights 6,5,4,3,2,7,6,5,4,3,2 over the first eleven digits
read from the left; r = sum mod 11; the check digit is 0 when r is 0 or 1, else 11 − r.

Error messages here describe the *shape* of the input (length, which kind of character)
and never echo it back, so they are safe to log and to return to a caller.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable

from mynumber_core.errors import InvalidInput

LENGTH = 12
WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_MAX_INPUT = 64


class InvalidMyNumber(InvalidInput):
    """The input is not a valid My Number; the message says why, without the digits."""


def check_digit(body: str) -> int:
    """The check digit for an 11-digit body."""
    if len(body) != LENGTH - 1 or not body.isascii() or not body.isdigit():
        raise InvalidMyNumber("the body must be exactly 11 ASCII digits")
    remainder = sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11
    return 0 if remainder <= 1 else 11 - remainder


def canonicalize(raw: str) -> str:
    """Normalise input to 12 ASCII digits, or raise :class:`InvalidMyNumber` with a reason.

    Accepts ASCII digits and full-width digits (０-９) with surrounding whitespace. Anything
    else (hyphens, letters, other scripts' digits, inner spaces) is rejected, not guessed at.
    """
    if not isinstance(raw, str):
        raise InvalidMyNumber("a My Number must be given as text")
    if len(raw) > _MAX_INPUT:
        raise InvalidMyNumber(
            f"input is too long ({len(raw)} characters); a My Number has 12 digits"
        )
    stripped = raw.strip()
    if not stripped:
        raise InvalidMyNumber("no digits given; a My Number has 12 digits")
    normalised = stripped.translate(_FULLWIDTH_DIGITS)
    for ch in normalised:
        if not ("0" <= ch <= "9"):
            kind = "whitespace" if ch.isspace() else unicodedata.category(ch)
            raise InvalidMyNumber(
                f"contains a character that is not a digit (Unicode category {kind}); "
                "use only the 12 digits, without hyphens or spaces"
            )
    if len(normalised) != LENGTH:
        raise InvalidMyNumber(f"has {len(normalised)} digits; a My Number has exactly 12")
    return normalised


def validate(raw: str) -> str:
    """Canonicalise and verify the check digit; returns the canonical number."""
    number = canonicalize(raw)
    if int(number[-1]) != check_digit(number[:-1]):
        raise InvalidMyNumber("the check digit does not match; please re-check the number")
    return number


def is_valid(raw: str) -> bool:
    """True when ``raw`` is a valid My Number (in any accepted input form)."""
    try:
        validate(raw)
    except InvalidMyNumber:
        return False
    return True


def generate(is_taken: Callable[[str], bool], *, max_attempts: int = 64) -> str:
    """A fresh, random, valid number that ``is_taken`` says was never used.

    Bodies come from the OS CSPRNG, so numbers are neither sequential nor guessable.
    ``is_taken`` must answer for every number ever issued (including retired ones) so a
    number once used is never given to anyone else; the database's unique index is the
    final guard against a race.
    """
    for _ in range(max_attempts):
        body = f"{secrets.randbelow(10**11):011d}"
        number = body + str(check_digit(body))
        if not is_taken(number):
            return number
    raise RuntimeError("could not find an unused My Number; the number space is exhausted")
