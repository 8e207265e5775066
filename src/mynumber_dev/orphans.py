"""Synthetic orphaned pension records (宙に浮いた年金記録) made from synthetic residents.

Each record keeps the facts as a clerk wrote them decades ago — kana name, sometimes the
kanji, a birth date in a Japanese era, sex, employer, prefecture, period and months paid —
corrupted the ways real records were: kana variants (ヲ/オ, ヂ/ジ, small kana, long-vowel
marks, lost voiced marks), one-character typing errors, era slips (昭和/平成 with the same era
year, an era year off by one), day and month swapped, a maiden name, the wrong sex. The ground
truth (which resident wrote it, which corruptions) is kept so matching can be scored, and
decoys written by people who are not residents match nobody.

Used by the dev seed and by ``make bench``; nobody real is in it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from faker import Faker

from mynumber_core.japanese import format_era, parse_era_parts, prefecture_of, to_era
from mynumber_dev.demo import DemoResident, generate_residents
from mynumber_dev.population import surname_pool

CORRUPTIONS = (
    "kana_variant",
    "typo",
    "era_slip",
    "day_month_swap",
    "maiden_name",
    "wrong_sex",
)
_WEIGHTS = (0.26, 0.14, 0.16, 0.12, 0.20, 0.12)
_KATAKANA = (
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン"
)
_VOICED = dict(
    zip(
        "ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポ",
        "カキクケコサシスセソタチツテトハヒフヘホハヒフヘホ",
        strict=True,
    )
)
_SMALLABLE = {"ヤ": "ャ", "ユ": "ュ", "ヨ": "ョ", "ツ": "ッ"}
_SMALL = {v: k for k, v in _SMALLABLE.items()}
_LONG_BEFORE_U = set("オコソトノホモヨロゴゾドボポョウクスツヌフムユルグズブプュ")
"""After these, ウ is a long vowel that may be written ー (サトウ/サトー)."""


@dataclass
class OrphanRecord:
    """One contribution record that belongs to no enrolled person, as written."""

    record_id: str
    name_kana: str
    name_kanji: str | None
    birth_date_written: str
    sex: str
    employer: str
    prefecture: str
    period_start: str
    period_end: str
    months: int
    truth: int | None = None
    """Index of the resident who wrote it (None for a decoy): ground truth, never sent."""
    corruptions: list[str] = field(default_factory=list)


def _kana_variant(text: str, rng: random.Random) -> str | None:
    options: list[tuple[int, str]] = []
    for i, ch in enumerate(text):
        if ch == "オ":
            options.append((i, "ヲ"))
        elif ch == "ジ":
            options.append((i, "ヂ"))
        elif ch == "ズ":
            options.append((i, "ヅ"))
        elif ch in _VOICED:
            options.append((i, _VOICED[ch]))
        elif ch in _SMALLABLE and i > 0:
            options.append((i, _SMALLABLE[ch]))
        elif ch in _SMALL:
            options.append((i, _SMALL[ch]))
        elif ch == "ウ" and i > 0 and text[i - 1] in _LONG_BEFORE_U:
            options.append((i, "ー"))
        elif ch == "ー":
            options.append((i, "ウ"))
    if not options:
        return None
    i, replacement = rng.choice(options)
    return text[:i] + replacement + text[i + 1 :]


def _typo(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text))
    kind = rng.random()
    if kind < 0.6 or len(text) < 3:
        choices = [ch for ch in _KATAKANA if ch != text[i]]
        return text[:i] + rng.choice(choices) + text[i + 1 :]
    if kind < 0.8:
        return text[:i] + text[i + 1 :]
    return text[:i] + rng.choice(_KATAKANA) + text[i:]


def _era_slip(day: dt.date, rng: random.Random) -> str:
    era, year = to_era(day)
    if rng.random() < 0.5:
        wrong = {"昭和": "平成", "平成": "昭和", "大正": "昭和", "令和": "平成", "明治": "大正"}[
            era
        ]
        return f"{wrong}{year}年{day.month}月{day.day}日"
    shifted = max(1, year + rng.choice((-1, 1)))
    return f"{era}{shifted}年{day.month}月{day.day}日"


class OrphanFactory:
    """Makes orphan records; one instance per run so the randomness is reproducible."""

    def __init__(self, seed: int = 1997) -> None:
        self._rng = random.Random(seed)
        fake = Faker("ja_JP")
        fake.seed_instance(seed)
        self._employers = [fake.company() for _ in range(400)]
        self._prefectures = sorted({fake.prefecture() for _ in range(400)})
        self._surnames = surname_pool()
        self._next = 0

    def record(self, resident: DemoResident, truth: int | None) -> OrphanRecord:
        """One record written for ``resident`` (with ``truth`` as the ground truth)."""
        rng = self._rng
        count = rng.choices((0, 1, 2), weights=(0.2, 0.55, 0.25))[0]
        kinds: list[str] = []
        while len(kinds) < count:
            kind = rng.choices(CORRUPTIONS, weights=_WEIGHTS)[0]
            if kind not in kinds:
                kinds.append(kind)
        surname_kana, _, given_kana = resident.name_kana.partition(" ")
        kanji = resident.name if not resident.foreign else None
        surname_kanji, _, given_kanji = (kanji or "").partition(" ")
        born = dt.date.fromisoformat(resident.birth_date)
        written = format_era(born)
        sex = resident.sex
        applied: list[str] = []
        for kind in kinds:
            if kind == "kana_variant":
                if rng.random() < 0.5 and given_kana:
                    changed = _kana_variant(given_kana, rng)
                    given_kana = changed or given_kana
                else:
                    changed = _kana_variant(surname_kana, rng)
                    surname_kana = changed or surname_kana
                if changed is None:
                    continue
            elif kind == "typo":
                if rng.random() < 0.5 and given_kana:
                    given_kana = _typo(given_kana, rng)
                else:
                    surname_kana = _typo(surname_kana, rng)
            elif kind == "era_slip":
                written = _era_slip(born, rng)
            elif kind == "day_month_swap":
                era, year, month, day = parse_era_parts(written)
                if day > 12 or day == month:
                    continue
                written = f"{era}{year}年{day}月{month}日"
            elif kind == "maiden_name":
                if resident.sex != "female" or resident.foreign:
                    continue
                # a maiden name is another family's surname, as common as surnames are
                registered = resident.name_kana.partition(" ")[0]
                surname_kanji, surname_kana = self._surnames.draw(rng)
                while surname_kana == registered:
                    surname_kanji, surname_kana = self._surnames.draw(rng)
            elif kind == "wrong_sex":
                sex = "male" if sex == "female" else "female"
            applied.append(kind)
        if kanji is not None and rng.random() < 0.5:
            name_kanji: str | None = f"{surname_kanji} {given_kanji}".strip()
        else:
            name_kanji = None
        home = prefecture_of(resident.address)
        prefecture = home if home and rng.random() < 0.6 else rng.choice(self._prefectures)
        start_year = min(1996, born.year + rng.randint(18, 30))
        start = dt.date(start_year, rng.randint(1, 12), 1)
        months = rng.randint(1, 120)
        end_month = start.month - 1 + months - 1
        end = dt.date(start.year + end_month // 12, end_month % 12 + 1, 1)
        self._next += 1
        return OrphanRecord(
            record_id=f"OR{self._next:08d}",
            name_kana=f"{surname_kana} {given_kana}".strip(),
            name_kanji=name_kanji,
            birth_date_written=written,
            sex=sex,
            employer=rng.choice(self._employers),
            prefecture=prefecture,
            period_start=start.strftime("%Y-%m"),
            period_end=end.strftime("%Y-%m"),
            months=months,
            truth=truth,
            corruptions=applied,
        )


def make_orphans(
    residents: Sequence[DemoResident],
    count: int,
    *,
    decoy_share: float = 0.1,
    adults_born_before: int = 1980,
    seed: int = 1997,
    population: Callable[..., list[DemoResident]] = generate_residents,
) -> list[OrphanRecord]:
    """``count`` orphan records: most written by ``residents`` (adults born before
    ``adults_born_before``, who could have paid before 1997), ``decoy_share`` by people who
    are not residents. A resident may have written several (a person with several pension
    numbers, or jobs recorded apart). ``population(count, seed=…)`` makes the strangers
    (the generator the residents came from, so decoys have names like theirs)."""
    rng = random.Random(seed)
    factory = OrphanFactory(seed)
    eligible = [i for i, r in enumerate(residents) if int(r.birth_date[:4]) < adults_born_before]
    decoys = int(count * decoy_share)
    chosen = rng.choices(eligible, k=count - decoys) if eligible else []
    records = [factory.record(residents[i], i) for i in chosen]
    strangers: list[DemoResident] = []
    asked = decoys * 2 + 10
    while len(strangers) < decoys:
        people = population(asked, seed=seed + 7919)
        strangers = [s for s in people if int(s.birth_date[:4]) < adults_born_before][:decoys]
        asked *= 2
    records.extend(factory.record(s, None) for s in strangers)
    rng.shuffle(records)
    return records
