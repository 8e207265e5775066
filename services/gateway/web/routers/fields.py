"""Request field types whose schema states the rule the use cases enforce.

Each pattern is taken from :mod:`services.gateway.domain`, which validates the value again, so
``/openapi.json`` promises exactly what the server accepts: a value outside the pattern is a
422 before the handler runs, a value inside it is never refused for its form. Used in the
routers' request models, path parameters and headers.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Any, Literal

from fastapi import Header, Path
from pydantic import Field

from mynumber_core.calendar import fiscal_year_of, today_jst
from mynumber_core.errors import InvalidInput
from services.gateway import domain


def _anchored(pattern: str) -> str:
    return f"^(?:{pattern})$"


ID_PATTERN = _anchored(domain._ID_RE.pattern)
# A one-time code is read case-insensitively, so lower case letters are allowed too.
CODE_PATTERN = _anchored(
    domain._CODE_RE.pattern.replace(
        f"[{domain.CODE_ALPHABET}]", f"[{domain.CODE_ALPHABET}{domain.CODE_ALPHABET.lower()}]"
    )
)
# 10 to 510 bytes of standard base64 (decode_signature takes 8 to 512).
SIGNATURE_PATTERN = (
    r"^(?:[A-Za-z0-9+/]{4}){3,169}(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)$"
)

Id = Annotated[str, Field(pattern=ID_PATTERN, description="1-64 letters, digits, '_' or '-'")]
PathId = Annotated[str, Path(pattern=ID_PATTERN, description="1-64 letters, digits, '_' or '-'")]
PathCode = Annotated[
    str,
    Path(pattern=CODE_PATTERN, description="the 8-character one-time code, e.g. K7QX-M3PA"),
]
CertificatePem = Annotated[
    str,
    Field(
        pattern="-----BEGIN CERTIFICATE-----",
        max_length=8192,
        description="the card's X.509 certificate, PEM",
    ),
]
Signature = Annotated[
    str,
    Field(pattern=SIGNATURE_PATTERN, description="base64 ECDSA-SHA256 signature (DER)"),
]
PollSecret = Annotated[str, Field(min_length=16, max_length=128)]
Action = Literal[domain.ACTIONS]  # type: ignore[valid-type]
IdempotencyKey = Annotated[
    str,
    Header(
        pattern=_anchored(domain.IDEMPOTENCY_RE.pattern),
        description="8-128 letters, digits and . _ : - ; reuse it when you retry",
    ),
]

AgencyToPay = Literal[domain.PAYABLE_AGENCIES]  # type: ignore[valid-type]
ItemId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
Yen = Annotated[int, Field(ge=1, le=domain.MAX_PAYMENT_YEN, description="whole yen")]
AccountType = Literal[domain.ACCOUNT_TYPES]  # type: ignore[valid-type]
BankCode = Annotated[str, Field(pattern=r"^[0-9]{4}$", examples=["0005"])]
BranchCode = Annotated[str, Field(pattern=r"^[0-9]{3}$", examples=["123"])]
AccountNumber = Annotated[str, Field(pattern=r"^[0-9]{7}$", examples=["1234567"])]
HolderKana = Annotated[
    str,
    Field(
        pattern=r"^[\u30A1-\u30FA\u30FC]+(?: [\u30A1-\u30FA\u30FC]+)*$",
        max_length=domain.MAX_KANA,
        description="the holder's name in katakana as on the bank book, e.g. ヤマダ タロウ",
    ),
]
ReissueReason = Literal[domain.REISSUE_REASONS]  # type: ignore[valid-type]
LockName = Literal[domain.LOCKS]  # type: ignore[valid-type]
ClaimPin = Annotated[str, Field(pattern=r"^[0-9]{6}$")]
DeliveryToken = Annotated[
    str, Field(min_length=8, max_length=200, description="the token the resident gave you")
]
Reference = Annotated[
    str,
    Field(
        pattern=_anchored(domain.IDEMPOTENCY_RE.pattern),
        description="unique per document, 8-128 letters, digits or . _ : - ; a retry "
        "with the same reference delivers once",
    ),
]
# Characters of a Japanese address: ASCII, CJK punctuation, kana, kanji and full-width forms,
# less any code point the use case refuses (control, format, private-use, unassigned in this
# Python's Unicode database), so the pattern promises exactly what is accepted.
ADDRESS_BLOCKS = (
    (0x20, 0x7E),
    (0x3000, 0x30FF),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFF00, 0xFFEF),
)
REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn")


def _char_class(exclude: tuple[int, ...] = ()) -> str:
    """A regex character class body of the address characters, in runs."""
    runs: list[tuple[int, int]] = []
    for first, last in ADDRESS_BLOCKS:
        for code in range(first, last + 1):
            if unicodedata.category(chr(code)) in REFUSED_CATEGORIES or code in exclude:
                continue
            if runs and runs[-1][1] == code - 1:
                runs[-1] = (runs[-1][0], code)
            else:
                runs.append((code, code))
    return "".join(f"\\u{a:04X}" if a == b else f"\\u{a:04X}-\\u{b:04X}" for a, b in runs)


_ANY, _VISIBLE = _char_class(), _char_class(exclude=(0x20, 0x3000))
Address = Annotated[
    str,
    Field(
        min_length=1,
        max_length=domain.MAX_ADDRESS,
        pattern=f"^[{_ANY}]*[{_VISIBLE}][{_ANY}]*$",
        description="the address you are moving to (Japanese or ASCII characters)",
    ),
]


def _list_exemption_years(schema: dict[str, Any]) -> None:
    current = fiscal_year_of(today_jst())
    schema["minimum"], schema["maximum"] = current - 2, current


ExemptionYear = Annotated[
    int,
    Field(
        json_schema_extra=_list_exemption_years,
        description="this fiscal year (April to March, in Japan) or up to two years back; the "
        "schema gives today's bounds, and the use case checks them on the day of the request",
    ),
]
Title = Annotated[str, Field(min_length=1, max_length=domain.MAX_TITLE)]
Body = Annotated[str, Field(max_length=domain.MAX_BODY)]


def move_out_dates(today: dt.date | None = None) -> list[str]:
    """The planned dates a move-out notice may give today: the days around ``today`` (Japan's
    date, as the use case counts) that :func:`services.gateway.domain.parse_move_out` accepts."""
    day = today or today_jst()
    accepted = []
    for offset in range(-MOVE_OUT_SEARCH_DAYS, MOVE_OUT_SEARCH_DAYS + 1):
        candidate = (day + dt.timedelta(days=offset)).isoformat()
        try:
            domain.parse_move_out({"destination_address": "-", "planned_date": candidate}, day)
        except InvalidInput:
            continue
        accepted.append(candidate)
    return accepted


MOVE_OUT_SEARCH_DAYS = 120


def _list_move_out_dates(schema: dict[str, Any]) -> None:
    schema["enum"] = move_out_dates()


MoveOutDate = Annotated[
    str,
    Field(
        json_schema_extra=_list_move_out_dates,
        description="YYYY-MM-DD, around today: the schema lists the days accepted today "
        "(/openapi.json is rebuilt every day)",
    ),
]
