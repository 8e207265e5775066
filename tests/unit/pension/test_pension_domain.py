"""Pension rules: identifier format, fiscal months, exemption thresholds, claims."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core import alerts
from mynumber_core.calendar import age_on, fiscal_year_of
from mynumber_core.errors import InvalidInput
from services.pension import domain
from services.pension.domain import ExemptionLevel

ORDER = [
    ExemptionLevel.FULL,
    ExemptionLevel.THREE_QUARTERS,
    ExemptionLevel.HALF,
    ExemptionLevel.QUARTER,
    ExemptionLevel.NONE,
]


def test_generated_numbers_have_the_format_and_avoid_taken_ones() -> None:
    taken = {domain.generate_basic_pension_number(lambda _: False) for _ in range(50)}
    for number in taken:
        assert domain.parse_basic_pension_number(number) == number
        assert number[4] == "-" and len(number) == 11
    fresh = domain.generate_basic_pension_number(lambda n: n in taken)
    assert fresh not in taken


def test_exhausted_number_space_fails_loudly() -> None:
    with pytest.raises(RuntimeError):
        domain.generate_basic_pension_number(lambda _: True)


@given(st.integers(0, 9999), st.integers(0, 999_999))
def test_basic_pension_number_accepts_hyphenless_and_fullwidth(office: int, serial: int) -> None:
    canonical = f"{office:04d}-{serial:06d}"
    fullwidth = canonical.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
    assert domain.parse_basic_pension_number(canonical) == canonical
    assert domain.parse_basic_pension_number(canonical.replace("-", "")) == canonical
    assert domain.parse_basic_pension_number(f" {fullwidth} ") == canonical


@given(st.text(max_size=40))
def test_basic_pension_number_rejects_anything_else_without_echo(raw: str) -> None:
    text = raw.strip().translate(str.maketrans("０１２３４５６７８９－", "0123456789-"))
    import re

    if re.fullmatch(r"\d{4}-?\d{6}", text) and text.isascii():
        return
    with pytest.raises(InvalidInput) as info:
        domain.parse_basic_pension_number(raw)
    assert info.value.message == "basic_pension_number must be 10 digits as NNNN-NNNNNN"


@given(st.text(max_size=80))
def test_keys_are_validated(raw: str) -> None:
    import re

    if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", raw):
        assert domain.parse_key("application_id", raw) == raw
    else:
        with pytest.raises(InvalidInput):
            domain.parse_key("application_id", raw)


@given(st.integers(2000, 2100), st.integers(1, 12))
def test_month_item_ids_round_trip(fiscal_year: int, index: int) -> None:
    item = domain.month_item_id(fiscal_year, index)
    assert domain.parse_month_item_id(item) == (fiscal_year, index)
    year, month = domain.month_of_fiscal_year(fiscal_year, index)
    assert fiscal_year_of(dt.date(year, month, 1)) == fiscal_year
    assert domain.due_date(fiscal_year, index) > dt.date(year, month, 28)


@pytest.mark.parametrize("raw", ["", "NP-2025-13", "NP-2025-00", "IT-2025", "NP-25-04"])
def test_bad_item_ids_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidInput):
        domain.parse_month_item_id(raw)


def test_april_is_month_one_and_march_is_month_twelve() -> None:
    assert domain.month_of_fiscal_year(2025, 1) == (2025, 4)
    assert domain.month_of_fiscal_year(2025, 9) == (2025, 12)
    assert domain.month_of_fiscal_year(2025, 12) == (2026, 3)
    assert domain.due_date(2025, 1) == dt.date(2025, 5, 31)
    assert domain.due_date(2025, 9) == dt.date(2026, 1, 31)


def test_contribution_must_match_the_years_rate() -> None:
    domain.check_contribution(2025, 3, 3 * 17_510, 17_510)
    with pytest.raises(InvalidInput, match="17,510"):
        domain.check_contribution(2025, 3, 50_000, 17_510)
    with pytest.raises(InvalidInput, match="between 1 and 12"):
        domain.check_contribution(2025, 13, 13 * 17_510, 17_510)
    with pytest.raises(InvalidInput, match="no contribution rate"):
        domain.monthly_contribution(1990)


def test_reduced_contributions_round_down_to_ten_yen() -> None:
    assert domain.reduced_contribution(2025, ExemptionLevel.NONE) == 17_510
    assert domain.reduced_contribution(2025, ExemptionLevel.HALF) == 8_750
    assert domain.reduced_contribution(2025, ExemptionLevel.THREE_QUARTERS) == 4_370
    assert domain.reduced_contribution(2025, ExemptionLevel.QUARTER) == 13_130
    assert domain.reduced_contribution(2025, ExemptionLevel.FULL) == 0


@pytest.mark.parametrize(
    ("income", "dependents", "social", "level"),
    [
        (0, 0, 0, ExemptionLevel.FULL),
        (670_000, 0, 0, ExemptionLevel.FULL),  # (0 + 1) × 350,000 + 320,000
        (670_001, 0, 0, ExemptionLevel.THREE_QUARTERS),
        (880_000, 0, 0, ExemptionLevel.THREE_QUARTERS),
        (880_001, 0, 0, ExemptionLevel.HALF),
        (1_280_001, 0, 0, ExemptionLevel.QUARTER),
        (1_680_000, 0, 0, ExemptionLevel.QUARTER),
        (1_680_001, 0, 0, ExemptionLevel.NONE),
        (1_370_000, 2, 0, ExemptionLevel.FULL),  # 3 × 350,000 + 320,000
        (1_370_001, 2, 0, ExemptionLevel.THREE_QUARTERS),  # 880,000 + 2 × 380,000 = 1,640,000
        (2_000_000, 0, 319_999, ExemptionLevel.NONE),
        (2_000_000, 0, 320_000, ExemptionLevel.QUARTER),  # 1,680,000 + 320,000
    ],
)
def test_exemption_thresholds(
    income: int, dependents: int, social: int, level: ExemptionLevel
) -> None:
    assert domain.decide_exemption(income, dependents, social).level is level


@given(st.integers(0, 10_000_000), st.integers(0, 10_000_000), st.integers(0, 6))
def test_more_income_never_gives_a_larger_exemption(a: int, b: int, dependents: int) -> None:
    low, high = sorted((a, b))
    assert ORDER.index(domain.decide_exemption(low, dependents).level) <= ORDER.index(
        domain.decide_exemption(high, dependents).level
    )


def test_negative_inputs_are_rejected() -> None:
    with pytest.raises(InvalidInput):
        domain.decide_exemption(-1, 0)


def test_dependants_come_from_the_household_only_for_the_householder() -> None:
    members = [
        {"relationship": "世帯主", "birth_year": 1980, "is_subject": True},
        {"relationship": "妻", "birth_year": 1982, "is_subject": False},
        {"relationship": "子", "birth_year": 2012, "is_subject": False},
    ]
    assert domain.dependents_in_household({"is_householder": True, "members": members}) == 2
    assert domain.dependents_in_household({"is_householder": False, "members": members}) == 0
    assert domain.dependents_in_household({"is_householder": True, "size": 4}) == 3
    assert domain.dependents_in_household({}) == 0


def test_claims_need_age_65_and_120_months() -> None:
    assert not domain.decide_claim(480, 64).approved
    assert not domain.decide_claim(119, 70).approved
    ok = domain.decide_claim(120, 65)
    assert ok.approved and ok.annual_amount == 831_700 * 120 // 480
    assert domain.decide_claim(600, 70).annual_amount == 831_700


def test_age_counts_completed_years() -> None:
    # The legal rule (年齢計算ニ関スル法律): the age is reached on the eve of the birthday.
    assert age_on(dt.date(1960, 11, 28), dt.date(2025, 11, 26)) == 64
    assert age_on(dt.date(1960, 11, 27), dt.date(2025, 11, 26)) == 65
    assert age_on(dt.date(1960, 11, 26), dt.date(2025, 11, 26)) == 65


def test_months_in_scope_start_at_enrolment() -> None:
    assert domain.months_in_scope(dt.date(2025, 7, 10), dt.date(2026, 3, 31), 2025) == list(
        range(4, 13)
    )
    assert domain.months_in_scope(dt.date(2020, 1, 1), dt.date(2025, 6, 1), 2025) == [1, 2, 3]


@given(st.from_regex(r"[A-Z]{1,3}-[0-9]{3,8}", fullmatch=True))
def test_staff_ids_are_accepted_as_given(raw: str) -> None:
    assert alerts.parse_operator_id(raw) == raw


@given(st.text(max_size=20))
def test_anything_else_is_not_a_staff_id(raw: str) -> None:
    if re.fullmatch(r"[A-Z]{1,3}-[0-9]{3,8}", raw):
        return
    with pytest.raises(InvalidInput, match="operator_id"):
        alerts.parse_operator_id(raw)


@given(st.text(max_size=40))
def test_alert_ids_are_32_lowercase_hex_digits(raw: str) -> None:
    if re.fullmatch(r"[0-9a-f]{32}", raw):
        assert alerts.parse_alert_id(raw) == raw
    else:
        with pytest.raises(InvalidInput, match="alert_id"):
            alerts.parse_alert_id(raw)
