"""Demo data for the municipality: register every demo resident through the real API.

Registration issues each resident's My Number (set on the :class:`DemoResident` for the
demo file, as the notification card would carry it). Members of one demo household join the
first member's household with a plausible 続柄; foreign residents get a synthetic residence
card; about one in six residents aged 65 or over gets a long-term care certification; and a
disaster is declared over the first household's prefecture so a clerk can compile its support
list once the other agencies are seeded. Idempotency keys are derived from each resident's
facts, so seeding twice registers nobody twice.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import string
import uuid
from typing import TYPE_CHECKING

import grpc
from mynumber.municipality.v1 import municipality_pb2 as pb
from mynumber.municipality.v1.municipality_pb2_grpc import MunicipalityStub

from mynumber_core.calendar import today_jst

if TYPE_CHECKING:
    from mynumber_dev.demo import DemoResident

_NAMESPACE = uuid.UUID("6f1c2a9e-5d0b-4c51-9a52-0d7f3e1b8a11")
_SEX = {"male": pb.SEX_MALE, "female": pb.SEX_FEMALE}
_PERMANENT = {"永住者", "特別永住者"}


def _key(*parts: str) -> str:
    return uuid.uuid5(_NAMESPACE, "|".join(parts)).hex


def _relationship(head: DemoResident, member: DemoResident, index: int) -> str:
    """Second adult: spouse when the sexes differ; younger members: children."""
    if index == 1 and member.birth_date[:4] <= str(int(head.birth_date[:4]) + 15):
        if head.sex == "male" and member.sex == "female":
            return "妻"
        if head.sex == "female" and member.sex == "male":
            return "夫"
        return "同居人"
    born_after = int(member.birth_date[:4]) - int(head.birth_date[:4])
    return "子" if born_after >= 16 else "同居人"


def _facts(r: DemoResident, rng: random.Random, today: dt.date) -> pb.ResidentFacts:
    facts = pb.ResidentFacts(
        name=r.name,
        name_kana=r.name_kana,
        birth_date=r.birth_date,
        sex=_SEX[r.sex],
        address=r.address,
        resident_type=pb.RESIDENT_TYPE_FOREIGN if r.foreign else pb.RESIDENT_TYPE_CITIZEN,
    )
    if r.foreign:
        status = r.residence_status or "定住者"
        card = (
            "".join(rng.choices(string.ascii_uppercase, k=2))
            + "".join(rng.choices(string.digits, k=8))
            + "".join(rng.choices(string.ascii_uppercase, k=2))
        )
        until = ""
        if status not in _PERMANENT:
            until = (today + dt.timedelta(days=rng.randint(180, 1095))).isoformat()
        facts.foreign.CopyFrom(
            pb.ForeignResidentDetails(
                nationality=r.nationality or "不明",
                residence_status=status,
                residence_card_number=card,
                period_of_stay_until=until,
            )
        )
    return facts


def _age(birth_date: str, today: dt.date) -> int:
    born = dt.date.fromisoformat(birth_date)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def seed(channel: grpc.Channel, residents: list[DemoResident]) -> None:
    """Register the residents (setting ``my_number``), add care certifications, a disaster."""
    api = MunicipalityStub(channel)
    rng = random.Random(2026)
    today = today_jst()
    heads: dict[int, tuple[DemoResident, str, int]] = {}  # demo household → head, id, count
    first_address = ""
    for r in residents:
        key = _key("register", r.name, r.birth_date, r.address)
        group = heads.get(r.household) if r.household else None
        if group is None:
            response = api.RegisterResident(
                pb.RegisterResidentRequest(resident=_facts(r, rng, today), idempotency_key=key)
            )
            if r.household:
                heads[r.household] = (r, response.household_id, 1)
        else:
            head, household_id, size = group
            response = api.RegisterResident(
                pb.RegisterResidentRequest(
                    resident=_facts(r, rng, today),
                    household_id=household_id,
                    relationship=_relationship(head, r, size),
                    idempotency_key=key,
                )
            )
            heads[r.household] = (head, household_id, size + 1)
        r.my_number = response.my_number
        first_address = first_address or r.address
        if _age(r.birth_date, today) >= 65 and rng.random() < 1 / 6:
            level = rng.choice(
                [
                    pb.CARE_LEVEL_SUPPORT_1,
                    pb.CARE_LEVEL_SUPPORT_2,
                    pb.CARE_LEVEL_CARE_1,
                    pb.CARE_LEVEL_CARE_2,
                    pb.CARE_LEVEL_CARE_3,
                    pb.CARE_LEVEL_CARE_4,
                    pb.CARE_LEVEL_CARE_5,
                ]
            )
            certified = today - dt.timedelta(days=rng.randint(1, 200))
            api.CertifyLongTermCare(
                pb.CertifyLongTermCareRequest(
                    address_number=response.address_number,
                    level=level,
                    certified_on=certified.isoformat(),
                    valid_from=certified.isoformat(),
                    valid_until=(certified + dt.timedelta(days=364)).isoformat(),
                    idempotency_key=_key("care", key),
                )
            )
    if first_address:
        area = _prefecture_of(first_address)
        api.DeclareDisaster(
            pb.DeclareDisasterRequest(
                name=f"令和{today.year - 2018}年台風第10号による災害",
                area=area,
                declared_on=today.isoformat(),
                assumed_damage=pb.DAMAGE_LEVEL_LARGE_SCALE_HALF,
                idempotency_key=_key("disaster", area, today.isoformat()),
            )
        )


def _prefecture_of(address: str) -> str:
    """The prefecture an address starts with."""
    match = re.match(r"(北海道|東京都|京都府|大阪府|.{2,3}?県)", address)
    return match.group(1) if match else address[:3]
