"""Request fields every feature parses: dates, idempotency keys and short audit text.

Messages name the field and the rule and never echo the value.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from mynumber_core.errors import InvalidInput


def parse_date(field_name: str, value: str) -> dt.date:
    """A required YYYY-MM-DD date."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise InvalidInput(f"{field_name} must be an ISO 8601 date, YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{field_name} is not a real calendar date") from None


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
