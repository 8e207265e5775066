"""Properties of LinkBatch's record validator (services/registry/usecases/link_batch.py).

Whatever arrives, every record gets exactly one answer in order: a validated record, or an
INVALID_ARGUMENT naming its position and the rule, never the number or a fact. Valid records
pass unchanged, a number repeated in the batch is refused where it repeats, and a record's
verdict does not depend on the bad records around it.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from mynumber_core.calendar import today_jst
from mynumber_core.errors import InvalidInput
from mynumber_core.mynumber import check_digit
from services.registry.usecases.link_batch import LinkRecord, RawRecord, parse_records

KANJI = "山田太郎花子佐藤鈴木高橋伊藤渡辺中村小林加藤吉田健一美咲"
bodies = st.text(alphabet="0123456789", min_size=11, max_size=11)
numbers = bodies.map(lambda b: b + str(check_digit(b)))
names = st.text(alphabet=KANJI, min_size=2, max_size=12)
addresses = st.text(alphabet=KANJI + "0123456789丁目番地号-", min_size=4, max_size=40)
dates = st.dates(min_value=dt.date(1880, 1, 1), max_value=today_jst()).map(dt.date.isoformat)
sexes = st.sampled_from(["male", "female"])
valid = st.builds(RawRecord, numbers, names, dates, sexes, addresses)
hostile = st.builds(
    RawRecord,
    st.one_of(numbers, st.text(max_size=20), st.text(alphabet="0123456789", max_size=14)),
    st.one_of(names, st.text(max_size=120)),
    st.one_of(dates, st.text(max_size=12)),
    st.one_of(sexes, st.text(max_size=8)),
    st.one_of(addresses, st.text(max_size=220)),
)


@given(st.lists(st.one_of(valid, hostile), max_size=30))
def test_every_record_gets_one_answer_that_never_echoes_it(raw: list[RawRecord]) -> None:
    out = parse_records(raw)
    assert len(out) == len(raw)
    for i, (record, verdict) in enumerate(zip(raw, out, strict=True)):
        if isinstance(verdict, InvalidInput):
            assert verdict.message.startswith(f"record {i}: ")
            rest = verdict.message.removeprefix(f"record {i}: ")
            for value in (record.my_number, record.name, record.address):
                if len(value.strip()) >= 4:
                    assert value.strip() not in rest
        else:
            assert isinstance(verdict, LinkRecord)
            assert verdict.number == record.my_number
            assert verdict.facts.sex == record.sex


@given(st.lists(valid, min_size=1, max_size=20, unique_by=lambda r: r.my_number))
def test_valid_records_with_distinct_numbers_all_pass(raw: list[RawRecord]) -> None:
    out = parse_records(raw)
    assert all(isinstance(v, LinkRecord) for v in out)
    assert [v.number for v in out if isinstance(v, LinkRecord)] == [r.my_number for r in raw]


@given(st.lists(valid, min_size=1, max_size=10, unique_by=lambda r: r.my_number), st.data())
def test_a_repeated_number_is_refused_where_it_repeats(
    raw: list[RawRecord], data: st.DataObject
) -> None:
    j = data.draw(st.integers(0, len(raw) - 1))
    again = RawRecord(raw[j].my_number, "佐藤 花子", "1990-01-01", "female", "東京都1-2")
    out = parse_records([*raw, again])
    assert all(isinstance(v, LinkRecord) for v in out[:-1])
    last = out[-1]
    assert isinstance(last, InvalidInput)
    assert f"record {j}" in last.message and raw[j].my_number not in last.message


@given(st.lists(valid, min_size=1, max_size=10, unique_by=lambda r: r.my_number), st.data())
def test_bad_neighbours_do_not_change_a_valid_records_verdict(
    raw: list[RawRecord], data: st.DataObject
) -> None:
    bad = data.draw(
        st.lists(st.builds(RawRecord, st.just("12345"), names, dates, sexes, addresses), max_size=5)
    )
    mixed = [*bad, *raw]
    out = parse_records(mixed)
    assert all(isinstance(v, InvalidInput) for v in out[: len(bad)])
    assert [v.number for v in out[len(bad) :] if isinstance(v, LinkRecord)] == [
        r.my_number for r in raw
    ]
