"""Tax rules: reference numbers, employment income, rates, deductions, assessment."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core import alerts
from mynumber_core.errors import InvalidInput
from services.tax import domain


def test_generated_reference_numbers_are_eight_digits() -> None:
    numbers = {domain.generate_reference_number(lambda _: False) for _ in range(50)}
    assert all(re.fullmatch(r"[1-9]\d{7}", n) for n in numbers)
    assert domain.generate_reference_number(lambda n: n in numbers) not in numbers
    with pytest.raises(RuntimeError):
        domain.generate_reference_number(lambda _: True)


@given(st.integers(0, 99_999_999))
def test_reference_numbers_parse_in_ascii_and_fullwidth(value: int) -> None:
    text = f"{value:08d}"
    wide = text.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert domain.parse_reference_number(text) == text
    assert domain.parse_reference_number(f" {wide}\t") == text


@given(st.text(max_size=30))
def test_anything_else_is_rejected_without_echo(raw: str) -> None:
    text = raw.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if re.fullmatch(r"\d{8}", text) and text.isascii():
        return
    with pytest.raises(InvalidInput) as info:
        domain.parse_reference_number(raw)
    assert info.value.message == ("reference_number must be the 8-digit taxpayer reference number")


@pytest.mark.parametrize(
    ("salary", "year", "employment"),
    [
        (1_000_000, 2024, 450_000),
        (500_000, 2024, 0),
        (1_700_000, 2024, 1_120_000),  # 40% − 100,000 = 580,000
        (5_000_000, 2024, 3_560_000),  # 20% + 440,000 = 1,440,000
        (10_000_000, 2024, 8_050_000),  # capped at 1,950,000
        (1_000_000, 2025, 350_000),  # 650,000 minimum from 2025
    ],
)
def test_employment_income(salary: int, year: int, employment: int) -> None:
    assert domain.employment_income(salary, year) == employment


@pytest.mark.parametrize(
    ("taxable", "tax"),
    [
        (1_000_000, 50_000),
        (1_949_000, 97_450),
        (3_000_000, 202_500),
        (5_000_000, 572_500),
        (8_000_000, 1_204_000),
        (10_000_000, 1_764_000),
        (20_000_000, 5_204_000),
        (50_000_000, 17_704_000),
    ],
)
def test_rate_table(taxable: int, tax: int) -> None:
    assert domain.income_tax(taxable) == tax


@given(st.integers(0, 10**9), st.integers(0, 10**9))
def test_tax_never_falls_as_taxable_income_rises(a: int, b: int) -> None:
    low, high = sorted((a - a % 1000, b - b % 1000))
    assert domain.income_tax(low) <= domain.income_tax(high)
    assert domain.income_tax(high) <= high * 45 // 100


@pytest.mark.parametrize(
    ("expenses", "income", "deduction"),
    [
        (50_000, 5_000_000, 0),
        (350_000, 5_000_000, 250_000),
        (350_000, 1_000_000, 300_000),  # 5% of total income is below 100,000
        (5_000_000, 5_000_000, 2_000_000),  # capped
    ],
)
def test_medical_deduction(expenses: int, income: int, deduction: int) -> None:
    assert domain.medical_deduction(expenses, income) == deduction


def test_a_salaried_year_with_medical_expenses() -> None:
    income = domain.Income(2024, 5_000_000, 0, 150_000, 700_000)
    result = domain.assess(income, 350_000)
    # 3,560,000 − 480,000 − 700,000 − 250,000 = 2,130,000 → 10% − 97,500 = 115,500
    assert result.taxable_income == 2_130_000
    assert result.income_tax == 115_500
    assert result.tax_total == 117_900  # + 2.1% = 117,925.5 → down to 100 yen
    assert (result.due, result.refund) == (0, 32_100)
    without = domain.assess(income, 0)
    assert without.tax_total > result.tax_total


def test_dates_and_item_ids() -> None:
    assert domain.due_date(2025) == dt.date(2026, 3, 15)
    assert domain.parse_item_id(domain.item_id(2025)) == 2025
    for bad in ("", "IT-25", "NP-2025-04"):
        with pytest.raises(InvalidInput):
            domain.parse_item_id(bad)


def test_year_and_amount_checks() -> None:
    today = dt.date(2026, 11, 26)
    assert domain.check_year(2026, today) == 2026
    for bad in (2014, 2027):
        with pytest.raises(InvalidInput):
            domain.check_year(bad, today)
    with pytest.raises(InvalidInput):
        domain.check_amount("withholding_yen", -1)


def test_medical_totals_come_from_total_yen() -> None:
    assert domain.medical_total({"year": 2025, "total_yen": 12_000, "visits": []}) == 12_000
    assert domain.medical_total({"total": 5}) is None


def test_the_payout_policy_releases_for_now() -> None:
    attested = {"bank_code": "0005", "registry_verified": True}
    assert domain.PayoutPolicy().decide(attested, {}).release


def test_the_payout_policy_holds_an_account_the_registry_did_not_attest() -> None:
    for account in ({"bank_code": "0005"}, {"bank_code": "0005", "registry_verified": False}):
        decision = domain.PayoutPolicy().decide(account, {})
        assert not decision.release and decision.hold_code == "unverified_account"
        assert decision.release_after is None


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
