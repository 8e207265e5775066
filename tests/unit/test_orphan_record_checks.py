"""The one check of an orphaned pension record's written facts (pension's pool and the
registry's Reconcile both use it): it accepts exactly what its rules describe, names the field
and the position, and never echoes a value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core.errors import InvalidInput
from mynumber_core.orphan_records import (
    MAX_NAME,
    check_identifying_facts,
    check_ledger_entry,
    month_index,
)

_TEXT = st.text(min_size=0, max_size=120)


@given(
    record_id=st.text(max_size=40) | st.from_regex(r"\A[A-Za-z0-9_-]{1,34}\Z"),
    name_kana=_TEXT,
    name_kanji=st.none() | _TEXT,
    written=st.text(max_size=50),
    sex=st.sampled_from(["male", "female", "", "m", "Female"]),
)
def test_identifying_facts_accepted_exactly_when_the_rules_hold(
    record_id: str, name_kana: str, name_kanji: str | None, written: str, sex: str
) -> None:
    valid = (
        1 <= len(record_id) <= 32
        and all(c.isascii() and (c.isalnum() or c in "_-") for c in record_id)
        and name_kana.strip() != ""
        and len(name_kana) <= MAX_NAME
        and len(name_kanji or "") <= MAX_NAME
        and len(written) <= 40
        and sex in ("male", "female")
    )
    try:
        check_identifying_facts(
            "records[7]",
            record_id=record_id,
            name_kana=name_kana,
            name_kanji=name_kanji,
            birth_date_written=written,
            sex=sex,
        )
    except InvalidInput as exc:
        assert not valid
        assert str(exc).startswith("records[7].")
        for value in (name_kana, name_kanji or "", written):
            if len(value.strip()) >= 4:
                assert value not in str(exc)
    else:
        assert valid


_MONTHS = st.builds(
    lambda y, m: f"{y:04d}-{m:02d}", st.integers(1900, 2030), st.integers(1, 12)
) | st.text(max_size=9)


@given(start=_MONTHS, end=_MONTHS, months=st.integers(-3, 500), employer=st.text(max_size=210))
def test_ledger_entry_accepted_exactly_when_the_period_holds_the_months(
    start: str, end: str, months: int, employer: str
) -> None:
    def index(text: str) -> int | None:
        try:
            return month_index("r", "f", text)
        except InvalidInput:
            return None

    first, last = index(start), index(end)
    valid = (
        employer.strip() != ""
        and len(employer) <= 200
        and first is not None
        and last is not None
        and 1 <= months <= last - first + 1
    )
    try:
        check_ledger_entry(
            "records[0]",
            employer=employer,
            prefecture=None,
            period_start=start,
            period_end=end,
            months=months,
        )
    except InvalidInput as exc:
        assert not valid
        assert str(exc).startswith("records[0].")
    else:
        assert valid


@pytest.mark.parametrize(
    "text", ["1988-4", "1988-13", "88-04", "1988/04", "1988-04 ", "１９８８-04"]
)
def test_a_month_must_be_written_yyyy_mm(text: str) -> None:
    with pytest.raises(InvalidInput, match="YYYY-MM"):
        month_index("records[0]", "period_start", text)


def test_month_index_orders_months() -> None:
    assert month_index("r", "f", "1988-04") + 12 == month_index("r", "f", "1989-04")
