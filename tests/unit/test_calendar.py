"""Property tests of the legal age rule and the fiscal year in ``mynumber_core.calendar``.

The oracle for ``age_on`` is independent of its code: under 年齢計算ニ関スル法律 a person has
on any day the age that the everyday (calendar-birthday) count gives for the *next* day.
"""

from __future__ import annotations

import calendar as stdlib_calendar
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core.calendar import (
    age_on,
    birthday,
    date_in_japan,
    fiscal_year_of,
    reaches_age_on,
)

ONE_DAY = dt.timedelta(days=1)
births = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2030, 12, 31))
days = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2150, 12, 31))
leap_years = st.integers(1904, 2096).filter(stdlib_calendar.isleap)


def calendar_age(birth: dt.date, on: dt.date) -> int:
    """Everyday count: a year older on the anniversary (1 March for 29 February in common
    years, since (3, 1) is the first (month, day) not before (2, 29))."""
    years = on.year - birth.year
    return years - 1 if (on.month, on.day) < (birth.month, birth.day) else years


@given(births, st.integers(0, 120 * 366))
def test_the_legal_age_is_the_everyday_age_of_the_next_day(birth: dt.date, offset: int) -> None:
    on = birth + dt.timedelta(days=offset)
    assert age_on(birth, on) == calendar_age(birth, on + ONE_DAY)


@given(births, st.integers(1, 120))
def test_an_age_is_reached_on_the_eve_of_the_birthday(birth: dt.date, years: int) -> None:
    eve = reaches_age_on(birth, years)
    assert eve == birthday(birth, years) - ONE_DAY
    assert age_on(birth, eve) == years
    assert age_on(birth, eve - ONE_DAY) == years - 1
    assert age_on(birth, birthday(birth, years)) == years


@given(leap_years, st.integers(1, 100))
def test_a_29_february_birth_ages_on_28_february_in_every_year(birth_year: int, years: int) -> None:
    birth = dt.date(birth_year, 2, 29)
    year = birth_year + years
    assert age_on(birth, dt.date(year, 2, 27)) == years - 1
    assert age_on(birth, dt.date(year, 2, 28)) == years
    assert age_on(birth, dt.date(year, 3, 1)) == years
    if stdlib_calendar.isleap(year):
        assert age_on(birth, dt.date(year, 2, 29)) == years
        assert birthday(birth, years) == dt.date(year, 2, 29)
    else:
        assert birthday(birth, years) == dt.date(year, 3, 1)
    assert reaches_age_on(birth, years) == dt.date(year, 2, 28)


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (dt.date(2000, 2, 29), dt.date(2021, 2, 27), 20),  # common year, two days before
        (dt.date(2000, 2, 29), dt.date(2021, 2, 28), 21),  # common year, the eve
        (dt.date(2000, 2, 29), dt.date(2024, 2, 27), 23),  # leap year, the day before the eve
        (dt.date(2000, 2, 29), dt.date(2024, 2, 28), 24),  # leap year, the eve
        (dt.date(1955, 8, 15), dt.date(2025, 8, 13), 69),
        (dt.date(1955, 8, 15), dt.date(2025, 8, 14), 70),
        (dt.date(2019, 4, 1), dt.date(2025, 3, 31), 6),  # 早生まれ: six on 31 March
        (dt.date(1960, 1, 1), dt.date(2024, 12, 31), 65),  # New Year's Eve
    ],
)
def test_known_ages(birth: dt.date, on: dt.date, age: int) -> None:
    assert age_on(birth, on) == age


@given(births, st.integers(0, 120 * 366), st.integers(0, 3 * 366))
def test_age_never_falls_and_grows_at_most_one_a_day(birth: dt.date, start: int, gap: int) -> None:
    first = birth + dt.timedelta(days=start)
    later = first + dt.timedelta(days=gap)
    assert 0 <= age_on(birth, first) <= age_on(birth, later)
    assert age_on(birth, first + ONE_DAY) - age_on(birth, first) in (0, 1)


@given(days)
def test_the_fiscal_year_runs_from_1_april_to_31_march(day: dt.date) -> None:
    year = fiscal_year_of(day)
    assert dt.date(year, 4, 1) <= day < dt.date(year + 1, 4, 1)


@given(days, days)
def test_the_fiscal_year_never_falls(a: dt.date, b: dt.date) -> None:
    first, second = sorted((a, b))
    assert fiscal_year_of(first) <= fiscal_year_of(second)


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (dt.date(2025, 3, 31), 2024),
        (dt.date(2025, 4, 1), 2025),
        (dt.date(2025, 12, 31), 2025),
        (dt.date(2026, 1, 1), 2025),
    ],
)
def test_known_fiscal_years(day: dt.date, year: int) -> None:
    assert fiscal_year_of(day) == year


@given(st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2150, 1, 1)))
def test_the_date_in_japan_is_nine_hours_ahead_of_utc(moment: dt.datetime) -> None:
    """Japan keeps no daylight saving time: its date is the UTC date nine hours later; a naive
    moment is UTC, and an aware one is converted whatever its zone."""
    expected = (moment + dt.timedelta(hours=9)).date()
    assert date_in_japan(moment) == expected
    assert date_in_japan(moment.replace(tzinfo=dt.UTC)) == expected
    new_york = dt.timezone(dt.timedelta(hours=-5))
    assert date_in_japan(moment.replace(tzinfo=dt.UTC).astimezone(new_york)) == expected


def test_the_new_fiscal_year_starts_at_midnight_in_japan() -> None:
    """31 March 15:00 UTC is 1 April in Japan: the new fiscal year, although UTC says March."""
    moment = dt.datetime(2027, 3, 31, 15, 0, tzinfo=dt.UTC)
    assert fiscal_year_of(moment.date()) == 2026
    assert fiscal_year_of(date_in_japan(moment)) == 2027
