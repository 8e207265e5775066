"""Long-term care certification (要介護認定): levels, validity, the insured age."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from mynumber_core.calendar import age_on
from mynumber_core.errors import InvalidInput
from services.municipality.domain.inputs import parse_date


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
        certified = parse_date("certified_on", certified_on)
        start = parse_date("valid_from", valid_from)
        end = parse_date("valid_until", valid_until)
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
