"""Property tests of the municipality's identifiers and text validators."""

from __future__ import annotations

import datetime as dt
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core.errors import InvalidInput
from services.municipality import domain

TODAY = dt.date(2025, 6, 1)


@given(st.integers(min_value=0, max_value=10**6))
def test_generated_address_numbers_parse(seed: int) -> None:
    taken: set[str] = set()
    number = domain.new_address_number(lambda c: c in taken)
    assert len(number) == 10 and number.isdigit() and number[0] != "0"
    assert domain.parse_address_number(number) == number


def test_generation_skips_taken_numbers() -> None:
    seen: list[str] = []

    def taken(candidate: str) -> bool:
        seen.append(candidate)
        return len(seen) < 3  # the first two candidates are taken

    number = domain.new_address_number(taken)
    assert number == seen[2]


@given(
    st.from_regex(r"[1-9][0-9]{8}", fullmatch=True),
    st.integers(min_value=0, max_value=9),
    st.integers(min_value=1, max_value=9),
)
def test_every_single_digit_error_is_caught(body: str, position: int, delta: int) -> None:
    number = body + str(domain.luhn_check_digit(body))
    assert domain.parse_address_number(number) == number
    wrong_digit = (int(number[position]) + delta) % 10
    corrupted = number[:position] + str(wrong_digit) + number[position + 1 :]
    if corrupted[0] == "0":
        return  # rejected for its leading zero instead, which is also fine
    with pytest.raises(InvalidInput):
        domain.parse_address_number(corrupted)


@given(st.from_regex(r"[1-9][0-9]{8}", fullmatch=True), st.integers(min_value=1, max_value=8))
def test_adjacent_transpositions_are_caught(body: str, position: int) -> None:
    number = body + str(domain.luhn_check_digit(body))
    a, b = number[position], number[position + 1]
    if a == b or {a, b} == {"0", "9"}:  # Luhn's one blind spot: 09 <-> 90
        return
    swapped = number[:position] + b + a + number[position + 2 :]
    with pytest.raises(InvalidInput):
        domain.parse_address_number(swapped)


def test_full_width_digits_are_accepted() -> None:
    number = domain.new_address_number(lambda c: False)
    full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert domain.parse_address_number(f" {full_width} ") == number


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "required"),
        ("12345-67890", "digits only"),
        ("123456789", "exactly 10"),
        ("0123456789", "never starts with 0"),
        ("x" * 40, "too long"),
    ],
)
def test_bad_address_numbers_say_why_without_echoing(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as info:
        domain.parse_address_number(raw)
    assert fragment in info.value.message
    if raw:
        assert raw not in info.value.message


@given(st.text(max_size=14))
def test_address_number_parser_never_crashes(raw: str) -> None:
    try:
        parsed = domain.parse_address_number(raw)
    except InvalidInput:
        return
    assert len(parsed) == 10 and int(parsed[-1]) == domain.luhn_check_digit(parsed[:-1])


@given(st.integers(min_value=0, max_value=10**6))
def test_household_ids_parse_and_differ_in_length(seed: int) -> None:
    hid = domain.new_household_id(lambda c: False)
    assert domain.parse_household_id(hid) == hid
    with pytest.raises(InvalidInput):
        domain.parse_address_number(hid)


letters = st.sampled_from(string.ascii_uppercase)
CARD_MESSAGES = {
    "residence_card_number must be text",
    "residence_card_number is required for a foreign resident",
    "residence_card_number must be 2 letters, 8 digits and 2 letters (12 characters, "
    "e.g. AB12345678CD)",
}
digits = st.sampled_from(string.digits)


@given(
    st.lists(letters, min_size=2, max_size=2),
    st.lists(digits, min_size=8, max_size=8),
    st.lists(letters, min_size=2, max_size=2),
    st.booleans(),
)
def test_residence_card_numbers_in_the_format_are_accepted(
    head: list[str], body: list[str], tail: list[str], lower: bool
) -> None:
    card = "".join(head + body + tail)
    raw = card.lower() if lower else card
    assert domain.parse_residence_card_number(raw) == card


@given(st.text(max_size=20))
def test_residence_card_validator_accepts_only_the_format(raw: str) -> None:
    try:
        card = domain.parse_residence_card_number(raw)
    except InvalidInput as exc:
        # one of the fixed messages: the input is never echoed back
        assert exc.message.startswith("residence_card_number ")
        assert exc.message in CARD_MESSAGES
        return
    assert len(card) == 12 and card[:2].isalpha() and card[2:10].isdigit() and card[10:].isalpha()


@pytest.mark.parametrize(
    "raw",
    [
        "AB1234567CD",
        "AB123456789C",
        "A123456789CD",
        "AB-12345678-CD",
        "ＡＢ1234567８",
        "12345678ABCD",
    ],
)
def test_malformed_residence_cards_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidInput, match="2 letters, 8 digits and 2 letters"):
        domain.parse_residence_card_number(raw)


def test_full_width_residence_card_is_normalised() -> None:
    assert domain.parse_residence_card_number("ＡＢ１２３４５６７８ＣＤ") == "AB12345678CD"


@given(
    st.text(
        alphabet="ァアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンガギグゲゴヴー・",
        min_size=1,
        max_size=30,
    )
)
def test_katakana_names_are_accepted(kana: str) -> None:
    assert domain.parse_name_kana(kana) == kana


@pytest.mark.parametrize("raw", ["やまだ たろう", "山田 太郎", "Yamada Taro", "ヤマダ1", "   "])
def test_non_katakana_names_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidInput, match="name_kana"):
        domain.parse_name_kana(raw)


def test_half_width_kana_and_ideographic_space_are_normalised() -> None:
    assert domain.parse_name_kana("ﾔﾏﾀﾞ\u3000ﾀﾛｳ") == "ヤマダ タロウ"


def test_foreign_details_rules() -> None:
    ok = domain.ForeignDetails.parse(
        "vn", "技術・人文知識・国際業務", "ab12345678cd", "2027-03-31", today=TODAY
    )
    assert ok.nationality == "VN" and ok.residence_card_number == "AB12345678CD"
    permanent = domain.ForeignDetails.parse("ブラジル", "永住者", "CD87654321EF", "", today=TODAY)
    assert permanent.period_of_stay_until is None
    bad = [
        ("", "留学", "AB12345678CD", "2026-01-01", "nationality"),
        ("JP", "留学", "AB12345678CD", "2026-01-01", "cannot be Japan"),
        ("VN", "観光", "AB12345678CD", "2026-01-01", "residence_status"),
        ("VN", "留学", "AB1234", "2026-01-01", "residence_card_number"),
        ("VN", "留学", "AB12345678CD", "", "period_of_stay_until is required"),
        ("VN", "留学", "AB12345678CD", "2024-01-01", "has passed"),
        ("VN", "永住者", "AB12345678CD", "2030-01-01", "no period of stay"),
    ]
    for nationality, status, card, until, fragment in bad:
        with pytest.raises(InvalidInput, match=fragment):
            domain.ForeignDetails.parse(nationality, status, card, until, today=TODAY)


@given(st.text(max_size=40))
def test_idempotency_key_parser(raw: str) -> None:
    try:
        key = domain.parse_idempotency_key(raw)
    except InvalidInput:
        return
    assert 8 <= len(key) <= 100 and key.isascii()


def test_free_text_refuses_what_looks_like_a_my_number() -> None:
    with pytest.raises(InvalidInput, match="My Number"):
        domain.parse_free_text("reason", "番号 1234 5678 9012 が漏えい", max_len=200, required=True)
    assert domain.parse_free_text("reason", "紛失した申請書", max_len=200, required=True)
