"""Synthetic demo residents for ``make run`` (Faker's ``ja_JP`` locale; nobody real).

Citizens get kanji names with matching katakana readings; foreign residents get names in
their own script's romanisation with a katakana reading, a nationality and a residence status.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import grpc
from faker import Faker

from mynumber_core.calendar import today_jst

_FOREIGN = [
    ("ベトナム", "vi_VN", "技能実習"),
    ("中国", "zh_CN", "永住者"),
    ("フィリピン", "en_PH", "定住者"),
    ("ブラジル", "pt_BR", "日本人の配偶者等"),
    ("アメリカ合衆国", "en_US", "技術・人文知識・国際業務"),
    ("ネパール", "en_US", "留学"),
]


@dataclass
class DemoResident:
    """One synthetic resident as a new user needs them to try the CLI and the portal."""

    name: str
    name_kana: str
    birth_date: str
    sex: str
    address: str
    foreign: bool = False
    nationality: str | None = None
    residence_status: str | None = None
    my_number: str = ""
    household: int = 0
    card_file: str | None = None
    card_pin: str | None = None
    tokens: dict[str, str] = field(default_factory=dict)


def _address(fake: Faker, rng: random.Random) -> str:
    return (
        f"{fake.prefecture()}{fake.city()}{fake.town()}"
        f"{rng.randint(1, 9)}丁目{rng.randint(1, 30)}番{rng.randint(1, 20)}号"
    )


def generate_residents(count: int, *, seed: int = 2026) -> list[DemoResident]:
    """``count`` residents in households of one to four people, about 8 % foreign."""
    fake = Faker("ja_JP")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    today = dt.date(2026, 4, 1)
    residents: list[DemoResident] = []
    household = 0
    while len(residents) < count:
        household += 1
        address = _address(fake, rng)
        last, last_kana, _ = fake.last_name_pair()
        size = min(rng.choice([1, 1, 2, 2, 3, 4]), count - len(residents))
        for member in range(size):
            sex = rng.choice(["male", "female"])
            age = rng.randint(25, 80) if member < 2 else rng.randint(0, 22)
            birth = today - dt.timedelta(days=age * 365 + rng.randint(0, 364))
            if rng.random() < 0.08 and member == 0:
                nationality, locale, status = rng.choice(_FOREIGN)
                foreign_fake = Faker(locale)
                foreign_fake.seed_instance(rng.randint(0, 10**9))
                name = (
                    foreign_fake.name_male() if sex == "male" else foreign_fake.name_female()
                ).upper()
                kana = fake.kana_name_male() if sex == "male" else fake.kana_name_female()
                residents.append(
                    DemoResident(
                        name,
                        kana,
                        birth.isoformat(),
                        sex,
                        address,
                        True,
                        nationality,
                        status,
                        household=household,
                    )
                )
                continue
            first, first_kana, _ = (
                fake.first_name_male_pair() if sex == "male" else fake.first_name_female_pair()
            )
            residents.append(
                DemoResident(
                    f"{last} {first}",
                    f"{last_kana} {first_kana}",
                    birth.isoformat(),
                    sex,
                    address,
                    household=household,
                )
            )
    return residents


def save(residents: list[DemoResident], path: Path) -> None:
    """Write the demo residents (numbers, names, card files and PINs) for a new user."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps([asdict(r) for r in residents], ensure_ascii=False, indent=1), encoding="utf-8"
    )
    path.chmod(0o600)


def load(path: Path) -> list[DemoResident]:
    """Read residents written by :func:`save`."""
    return [DemoResident(**raw) for raw in json.loads(path.read_text(encoding="utf-8"))]


def form_identity(r: DemoResident) -> dict[str, str]:
    """The fields of an agency's ``FormIdentity`` request message for a seeded resident (the
    number and the four facts as written on the form)."""
    return {
        "my_number": r.my_number,
        "name": r.name,
        "birth_date": r.birth_date,
        "sex": r.sex,
        "address": r.address,
    }


def seed_each(
    residents: Iterable[DemoResident],
    seed_one: Callable[[DemoResident, random.Random, dt.date], None],
    *,
    rng_seed: int,
    log: Any,
    skipped: str,
) -> None:
    """Give every resident with a number an agency's demo records: ``seed_one(resident, rng,
    today)`` with one seeded ``rng`` for all. A refused call skips that resident (logged as
    ``skipped`` with its status code, no personal data) and seeding goes on."""
    rng = random.Random(rng_seed)
    today = today_jst()
    for r in residents:
        if not r.my_number:
            continue
        try:
            seed_one(r, rng, today)
        except grpc.RpcError as exc:
            log.warning(skipped, code=exc.code().name, detail=exc.details())
