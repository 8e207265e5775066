"""Japanese time: fiscal years, ages and calendar years are counted in JST (UTC+9).

Ages follow the legal rule of 年齢計算ニ関スル法律 (Act on Age Calculation, 1902) read with
Civil Code art. 143: a person completes a year of age at the end of the day *before* the
anniversary of their birth, so on any day from the eve of the birthday onward they are a year
older. A person born on 29 February is therefore a year older from 28 February in common years.
Every service counts ages with :func:`age_on`; nothing else may.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from mynumber_core.clock import aware

JST = ZoneInfo("Asia/Tokyo")


def today_jst() -> dt.date:
    """Today's date in Japan."""
    return dt.datetime.now(JST).date()


def date_in_japan(moment: dt.datetime) -> dt.date:
    """The date in Japan at ``moment`` (a naive datetime is taken as UTC, as :func:`aware`
    reads one)."""
    return aware(moment).astimezone(JST).date()


def fiscal_year_of(day: dt.date) -> int:
    """The Japanese fiscal year (April to March) that contains ``day``."""
    return day.year if day.month >= 4 else day.year - 1


def birthday(birth: dt.date, years: int) -> dt.date:
    """The calendar anniversary ``years`` after ``birth`` (29 Feb → 1 Mar in common years)."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return dt.date(birth.year + years, 3, 1)


def reaches_age_on(birth: dt.date, years: int) -> dt.date:
    """The first day on which a person legally has ``years`` years: the eve of the anniversary."""
    return birthday(birth, years) - dt.timedelta(days=1)


def age_on(birth: dt.date, on: dt.date) -> int:
    """Legal age on ``on`` (年齢計算ニ関スル法律: the age is reached on the eve of the birthday)."""
    # Count from the next day's year: a 1 January birthday's eve is 31 December of the year before.
    age = (on + dt.timedelta(days=1)).year - birth.year
    return age if on >= reaches_age_on(birth, age) else age - 1
