"""The synthetic orphan-record generator (mynumber_dev.orphans) corrupts records as it says.

Every corruption a record lists is visible against its resident, a record that lists none is
written exactly as the resident's facts, decoys have no ground truth, and a seed reproduces
the same records (the bench and the tests score against them).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from mynumber_core.japanese import format_era, kana_key, parse_era_parts
from mynumber_dev.demo import DemoResident, generate_residents
from mynumber_dev.orphans import CORRUPTIONS, OrphanRecord, make_orphans, prefecture_of


@pytest.fixture(scope="module")
def world() -> tuple[list[DemoResident], list[OrphanRecord]]:
    residents = generate_residents(1500, seed=11)
    return residents, make_orphans(residents, 1200, seed=5)


def test_every_corruption_is_made_and_decoys_are_about_a_tenth(
    world: tuple[list[DemoResident], list[OrphanRecord]],
) -> None:
    _, records = world
    seen = Counter(kind for r in records for kind in r.corruptions)
    assert set(seen) == set(CORRUPTIONS)
    decoys = [r for r in records if r.truth is None]
    assert len(decoys) == 120
    assert any(not r.corruptions and r.truth is not None for r in records)
    assert len({r.record_id for r in records}) == len(records)


def test_each_listed_corruption_shows_against_the_resident(
    world: tuple[list[DemoResident], list[OrphanRecord]],
) -> None:
    residents, records = world
    for record in (r for r in records if r.truth is not None):
        resident = residents[record.truth]  # type: ignore[index]
        born = dt.date.fromisoformat(resident.birth_date)
        surname, given = record.name_kana.split(" ")
        true_surname, true_given = resident.name_kana.split(" ")
        kinds = set(record.corruptions)
        if not kinds & {"kana_variant", "typo", "maiden_name"}:
            assert record.name_kana == resident.name_kana
        if "kana_variant" in kinds and not kinds & {"typo", "maiden_name"}:
            assert record.name_kana != resident.name_kana
            assert kana_key(surname + given) == kana_key(true_surname + true_given)
        if "maiden_name" in kinds:
            assert resident.sex == "female" and surname != true_surname
        if not kinds & {"era_slip", "day_month_swap"}:
            assert record.birth_date_written == format_era(born)
        if kinds == {"day_month_swap"}:
            _, _, month, day = parse_era_parts(record.birth_date_written)
            assert (month, day) == (born.day, born.month) != (born.month, born.day)
        if kinds == {"era_slip"}:
            assert record.birth_date_written != format_era(born)
            assert parse_era_parts(record.birth_date_written)[2:] == (born.month, born.day)
        assert (record.sex != resident.sex) == ("wrong_sex" in kinds)
        assert int(record.period_start[:4]) > born.year + 15
        assert record.months >= 1


def test_a_seed_reproduces_the_records() -> None:
    residents = generate_residents(200, seed=3)
    assert make_orphans(residents, 50, seed=9) == make_orphans(residents, 50, seed=9)
    assert make_orphans(residents, 50, seed=9) != make_orphans(residents, 50, seed=10)


@pytest.mark.parametrize(
    ("address", "prefecture"),
    [
        ("東京都港区1丁目", "東京都"),
        ("北海道札幌市", "北海道"),
        ("神奈川県横浜市", "神奈川県"),
        ("京都府京都市", "京都府"),
        ("どこか", None),
    ],
)
def test_prefecture_of_an_address(address: str, prefecture: str | None) -> None:
    assert prefecture_of(address) == prefecture
