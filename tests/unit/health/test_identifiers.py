"""Property tests of the insurer number (保険者番号) and insured number (記号・番号・枝番)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mynumber_core.errors import InvalidInput
from services.health.domain import (
    HOUBETSU_CODES,
    InsuredNumber,
    InsurerNumber,
    PlanType,
    insurer_check_digit,
    make_insurer_number,
)

prefectures = st.integers(1, 47).map(lambda p: f"{p:02d}")
serials = st.integers(0, 999).map(lambda n: f"{n:03d}")
houbetsu = st.sampled_from(sorted(HOUBETSU_CODES))
nhi_bodies = st.builds(lambda p, s: p + s, prefectures, serials)
employee_bodies = st.builds(lambda h, p, s: h + p + s, houbetsu, prefectures, serials)
bodies = st.one_of(nhi_bodies, employee_bodies)


def test_guideline_example() -> None:
    # 厚生労働省「保険者番号設定要領」の例: 33 12 001 → 5.
    assert insurer_check_digit("3312001") == 5
    assert InsurerNumber.parse("33120015").value == "33120015"
    # 協会けんぽ 東京支部 01130012 and a 6-digit 国保 number, both real-format.
    assert InsurerNumber.parse("01130012").houbetsu == "01"
    assert InsurerNumber.parse("138057").houbetsu is None


@given(bodies)
def test_valid_numbers_parse(body: str) -> None:
    number = make_insurer_number(body)
    parsed = InsurerNumber.parse(number)
    assert parsed.value == number
    assert parsed.prefecture == body[-5:-3]


@given(bodies)
def test_full_width_digits_and_spaces_are_accepted(body: str) -> None:
    number = make_insurer_number(body)
    wide = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert InsurerNumber.parse(f"  {wide} ").value == number


@given(bodies, st.integers(1, 9))
def test_any_other_check_digit_is_rejected(body: str, delta: int) -> None:
    good = insurer_check_digit(body)
    bad = body + str((good + delta) % 10)
    with pytest.raises(InvalidInput, match="check digit"):
        InsurerNumber.parse(bad)


@given(bodies, st.data())
def test_single_digit_typo_is_caught(body: str, data: st.DataObject) -> None:
    number = make_insurer_number(body)
    # The Luhn rule detects every single-digit substitution in the body.
    i = data.draw(st.integers(0, len(body) - 1))
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != number[i]]))
    typo = number[:i] + replacement + number[i + 1 :]
    with pytest.raises(InvalidInput):
        InsurerNumber.parse(typo)


@given(st.text(max_size=20))
def test_arbitrary_text_is_either_valid_or_a_clean_error(raw: str) -> None:
    try:
        parsed = InsurerNumber.parse(raw)
    except InvalidInput as exc:
        stripped = raw.strip()
        if len(stripped) >= 4:
            assert stripped not in exc.message  # never echoes the input
        return
    assert len(parsed.value) in (6, 8)
    assert int(parsed.value[-1]) == insurer_check_digit(parsed.value[:-1])


@given(st.integers(0, 10**10).map(str))
def test_wrong_lengths_are_rejected(digits: str) -> None:
    assume(len(digits) not in (6, 8))
    with pytest.raises(InvalidInput):
        InsurerNumber.parse(digits)


@given(employee_bodies)
def test_unknown_houbetsu_is_rejected(body: str) -> None:
    unknown = "99" + body[2:]
    with pytest.raises(InvalidInput, match="法別番号"):
        InsurerNumber.parse(make_insurer_number(unknown))


@given(st.sampled_from(["00", "48", "99"]), serials)
def test_prefecture_out_of_range_is_rejected(prefecture: str, serial: str) -> None:
    with pytest.raises(InvalidInput, match="prefecture"):
        InsurerNumber.parse(make_insurer_number(prefecture + serial))


def test_plan_must_match_the_scheme() -> None:
    nhi = InsurerNumber.parse(make_insurer_number("13805"))
    kyokai = InsurerNumber.parse(make_insurer_number("0113001"))
    koki = InsurerNumber.parse(make_insurer_number("3913001"))
    nhi.check_plan(PlanType.NATIONAL_HEALTH_INSURANCE)
    kyokai.check_plan(PlanType.KYOKAI_KENPO)
    koki.check_plan(PlanType.LATE_ELDERLY)
    for number, plan in [
        (nhi, PlanType.KYOKAI_KENPO),
        (kyokai, PlanType.NATIONAL_HEALTH_INSURANCE),
        (kyokai, PlanType.LATE_ELDERLY),
        (koki, PlanType.KYOKAI_KENPO),
    ]:
        with pytest.raises(InvalidInput):
            number.check_plan(plan)


# --- insured number ---------------------------------------------------------------------

symbol_chars = st.sampled_from(list("0123456789ABCXYZ-") + list("北南東西あいカキ市町"))
symbols = st.text(symbol_chars, min_size=1, max_size=20)
numbers = st.text(st.sampled_from("0123456789"), min_size=1, max_size=12)
branches = st.integers(0, 99).map(lambda b: f"{b:02d}")


@given(symbols, numbers, branches)
def test_valid_insured_numbers_round_trip(symbol: str, number: str, branch: str) -> None:
    parsed = InsuredNumber.parse(symbol, number, branch)
    assert (parsed.symbol, parsed.number, parsed.branch) == (symbol, number, branch)
    # Parsing is idempotent.
    assert InsuredNumber.parse(parsed.symbol, parsed.number, parsed.branch) == parsed


@given(symbols, numbers, branches)
def test_full_width_forms_normalise(symbol: str, number: str, branch: str) -> None:
    wide = str.maketrans("0123456789ABCXYZ-", "０１２３４５６７８９ＡＢＣＸＹＺ－")
    parsed = InsuredNumber.parse(symbol.translate(wide), number.translate(wide), branch)
    assert parsed == InsuredNumber.parse(symbol, number, branch)


@given(symbols, numbers, st.text(st.sampled_from("0123456789"), max_size=5))
def test_branch_must_have_two_digits(symbol: str, number: str, branch: str) -> None:
    assume(len(branch) != 2)
    with pytest.raises(InvalidInput, match="枝番"):
        InsuredNumber.parse(symbol, number, branch)


@given(symbols, st.text(st.sampled_from("0123456789"), min_size=13, max_size=30), branches)
def test_number_too_long_is_rejected(symbol: str, number: str, branch: str) -> None:
    with pytest.raises(InvalidInput, match="番号"):
        InsuredNumber.parse(symbol, number, branch)


@given(st.text(max_size=25), st.text(max_size=15), st.text(max_size=3))
def test_arbitrary_input_is_valid_or_a_clean_error(symbol: str, number: str, branch: str) -> None:
    try:
        parsed = InsuredNumber.parse(symbol, number, branch)
    except InvalidInput:
        return
    assert 1 <= len(parsed.symbol) <= 20
    assert parsed.number.isdigit() and len(parsed.number) <= 12
    assert len(parsed.branch) == 2 and parsed.branch.isdigit()


@pytest.mark.parametrize("symbol", ["12 34", "ab!", "", "😀", "A\u0000"])
def test_bad_symbols_are_rejected(symbol: str) -> None:
    with pytest.raises(InvalidInput, match="記号"):
        InsuredNumber.parse(symbol, "1234", "00")


def test_letters_are_upper_cased() -> None:
    assert InsuredNumber.parse("ab-1", "1", "01").symbol == "AB-1"
