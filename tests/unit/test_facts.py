"""Properties of the four basic facts (mynumber_core.facts): parsing, validation, matching.

Linking needs all four facts to match; the comparison must survive full-width/half-width forms
and odd whitespace (no false mismatch) while any real difference stays a mismatch. Validation
messages name the field and the rule, never the value.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mynumber_core.calendar import today_jst
from mynumber_core.errors import InvalidInput
from mynumber_core.facts import (
    MAX_ADDRESS,
    MAX_NAME,
    BasicFacts,
    address_of_event,
    normalize_for_match,
    parse_birth_date,
)

KANJI = "山田太郎花子佐藤鈴木高橋伊藤渡辺中村小林加藤吉田健一美咲翔大輔"
KANA = "やまだたろうはなこさとうすずきアイウエオカキクケコ"
LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
SPACES = [" ", "  ", "\u3000", "\t", " \u3000 "]

words = st.text(alphabet=KANJI + KANA + LATIN + "0123456789", min_size=1, max_size=8)
names = st.lists(words, min_size=1, max_size=4).map(" ".join)
addresses = st.lists(
    st.text(alphabet=KANJI + "0123456789丁目番地号-", min_size=1, max_size=10),
    min_size=1,
    max_size=5,
).map(" ".join)
dates = st.dates(min_value=dt.date(1880, 1, 1), max_value=today_jst())
sexes = st.sampled_from(["male", "female"])


def widen(text: str, mask: list[bool]) -> str:
    """Turn ASCII letters/digits into their full-width forms where ``mask`` says so."""
    out = []
    for i, ch in enumerate(text):
        wide = mask[i % len(mask)] if mask else False
        out.append(chr(ord(ch) + 0xFEE0) if wide and "!" <= ch <= "~" else ch)
    return "".join(out)


def respace(text: str, gaps: list[str], pad: str) -> str:
    """Replace every single space with one of ``gaps`` and pad both ends."""
    parts = text.split(" ")
    joined = parts[0]
    for i, part in enumerate(parts[1:]):
        joined += (gaps[i % len(gaps)] if gaps else " ") + part
    return pad + joined + pad


@given(
    names,
    addresses,
    dates,
    sexes,
    st.lists(st.booleans(), min_size=1, max_size=8),
    st.lists(st.sampled_from(SPACES), max_size=4),
    st.sampled_from(["", " ", "\u3000", "\n"]),
)
def test_width_and_whitespace_variants_match(
    name: str,
    address: str,
    born: dt.date,
    sex: str,
    mask: list[bool],
    gaps: list[str],
    pad: str,
) -> None:
    stored = BasicFacts.parse(name, born.isoformat(), sex, address)
    variant = BasicFacts.parse(
        respace(widen(name, mask), gaps, pad), born.isoformat(), sex, respace(address, gaps, pad)
    )
    assert stored.matches(variant)
    assert variant.matches(stored)


def test_realistic_variants_match() -> None:
    stored = BasicFacts.parse("山田 太郎", "1980-04-01", "male", "東京都千代田区千代田1-1")
    assert stored.matches(
        BasicFacts.parse(
            "山田\u3000\u3000太郎 ", "1980-04-01", "male", "東京都千代田区千代田１－１"
        )
    )
    assert stored.matches(
        BasicFacts.parse(" 山田 太郎", " 1980-04-01 ", "male", "東京都千代田区千代田1-1")
    )
    half = BasicFacts.parse("ﾔﾏﾀﾞ ﾀﾛｳ", "1980-04-01", "male", "x")
    assert half.matches(BasicFacts.parse("ヤマダ タロウ", "1980-04-01", "male", "x"))
    latin = BasicFacts.parse("SMITH John", "1980-04-01", "male", "x")
    assert latin.matches(BasicFacts.parse("Ｓｍｉｔｈ　ｊｏｈｎ", "1980-04-01", "male", "x"))


@given(names, names, addresses, dates, sexes)
def test_different_names_do_not_match(
    name: str, other: str, address: str, born: dt.date, sex: str
) -> None:
    assume(normalize_for_match(name) != normalize_for_match(other))
    a = BasicFacts.parse(name, born.isoformat(), sex, address)
    b = BasicFacts.parse(other, born.isoformat(), sex, address)
    assert not a.matches(b)


@given(names, addresses, dates, dates, sexes)
def test_every_fact_must_match(
    name: str, address: str, born: dt.date, other: dt.date, sex: str
) -> None:
    base = BasicFacts.parse(name, born.isoformat(), sex, address)
    flipped = "female" if sex == "male" else "male"
    assert not base.matches(BasicFacts.parse(name, born.isoformat(), flipped, address))
    if other != born:
        assert not base.matches(BasicFacts.parse(name, other.isoformat(), sex, address))
    assert not base.matches(BasicFacts.parse(name, born.isoformat(), sex, address + "2"))


@given(st.text(max_size=50))
def test_normalize_for_match_is_idempotent(text: str) -> None:
    once = normalize_for_match(text)
    assert normalize_for_match(once) == once
    assert once == once.strip()
    assert "  " not in once and "\u3000" not in once


@given(names, st.lists(st.sampled_from(SPACES), max_size=3))
def test_parse_collapses_whitespace(name: str, gaps: list[str]) -> None:
    facts = BasicFacts.parse(respace(name, gaps, " \u3000"), "2000-01-01", "female", "x")
    assert facts.name == name


# ------------------------------------------------------------------------------ invalid


SECRET = "秘密太郎"


@pytest.mark.parametrize(
    ("name", "birth", "sex", "address", "field"),
    [
        ("", "1980-01-01", "male", "東京都", "name"),
        (" \u3000\t", "1980-01-01", "male", "東京都", "name"),
        (SECRET, "1980-01-01", "male", "", "address"),
        (SECRET * 30, "1980-01-01", "male", "東京都", "name"),
        (SECRET, "1980-01-01", "male", "東京都" * 70, "address"),
        (SECRET + "\u200b", "1980-01-01", "male", "東京都", "name"),  # zero-width space (Cf)
        (SECRET + "\x07", "1980-01-01", "male", "東京都", "name"),
        (SECRET, "1980-01-01", "male", "東京都\ue000", "address"),  # private use
        (SECRET, "1980/01/01", "male", "東京都", "birth_date"),
        (SECRET, "19800101", "male", "東京都", "birth_date"),
        (SECRET, "1980-02-30", "male", "東京都", "birth_date"),
        (SECRET, "1879-12-31", "male", "東京都", "birth_date"),
        (SECRET, "２０００-０１-０１", "male", "東京都", "YYYY-MM-DD"),
        (SECRET, "", "male", "東京都", "birth_date"),
        (SECRET, "1980-01-01", "", "東京都", "sex"),
        (SECRET, "1980-01-01", "other", "東京都", "sex"),
        (SECRET, "1980-01-01", "MALE", "東京都", "sex"),
    ],
)
def test_invalid_facts_name_the_field_not_the_value(
    name: str, birth: str, sex: str, address: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        BasicFacts.parse(name, birth, sex, address)
    message = info.value.message
    assert field in message
    assert SECRET not in message and "東京都" not in message
    assert birth.strip() == "" or birth not in message


def test_future_birth_date_is_rejected() -> None:
    tomorrow = today_jst() + dt.timedelta(days=1)  # births are dated in Japan's time
    with pytest.raises(InvalidInput, match="between 1880-01-01 and today"):
        parse_birth_date(tomorrow.isoformat())
    assert parse_birth_date("2020-02-29", today=dt.date(2024, 1, 1)) == dt.date(2020, 2, 29)


def test_length_limits_are_inclusive() -> None:
    facts = BasicFacts.parse("あ" * MAX_NAME, "1990-01-01", "male", "い" * MAX_ADDRESS)
    assert len(facts.name) == MAX_NAME and len(facts.address) == MAX_ADDRESS
    with pytest.raises(InvalidInput, match="too long"):
        BasicFacts.parse("あ" * (MAX_NAME + 1), "1990-01-01", "male", "x")
    with pytest.raises(InvalidInput, match="too long"):
        BasicFacts.parse("x", "1990-01-01", "male", "い" * (MAX_ADDRESS + 1))


@given(st.text(max_size=20))
def test_birth_date_parser_accepts_only_iso_dates(raw: str) -> None:
    try:
        parsed = parse_birth_date(raw)
    except InvalidInput as exc:
        assert "birth_date" in exc.message
        return
    assert parsed.isoformat() == raw.strip()


@given(st.text(alphabet=st.characters(categories=["Cc", "Cf", "Co"]), min_size=1, max_size=3))
def test_control_and_format_characters_are_rejected(junk: str) -> None:
    # Whitespace controls (tab, newline, U+001C-U+001F, U+0085) are collapsed like spaces;
    # anything else of these categories must be refused.
    assume(junk.strip())
    with pytest.raises(InvalidInput):
        BasicFacts.parse("山田" + junk + "太郎", "1990-01-01", "male", "x")


@given(st.text(min_size=1, max_size=12))
def test_the_character_check_refuses_exactly_the_control_and_unassigned_categories(
    text: str,
) -> None:
    # The check is str.isprintable() after collapsing whitespace (fast on 5,000-record
    # batches); it must refuse the same texts as asking unicodedata about every character.
    collapsed = " ".join(text.split())
    assume(collapsed)
    forbidden = any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in collapsed)
    try:
        BasicFacts.parse(text, "1990-01-01", "male", "x")
    except InvalidInput as exc:
        assert forbidden == ("control or unassigned" in exc.message)
    else:
        assert not forbidden


@given(st.one_of(st.text(max_size=MAX_ADDRESS + 20), st.integers(), st.none()))
def test_an_address_change_event_carries_a_bounded_address(raw: object) -> None:
    try:
        address = address_of_event({"address": raw})
    except InvalidInput as exc:
        assert "address" in exc.message
        collapsed = " ".join(raw.split()) if isinstance(raw, str) else ""
        assert not collapsed or len(collapsed) > MAX_ADDRESS
        return
    assert isinstance(raw, str) and address == " ".join(raw.split())
    assert 0 < len(address) <= MAX_ADDRESS
