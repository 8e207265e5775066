"""Japanese forms for record matching (mynumber_core.japanese): kana keys and era dates.

The phonetic key must forgive exactly the spelling variants of old pension records (ヲ/オ,
ヂ/ジ, small kana, long vowels, voiced marks) and keep different names apart; era dates must
round-trip through the era table and refuse what is not an era date, naming the form.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core.errors import InvalidInput
from mynumber_core.japanese import (
    format_era,
    from_era,
    kana_key,
    normalize_kana,
    parse_era_parts,
    to_era,
)

BASIC = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン"
kana_names = st.text(alphabet=BASIC, min_size=1, max_size=8)
dates = st.dates(min_value=dt.date(1868, 1, 25), max_value=dt.date(2100, 12, 31))


@pytest.mark.parametrize(
    ("written", "registered"),
    [
        ("ヲノ", "オノ"),
        ("チヂワ", "チジワ"),
        ("ミヅノ", "ミズノ"),
        ("キヨウコ", "キョウコ"),
        ("サトー", "サトウ"),
        ("ユーコ", "ユウコ"),
        ("ケーコ", "ケイコ"),
        ("カトウ", "ガトウ"),
        ("やまだ", "ヤマダ"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダタロウ"),
    ],
)
def test_record_variants_share_the_key(written: str, registered: str) -> None:
    assert kana_key(written) == kana_key(registered)


@pytest.mark.parametrize(
    ("a", "b"), [("サトウ", "サイトウ"), ("ヤマダ", "ヤマモト"), ("ユキ", "ユミ")]
)
def test_different_names_keep_different_keys(a: str, b: str) -> None:
    assert kana_key(a) != kana_key(b)


@given(kana_names)
def test_hiragana_and_half_width_give_the_katakana_key(name: str) -> None:
    import jaconv

    assert normalize_kana(jaconv.kata2hira(name)) == normalize_kana(name)
    assert kana_key(jaconv.z2h(name, kana=True)) == kana_key(name)
    assert kana_key(kana_key(name)) == kana_key(name)


@given(dates)
def test_era_dates_round_trip(day: dt.date) -> None:
    era, year, month, date = parse_era_parts(format_era(day))
    assert (era, year) == to_era(day)
    assert from_era(era, year, month, date) == day


def test_era_boundaries_follow_the_table() -> None:
    assert to_era(dt.date(1989, 1, 7)) == ("昭和", 64)
    assert to_era(dt.date(1989, 1, 8)) == ("平成", 1)
    assert to_era(dt.date(2019, 4, 30)) == ("平成", 31)
    assert to_era(dt.date(2019, 5, 1)) == ("令和", 1)
    assert parse_era_parts("昭和元年12月25日") == ("昭和", 1, 12, 25)
    assert parse_era_parts("平成 ３年 ２月 １日") == ("平成", 3, 2, 1)


@given(st.text(max_size=20))
def test_anything_else_is_refused_naming_the_form(text: str) -> None:
    try:
        parse_era_parts(text)
    except InvalidInput as exc:
        # one fixed message: it names the expected form and never echoes the input
        assert str(exc) == "an era date must look like 昭和45年3月12日 (era, year, month, day)"


def test_impossible_era_dates_are_refused() -> None:
    with pytest.raises(InvalidInput, match="not a real calendar date"):
        from_era("昭和", 45, 2, 30)
    with pytest.raises(InvalidInput, match="era must be one of"):
        from_era("天平", 1, 1, 1)
    with pytest.raises(InvalidInput, match="before 明治"):
        to_era(dt.date(1868, 1, 24))
