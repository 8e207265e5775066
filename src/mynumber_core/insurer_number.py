"""The check digit (検証番号) of a health insurer number (保険者番号).

A 保険者番号 is a 5-digit (National Health Insurance) or 7-digit body followed by one check
digit: each body digit is weighted 2, 1, 2, … from the last one, the digits of the products
are summed, and the check digit brings the sum up to a multiple of ten. The health insurer
validates numbers with it and the dev seeder makes numbers with it, so it lives here once.
"""

from __future__ import annotations

from mynumber_core.errors import InvalidInput


def check_digit(body: str) -> int:
    """The 検証番号 for a 5- or 7-digit body (weights 2,1,2,... from the last digit)."""
    if len(body) not in (5, 7) or not body.isascii() or not body.isdigit():
        raise InvalidInput("an insurer number body has 5 or 7 digits")
    total = 0
    for position, ch in enumerate(reversed(body)):
        product = int(ch) * (2 if position % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def with_check_digit(body: str) -> str:
    """A body plus its check digit (for demo data and tests)."""
    return body + str(check_digit(body))
