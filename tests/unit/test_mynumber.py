"""Properties of the My Number rules (mynumber_core.mynumber).

The check digit is recomputed here from the ordinance's own wording (digits P_n counted from the
right, weights Q_n = n + 1 for n ≤ 6 and n − 5 for n ≥ 7), not from the module's weight table,
so a transposed weight in the implementation would be caught.
"""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from mynumber_core.mynumber import (
    InvalidMyNumber,
    canonicalize,
    check_digit,
    generate,
    is_valid,
    validate,
)

DIGITS = "0123456789"
FULLWIDTH = "０１２３４５６７８９"
WHITESPACE = [" ", "\t", "\n", "\r", "\u3000", "\u00a0", "\u2003"]

bodies = st.text(alphabet=DIGITS, min_size=11, max_size=11)
surrounding = st.lists(st.sampled_from(WHITESPACE), max_size=4).map("".join)


def official_check_digit(body: str) -> int:
    """総務省令第85号 Art. 5, read literally: P_n is the n-th digit from the right."""
    total = 0
    for n in range(1, 12):
        p_n = int(body[11 - n])
        q_n = n + 1 if n <= 6 else n - 5
        total += p_n * q_n
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def with_check_digit(body: str) -> str:
    return body + str(official_check_digit(body))


def to_fullwidth(text: str, mask: list[bool]) -> str:
    return (
        "".join(FULLWIDTH[int(ch)] if wide else ch for ch, wide in zip(text, mask, strict=False))
        + text[len(mask) :]
    )


valid_numbers = bodies.map(with_check_digit)


def _weighted(number: str) -> int:
    return sum(int(number[11 - n]) * (n + 1 if n <= 6 else n - 5) for n in range(1, 12))


def _digit_runs(text: str, length: int = 4) -> list[str]:
    return re.findall(rf"[0-9]{{{length},}}", text.translate(str.maketrans(FULLWIDTH, DIGITS)))


# --------------------------------------------------------------------------- check digit


@given(bodies)
@example("12345678901")  # the widely published sample 1234 5678 9018
@example("00000000000")
def test_check_digit_is_the_official_formula(body: str) -> None:
    assert check_digit(body) == official_check_digit(body)


def test_published_sample_number_is_valid() -> None:
    assert check_digit("12345678901") == 8
    assert validate("123456789018") == "123456789018"
    assert not is_valid("123456789019")


@given(bodies, st.integers(0, 9))
def test_exactly_one_check_digit_validates(body: str, last: int) -> None:
    number = body + str(last)
    assert is_valid(number) == (last == official_check_digit(body))


@given(valid_numbers, st.integers(0, 11), st.integers(1, 9))
def test_a_single_digit_error_is_always_caught(number: str, position: int, delta: int) -> None:
    wrong = str((int(number[position]) + delta) % 10)
    mutated = number[:position] + wrong + number[position + 1 :]
    # 11 is prime and every weight is below 11, so any one-digit change moves the sum mod 11;
    # the only blind spot is the r ∈ {0, 1} ↦ 0 collapse, which the official formula accepts.
    assume({_weighted(mutated) % 11, _weighted(number) % 11} != {0, 1})
    assert not is_valid(mutated)


@pytest.mark.parametrize(
    "body", ["", "1234567890", "123456789012", "1234567890a", "１２３４５６７８９０１"]
)
def test_check_digit_needs_eleven_ascii_digits(body: str) -> None:
    with pytest.raises(InvalidMyNumber, match="11 ASCII digits"):
        check_digit(body)


# ------------------------------------------------------------------------ canonical form


@given(valid_numbers, st.lists(st.booleans(), max_size=12), surrounding, surrounding)
def test_canonicalize_accepts_ascii_and_fullwidth_with_surrounding_space(
    number: str, wide: list[bool], before: str, after: str
) -> None:
    raw = before + to_fullwidth(number, wide) + after
    assert canonicalize(raw) == number
    assert validate(raw) == number
    assert is_valid(raw)


@given(st.text(max_size=80))
def test_canonicalize_is_idempotent(raw: str) -> None:
    try:
        once = canonicalize(raw)
    except InvalidMyNumber:
        return
    assert re.fullmatch(r"[0-9]{12}", once)
    assert canonicalize(once) == once


@given(
    valid_numbers, st.integers(1, 11), st.sampled_from(["-", " ", "\u3000", "ー", "a", "٣", "."])
)
def test_inner_separators_are_rejected_not_guessed(number: str, at: int, sep: str) -> None:
    raw = number[:at] + sep + number[at:]
    with pytest.raises(InvalidMyNumber) as info:
        canonicalize(raw)
    assert "not a digit" in info.value.message


@given(st.text(alphabet=DIGITS + FULLWIDTH, max_size=30).filter(lambda s: len(s) != 12))
def test_wrong_length_is_rejected_with_the_count_only(raw: str) -> None:
    with pytest.raises(InvalidMyNumber) as info:
        canonicalize(raw)
    message = info.value.message
    assert "12" in message
    for run in _digit_runs(raw):
        assert run not in message


@given(
    st.text(min_size=1, max_size=100).filter(lambda s: not re.fullmatch(r"\s*[0-9０-９]{12}\s*", s))
)
@example("1234-5678-9018")
@example("123456789018" * 6)
@example("12345678901８x")
@example("   ")
def test_anything_else_is_rejected_without_echoing_the_digits(raw: str) -> None:
    with pytest.raises(InvalidMyNumber) as info:
        validate(raw)
    message = info.value.message
    assert message
    assert not _digit_runs(message), "an error message must not carry digit runs of the input"
    for run in _digit_runs(raw):
        assert run not in message


@given(valid_numbers)
def test_wrong_check_digit_message_does_not_echo_the_number(number: str) -> None:
    wrong = number[:11] + str((int(number[11]) + 1) % 10)
    with pytest.raises(InvalidMyNumber) as info:
        validate(wrong)
    assert "check digit" in info.value.message
    assert wrong not in info.value.message and wrong[:11] not in info.value.message


@pytest.mark.parametrize("raw", [None, 123456789018, b"123456789018"])
def test_non_text_is_rejected(raw: object) -> None:
    with pytest.raises(InvalidMyNumber, match="text"):
        canonicalize(raw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- generation


def test_generate_gives_valid_distinct_non_sequential_numbers() -> None:
    issued: set[str] = set()
    numbers = [generate(issued.__contains__) for _ in range(200)]
    for n in numbers:
        issued.add(n)
    assert all(validate(n) == n for n in numbers)
    assert len(set(numbers)) == len(numbers)
    bodies_ = [int(n[:11]) for n in numbers]
    steps = {b - a for a, b in itertools.pairwise(bodies_)}
    assert len(steps) > 150, "consecutive numbers must not follow a pattern"
    assert sum(1 for s in steps if abs(s) <= 1000) < 5, "numbers must not be near-sequential"
    # The leading digit is spread over the whole range (not a counter stuck at 0000...).
    assert len({n[0] for n in numbers}) >= 8


@given(st.data())
def test_generate_never_returns_a_taken_number(data: st.DataObject) -> None:
    asked: list[str] = []
    answers: dict[str, bool] = {}

    def is_taken(number: str) -> bool:
        asked.append(number)
        answers[number] = data.draw(st.booleans(), label="taken")
        return answers[number]

    try:
        number = generate(is_taken, max_attempts=8)
    except RuntimeError as exc:
        assert "exhausted" in str(exc)
        assert len(asked) == 8 and all(answers.values())
        return
    assert answers[number] is False
    assert number == asked[-1]
    assert all(answers[n] for n in asked[:-1])
    assert is_valid(number)


def test_generate_fails_clearly_when_everything_is_taken() -> None:
    calls: list[str] = []

    def always(number: str) -> bool:
        calls.append(number)
        return True

    with pytest.raises(RuntimeError, match="exhausted"):
        generate(always, max_attempts=16)
    assert len(calls) == 16
