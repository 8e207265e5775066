"""The large synthetic population (mynumber_dev.population) has Japan-like name variety.

The linkage bench is only as honest as its population: these tests pin what the module says —
佐藤 is the most common surname at about 1.5 %, there are well over a thousand surnames and
hundreds of given names, few people share a name and a birth date, readings are katakana,
households share a surname, the same seed gives the same people, and the Faker population it
replaces in the bench has far less variety.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from mynumber_core.japanese import prefecture_of
from mynumber_dev import japanese_names
from mynumber_dev.demo import DemoResident, generate_residents
from mynumber_dev.population import generate_population, surname_compounds

KATAKANA = re.compile(r"^[ァ-ヶー]+ [ァ-ヶー]+$")


@pytest.fixture(scope="module")
def people() -> list[DemoResident]:
    return generate_population(20_000, seed=7)


def test_surnames_follow_the_rankings_with_a_long_tail(people: list[DemoResident]) -> None:
    surnames = Counter(p.name.split()[0] for p in people if not p.foreign)
    citizens = sum(surnames.values())
    top, count = surnames.most_common(1)[0]
    assert top == "佐藤"
    assert 0.01 < count / citizens < 0.02
    assert len(surnames) > 1000
    ranked = {name for name, _ in japanese_names.SURNAMES}
    tail = sum(n for name, n in surnames.items() if name not in ranked)
    assert 0.3 < tail / citizens < 0.7


def test_given_names_are_varied_and_few_share_name_and_birth_date(
    people: list[DemoResident],
) -> None:
    given = Counter((p.sex, p.name_kana.split()[1]) for p in people)
    assert len([g for g in given if g[0] == "male"]) > 300
    assert len([g for g in given if g[0] == "female"]) > 150
    namesakes = Counter((p.name_kana, p.birth_date) for p in people)
    assert sum(n for n in namesakes.values() if n > 1) / len(people) < 0.001
    faker = generate_residents(2000, seed=7)
    faker_surnames = {p.name_kana.split()[0] for p in faker if not p.foreign}
    ours = {p.name_kana.split()[0] for p in people[:2000] if not p.foreign}
    assert len(ours) > 4 * len(faker_surnames)


def test_readings_households_and_addresses(people: list[DemoResident]) -> None:
    for p in people:
        assert KATAKANA.match(p.name_kana), p.name_kana
        assert prefecture_of(p.address)
        assert p.sex in ("male", "female")
    households: dict[int, set[str]] = {}
    for p in people:
        if not p.foreign:
            households.setdefault(p.household, set()).add(p.name.split()[0])
    assert all(len(names) == 1 for names in households.values())
    assert 0.02 < sum(p.foreign for p in people) / len(people) < 0.08


def test_the_same_seed_gives_the_same_people() -> None:
    assert generate_population(500, seed=3) == generate_population(500, seed=3)
    assert generate_population(500, seed=3) != generate_population(500, seed=4)


def test_compounds_read_head_then_tail() -> None:
    compounds = dict(surname_compounds())
    assert compounds["山田"] in ("ヤマタ", "ヤマダ")
    assert compounds["松本"] == "マツモト"
    assert all(kanji[0] != kanji[1] for kanji in compounds)
