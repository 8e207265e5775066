"""Copay ratio by age and scheme, coverage periods, ages, and the expense totals."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core.errors import InvalidInput
from services.health import domain
from services.health.domain import (
    CoverageStatus,
    CoverageTerms,
    Expense,
    ExpenseCategory,
    IncomeCategory,
    InsuredNumber,
    InsurerNumber,
    PlanType,
    age_on,
    copay_percent,
    expense_summary,
)

NHI = PlanType.NATIONAL_HEALTH_INSURANCE
KYOKAI = PlanType.KYOKAI_KENPO
KOKI = PlanType.LATE_ELDERLY
GENERAL = IncomeCategory.GENERAL
D = dt.date


@pytest.mark.parametrize(
    ("birth", "on", "plan", "income", "expected"),
    [
        # Pre-school children: 20% until the first 31 March after the 6th birthday's eve.
        (D(2019, 5, 10), D(2025, 5, 9), NHI, GENERAL, 20),
        (D(2019, 5, 10), D(2026, 3, 31), NHI, GENERAL, 20),
        (D(2019, 5, 10), D(2026, 4, 1), NHI, GENERAL, 30),
        # Born 2 April: the 6th birthday's eve is 1 April, so school starts that April.
        (D(2019, 4, 2), D(2026, 3, 31), KYOKAI, GENERAL, 20),
        (D(2019, 4, 2), D(2026, 4, 1), KYOKAI, GENERAL, 30),
        # Born 1 April: reaches 6 on 31 March itself, so school starts the same day's April.
        (D(2019, 4, 1), D(2025, 3, 31), KYOKAI, GENERAL, 20),
        (D(2019, 4, 1), D(2025, 4, 1), KYOKAI, GENERAL, 30),
        # Working age.
        (D(1985, 7, 1), D(2025, 7, 1), KYOKAI, GENERAL, 30),
        (D(1985, 7, 1), D(2025, 7, 1), KYOKAI, IncomeCategory.ACTIVE_EQUIVALENT, 30),
        # 70-74: 20% from the month after the month of the 70th birthday's eve.
        (D(1955, 8, 15), D(2025, 8, 31), NHI, GENERAL, 30),
        (D(1955, 8, 15), D(2025, 9, 1), NHI, GENERAL, 20),
        (D(1955, 8, 15), D(2025, 9, 1), NHI, IncomeCategory.ACTIVE_EQUIVALENT, 30),
        # Born on the 1st: the eve is in the previous month, so 20% from the birthday month.
        (D(1955, 8, 1), D(2025, 8, 1), NHI, GENERAL, 20),
        (D(1955, 8, 1), D(2025, 7, 31), NHI, GENERAL, 30),
        # 後期高齢者医療: by income only.
        (D(1945, 1, 1), D(2025, 1, 1), KOKI, GENERAL, 10),
        (D(1945, 1, 1), D(2025, 1, 1), KOKI, IncomeCategory.CERTAIN_INCOME, 20),
        (D(1945, 1, 1), D(2025, 1, 1), KOKI, IncomeCategory.ACTIVE_EQUIVALENT, 30),
    ],
)
def test_copay(
    birth: dt.date, on: dt.date, plan: PlanType, income: IncomeCategory, expected: int
) -> None:
    assert copay_percent(birth, on, plan, income) == expected


@given(
    st.dates(D(1930, 1, 1), D(2024, 12, 31)),
    st.dates(D(1950, 1, 1), D(2099, 12, 31)),
    st.sampled_from([NHI, KYOKAI]),
)
def test_copay_follows_age_bands(birth: dt.date, on: dt.date, plan: PlanType) -> None:
    if on < birth:
        return
    age = age_on(birth, on)
    ratio = copay_percent(birth, on, plan, GENERAL)
    assert ratio in (20, 30)
    if 7 <= age <= 69:
        assert ratio == 30
    if age <= 5 or age >= 71:
        assert ratio == 20


def test_legal_age_is_reached_on_the_eve_of_the_birthday() -> None:
    assert age_on(D(1955, 8, 15), D(2025, 8, 13)) == 69
    assert age_on(D(1955, 8, 15), D(2025, 8, 14)) == 70
    # Leap-day birth: reaches the age on 28 February in common years.
    assert age_on(D(2000, 2, 29), D(2021, 2, 27)) == 20
    assert age_on(D(2000, 2, 29), D(2021, 2, 28)) == 21


def test_non_elderly_coverage_ends_on_the_eve_of_the_75th_birthday() -> None:
    birth = D(1950, 6, 10)
    assert domain.effective_end(NHI, None, birth) == D(2025, 6, 9)
    assert domain.effective_end(NHI, D(2024, 3, 31), birth) == D(2024, 3, 31)
    assert domain.effective_end(KOKI, None, birth) is None


def test_coverage_status() -> None:
    assert domain.coverage_status(D(2024, 4, 1), None, D(2024, 3, 31)) is CoverageStatus.PENDING
    assert domain.coverage_status(D(2024, 4, 1), None, D(2024, 4, 1)) is CoverageStatus.ACTIVE
    last = D(2025, 3, 31)
    assert domain.coverage_status(D(2024, 4, 1), last, last) is CoverageStatus.ACTIVE
    assert domain.coverage_status(D(2024, 4, 1), last, D(2025, 4, 1)) is CoverageStatus.LAPSED


def _terms(plan: PlanType, insurer: str, valid_from: dt.date, **kw: object) -> CoverageTerms:
    values: dict = {
        "insurer": InsurerNumber.parse(domain.make_insurer_number(insurer)),
        "plan": plan,
        "insured": InsuredNumber.parse("1234", "56", "00"),
        "valid_from": valid_from,
        "valid_to": None,
        "income": GENERAL,
    }
    values.update(kw)
    return CoverageTerms(**values)


def test_terms_fit_the_age() -> None:
    _terms(KOKI, "3913001", D(2025, 6, 10)).validate_for(D(1950, 6, 10))
    _terms(NHI, "13805", D(2025, 6, 9)).validate_for(D(1950, 6, 10))
    with pytest.raises(InvalidInput, match="ends at 75"):
        _terms(NHI, "13805", D(2025, 6, 10)).validate_for(D(1950, 6, 10))
    with pytest.raises(InvalidInput, match="late_elderly"):
        _terms(KOKI, "3913001", D(2025, 1, 1)).validate_for(D(1980, 1, 1))
    with pytest.raises(InvalidInput, match="certain_income"):
        _terms(KYOKAI, "0113001", D(2025, 1, 1), income=IncomeCategory.CERTAIN_INCOME).validate_for(
            D(1980, 1, 1)
        )
    with pytest.raises(InvalidInput, match="before valid_from"):
        _terms(KYOKAI, "0113001", D(2025, 1, 1), valid_to=D(2024, 12, 31)).validate_for(
            D(1980, 1, 1)
        )
    with pytest.raises(InvalidInput, match="insurer number"):
        _terms(KYOKAI, "13805", D(2025, 1, 1)).validate_for(D(1980, 1, 1))


def test_periods_overlap() -> None:
    assert domain.periods_overlap(D(2024, 1, 1), None, D(2030, 1, 1), None)
    assert domain.periods_overlap(D(2024, 1, 1), D(2024, 12, 31), D(2024, 12, 31), None)
    assert not domain.periods_overlap(D(2024, 1, 1), D(2024, 12, 31), D(2025, 1, 1), None)


# --- expense totals ---------------------------------------------------------------------

expenses = st.lists(
    st.builds(
        Expense,
        date=st.dates(D(2023, 1, 1), D(2026, 12, 31)),
        provider=st.sampled_from(["さくら内科クリニック", "みなと歯科", "あおば薬局"]),
        amount_yen=st.integers(1, 500_000),
        category=st.sampled_from(list(ExpenseCategory)),
    ),
    max_size=30,
)


@given(expenses, st.integers(2023, 2026))
def test_expense_total_is_the_sum_of_that_years_visits(items: list[Expense], year: int) -> None:
    summary = expense_summary(year, items)
    in_year = [e for e in items if e.date.year == year]
    assert summary["total_yen"] == sum(e.amount_yen for e in in_year)
    visits = summary["visits"]
    assert isinstance(visits, list)
    assert len(visits) == len(in_year)
    assert sum(v["amount_yen"] for v in visits) == summary["total_yen"]
    assert [v["date"] for v in visits] == sorted(v["date"] for v in visits)
    assert all(v["date"].startswith(str(year)) for v in visits)


def test_expense_summary_of_an_empty_year() -> None:
    items = [Expense(D(2024, 5, 1), "みなと歯科", 3_200, ExpenseCategory.DENTAL)]
    assert expense_summary(2025, items) == {"year": 2025, "total_yen": 0, "visits": []}
    assert expense_summary(2024, items)["total_yen"] == 3_200


@pytest.mark.parametrize("value", [None, "", "twenty", 1899, 2100, True, 2025.5])
def test_year_parameter_is_checked(value: object) -> None:
    with pytest.raises(InvalidInput, match="year"):
        domain.check_year(value, D(2025, 6, 1))


def test_year_parameter_accepts_int_and_digits() -> None:
    assert domain.check_year(2024, D(2025, 6, 1)) == 2024
    assert domain.check_year("2024", D(2025, 6, 1)) == 2024


@given(st.text(max_size=12))
def test_parse_date_valid_or_clean_error(raw: str) -> None:
    try:
        parsed = domain.parse_date("date", raw)
    except InvalidInput as exc:
        assert exc.message.startswith("date ")
        return
    assert parsed.isoformat() == raw.strip()
