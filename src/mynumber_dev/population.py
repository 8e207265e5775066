"""A large synthetic population with Japan-like name variety, fast enough for a million.

:func:`mynumber_dev.demo.generate_residents` (Faker ``ja_JP``) is right for ``make run`` but
draws from 50 surnames and about 25 given names per sex, and makes a few hundred residents a
second. Record linkage is measured on populations of 100,000 and 1,000,000, where both matter:
too few names make far more namesakes born on the same day than Japan has, and a million
Faker residents take most of an hour.

:func:`generate_population` draws from :mod:`mynumber_dev.japanese_names`: the common
surnames with shares that fall with rank (佐藤 about 1.5 %, as in the national rankings, each
next rank a little rarer: share ∝ rank^-0.45), the rest of the population from compounds of
surname elements (the long tail Japan's 100,000+ surnames make); given names from the names
and compound patterns common among people born from the 1930s on, shares ∝ rank^-0.5. The
households, ages, sexes, foreign residents (about 8 % of household heads) and addresses
follow :func:`~mynumber_dev.demo.generate_residents`. The weights are a model, not survey
counts; nobody real is described. Deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

from faker import Faker
from faker.providers.address.ja_JP import Provider as JapaneseAddresses

from mynumber_dev import japanese_names as names
from mynumber_dev.demo import DemoResident

TOP_SURNAME_SHARE = 0.015
"""佐藤's share of the population (about 1.9 million of 125 million)."""


@dataclass(frozen=True)
class NamePool:
    """Names (kanji, kana) with cumulative weights for fast weighted draws."""

    entries: tuple[tuple[str, str], ...]
    cumulative: tuple[float, ...]

    def draw(self, rng: random.Random) -> tuple[str, str]:
        """One name, by weight."""
        return rng.choices(self.entries, cum_weights=self.cumulative)[0]

    def draws(self, rng: random.Random, k: int) -> list[tuple[str, str]]:
        """``k`` names, by weight."""
        return rng.choices(self.entries, cum_weights=self.cumulative, k=k)


def _pool(weighted: Sequence[tuple[tuple[str, str], float]]) -> NamePool:
    entries = tuple(entry for entry, _ in weighted)
    return NamePool(entries, tuple(itertools.accumulate(w for _, w in weighted)))


def _zipf(entries: Sequence[tuple[str, str]], exponent: float) -> NamePool:
    return _pool([(e, (rank + 1) ** -exponent) for rank, e in enumerate(entries)])


def surname_compounds() -> list[tuple[str, str]]:
    """Every head × tail compound (山+田 = 山田 ヤマダ), the tail voiced in about half the
    pairs (rendaku is not predictable from the characters; fixed per pair here)."""
    out = []
    for i, (head, head_kana) in enumerate(names.SURNAME_HEADS):
        for j, (tail, plain, voiced) in enumerate(names.SURNAME_TAILS):
            if head == tail:
                continue
            kana = voiced if (i * 7 + j * 3) % 2 else plain
            out.append((head + tail, head_kana + kana))
    return out


def surname_pool() -> NamePool:
    """The common surnames by rank, then the compounds sharing what is left."""
    ranked = [
        (entry, TOP_SURNAME_SHARE * (rank + 1) ** -0.45)
        for rank, entry in enumerate(names.SURNAMES)
    ]
    left = max(0.0, 1.0 - sum(w for _, w in ranked))
    tail = surname_compounds()
    return _pool(ranked + [(entry, left / len(tail)) for entry in tail])


def _shuffled(items: list[tuple[str, str]], seed: int) -> list[tuple[str, str]]:
    random.Random(seed).shuffle(items)
    return items


def male_pool() -> NamePool:
    """Fixed names first, then the kun and on compounds in a fixed shuffled order."""
    compounds = [
        (h + t, hk + tk) for h, hk in names.MALE_HEADS_KUN for t, tk in names.MALE_TAILS_KUN
    ] + [(h + t, hk + tk) for h, hk in names.MALE_HEADS_ON for t, tk in names.MALE_TAILS_ON]
    return _zipf([*names.MALE_NAMES, *_shuffled(compounds, 1)], 0.5)


def female_pool() -> NamePool:
    """Fixed names and head + tail compounds (和子, 幸江, …) in a fixed shuffled order."""
    compounds = [(h + t, hk + tk) for h, hk in names.FEMALE_HEADS for t, tk in names.FEMALE_TAILS]
    mixed = _shuffled([*names.FEMALE_NAMES, *compounds], 2)
    return _zipf(mixed, 0.5)


_FOREIGN = (
    ("ベトナム", "vi_VN", "技能実習"),
    ("中国", "zh_CN", "永住者"),
    ("フィリピン", "en_PH", "定住者"),
    ("ブラジル", "pt_BR", "日本人の配偶者等"),
    ("アメリカ合衆国", "en_US", "技術・人文知識・国際業務"),
    ("ネパール", "en_US", "留学"),
)


class Population:
    """Draws residents; the Faker-made pools (places, foreign names) are built once."""

    def __init__(self, seed: int = 2026) -> None:
        self._rng = random.Random(seed)
        self._prefectures = list(JapaneseAddresses.prefectures)
        self._cities = list(JapaneseAddresses.cities)
        self._towns = list(JapaneseAddresses.towns)
        self._foreign: dict[str, tuple[list[str], list[str]]] = {}
        for _, locale, _ in _FOREIGN:
            if locale in self._foreign:
                continue
            other = Faker(locale)
            other.seed_instance(seed)
            self._foreign[locale] = (
                [other.name_male().upper() for _ in range(100)],
                [other.name_female().upper() for _ in range(100)],
            )
        self._surnames = surname_pool()
        self._male = male_pool()
        self._female = female_pool()

    def _address(self) -> str:
        rng = self._rng
        return (
            f"{rng.choice(self._prefectures)}{rng.choice(self._cities)}{rng.choice(self._towns)}"
            f"{rng.randint(1, 9)}丁目{rng.randint(1, 30)}番{rng.randint(1, 20)}号"
        )

    def residents(self, count: int) -> list[DemoResident]:
        """``count`` residents in households of one to four people."""
        rng = self._rng
        today = dt.date(2026, 4, 1)
        out: list[DemoResident] = []
        household = 0
        while len(out) < count:
            household += 1
            address = self._address()
            last, last_kana = self._surnames.draw(rng)
            size = min(rng.choice((1, 1, 2, 2, 3, 4)), count - len(out))
            for member in range(size):
                sex = rng.choice(("male", "female"))
                age = rng.randint(25, 80) if member < 2 else rng.randint(0, 22)
                birth = (today - dt.timedelta(days=age * 365 + rng.randint(0, 364))).isoformat()
                given, given_kana = (self._male if sex == "male" else self._female).draw(rng)
                if rng.random() < 0.08 and member == 0:
                    nationality, locale, status = rng.choice(_FOREIGN)
                    men, women = self._foreign[locale]
                    name = rng.choice(men if sex == "male" else women)
                    kana = f"{self._surnames.draw(rng)[1]} {given_kana}"
                    out.append(
                        DemoResident(
                            name,
                            kana,
                            birth,
                            sex,
                            address,
                            True,
                            nationality,
                            status,
                            household=household,
                        )
                    )
                    continue
                out.append(
                    DemoResident(
                        f"{last} {given}",
                        f"{last_kana} {given_kana}",
                        birth,
                        sex,
                        address,
                        household=household,
                    )
                )
        return out


def generate_population(count: int, *, seed: int = 2026) -> list[DemoResident]:
    """``count`` synthetic residents with Japan-like name variety (see the module text)."""
    return Population(seed).residents(count)
