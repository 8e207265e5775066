"""Demo data for the health insurer, created through its real API as an insurer clerk.

Each demo resident is enrolled in the scheme their age and a coin toss give them (協会けんぽ,
国民健康保険, or 後期高齢者医療 from 75), with an insurer number in the prefecture they live
in, then gets a year and a bit of clinic visits, some vaccinations, care flags for a few of the
elderly and disabled, and a vaccination-due notice for the over-65s. Everything is synthetic.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from functools import partial
from typing import TYPE_CHECKING

import grpc
import structlog
from mynumber.healthinsurance.v1 import health_insurance_pb2 as pb
from mynumber.healthinsurance.v1.health_insurance_pb2_grpc import HealthInsuranceStub
from mynumber.registry.v1 import registry_pb2

from mynumber_core.calendar import age_on, birthday
from mynumber_core.insurer_number import with_check_digit
from mynumber_dev.demo import seed_each

if TYPE_CHECKING:
    from mynumber_dev.demo import DemoResident

log = structlog.get_logger("mynumber.seed.health")

PREFECTURES = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
]
_SEX = {"male": registry_pb2.SEX_MALE, "female": registry_pb2.SEX_FEMALE}
_CLINICS = [
    ("さくら内科クリニック", pb.EXPENSE_CATEGORY_OUTPATIENT, 1_200, 7_800),
    ("みどり小児科医院", pb.EXPENSE_CATEGORY_OUTPATIENT, 600, 3_500),
    ("あおば整形外科", pb.EXPENSE_CATEGORY_OUTPATIENT, 1_500, 9_600),
    ("ひかり歯科医院", pb.EXPENSE_CATEGORY_DENTAL, 1_800, 6_400),
    ("中央調剤薬局", pb.EXPENSE_CATEGORY_PHARMACY, 400, 5_200),
    ("市立総合病院", pb.EXPENSE_CATEGORY_INPATIENT, 28_000, 160_000),
    ("訪問看護ステーションえがお", pb.EXPENSE_CATEGORY_HOME_NURSING, 2_000, 12_000),
]


def _prefecture_code(address: str) -> int:
    for index, name in enumerate(PREFECTURES, start=1):
        if address.startswith(name):
            return index
    return 13  # Tokyo when the address names no prefecture


_NAMESPACE = uuid.UUID("0b7c4d52-9a1e-4f0e-8f2d-6c3b1e9a5d47")


def _key(r: DemoResident, *parts: object) -> str:
    """An idempotency key derived from the resident and the record, so seeding again (an
    interrupted ``make run`` started again) replays each call instead of failing it."""
    return uuid.uuid5(_NAMESPACE, "|".join([r.name, r.birth_date, *map(str, parts)])).hex


def _enrol_request(r: DemoResident, rng: random.Random, today: dt.date) -> pb.EnrolRequest:
    birth = dt.date.fromisoformat(r.birth_date)
    pref = f"{_prefecture_code(r.address):02d}"
    age = age_on(birth, today)
    income = pb.INCOME_CATEGORY_GENERAL
    if age >= 75:
        plan = pb.PLAN_TYPE_LATE_ELDERLY
        insurer = with_check_digit(f"39{pref}101")
        symbol, valid_from = "後期", birthday(birth, 75)  # 後期高齢者医療 starts on the day
        if rng.random() < 0.1:
            income = pb.INCOME_CATEGORY_ACTIVE_EQUIVALENT
        elif rng.random() < 0.2:
            income = pb.INCOME_CATEGORY_CERTAIN_INCOME
    elif age < 18 or age >= 65 or rng.random() < 0.35:
        plan = pb.PLAN_TYPE_NATIONAL_HEALTH_INSURANCE
        insurer = with_check_digit(f"{pref}{rng.randint(100, 399):03d}")
        symbol = f"{rng.randint(1, 99):02d}"
        valid_from = max(birth, dt.date(today.year - rng.randint(1, 12), 4, 1))
    else:
        plan = pb.PLAN_TYPE_KYOKAI_KENPO
        insurer = with_check_digit(f"01{pref}001")
        symbol = str(rng.randint(1000, 99_999_999))
        valid_from = max(birth, dt.date(today.year - rng.randint(0, 15), rng.randint(1, 12), 1))
        valid_from = min(valid_from, today)
    if 70 <= age < 75 and rng.random() < 0.15:
        income = pb.INCOME_CATEGORY_ACTIVE_EQUIVALENT
    # A stable, synthetic insured number derived from the resident's demo name and birth date.
    digest = hashlib.sha256(f"{r.name}|{r.birth_date}|{insurer}".encode()).hexdigest()
    number = str(int(digest[:12], 16) % 10_000_000).zfill(7)
    branch = "01" if age < 18 else "00"
    return pb.EnrolRequest(
        my_number=r.my_number,
        facts=registry_pb2.BasicFacts(
            name=r.name, birth_date=r.birth_date, sex=_SEX[r.sex], address=r.address
        ),
        insurer_number=insurer,
        plan=plan,
        insured=pb.InsuredNumber(symbol=symbol, number=number, branch=branch),
        valid_from=valid_from.isoformat(),
        income_category=income,
        idempotency_key=_key(r, "enrol"),
    )


def _seed_one(
    stub: HealthInsuranceStub, r: DemoResident, rng: random.Random, today: dt.date
) -> None:
    request = _enrol_request(r, rng, today)
    token = stub.Enrol(request).token
    r.tokens["health"] = token
    birth = dt.date.fromisoformat(r.birth_date)
    age = age_on(birth, today)
    covered_from = dt.date.fromisoformat(request.valid_from)

    start = max(covered_from, dt.date(today.year - 1, 1, 1))
    span = (today - start).days
    visits = rng.randint(2, 8) + (4 if age >= 65 else 0)
    for visit in range(visits if span > 0 else 0):
        day = start + dt.timedelta(days=rng.randint(0, span))
        name, category, low, high = rng.choice(_CLINICS[:5] if rng.random() < 0.95 else _CLINICS)
        if category == pb.EXPENSE_CATEGORY_HOME_NURSING and age < 65:
            continue
        stub.RecordMedicalExpense(
            pb.RecordMedicalExpenseRequest(
                token=token,
                date=day.isoformat(),
                provider=name,
                amount_yen=rng.randint(low // 10, high // 10) * 10,
                category=category,
                idempotency_key=_key(r, "expense", visit),
            )
        )

    def vaccinate(vaccine: str, dose: int, day: dt.date) -> None:
        if birth <= day <= today:
            stub.RecordVaccination(
                pb.RecordVaccinationRequest(
                    token=token,
                    vaccine=vaccine,
                    dose=dose,
                    date=day.isoformat(),
                    idempotency_key=_key(r, "vaccination", vaccine, dose),
                )
            )

    vaccinate("measles_rubella", 1, birth + dt.timedelta(days=380))
    if age >= 6:
        vaccinate("measles_rubella", 2, dt.date(birth.year + 6, 6, 10))
    if age >= 65 or age < 13 or rng.random() < 0.4:
        vaccinate("influenza", 1, dt.date(today.year - 1, 11, rng.randint(1, 28)))
    if age >= 65:
        vaccinate("pneumococcal", 1, birth + dt.timedelta(days=65 * 365 + 40))
        vaccinate("covid19", 1, dt.date(today.year - 1, 10, rng.randint(1, 28)))

    grade = rng.choice([1, 2, 3, 4]) if rng.random() < (0.15 if age >= 65 else 0.03) else 0
    chronic: list[pb.ChronicCare] = []
    if age >= 60 and rng.random() < 0.08:
        chronic.append(pb.CHRONIC_CARE_DIALYSIS)
    if age >= 70 and rng.random() < 0.08:
        chronic.append(pb.CHRONIC_CARE_OXYGEN_THERAPY)
    if age >= 40 and rng.random() < 0.05:
        chronic.append(pb.CHRONIC_CARE_INSULIN)
    if grade or chronic:
        stub.SetCareFlags(
            pb.SetCareFlagsRequest(
                token=token,
                disability_grade=grade,
                chronic_care=chronic,
                needs_evacuation_assistance=grade in (1, 2) or bool(chronic) or age >= 85,
            )
        )
    if age >= 65:
        stub.NotifyVaccinationDue(
            pb.NotifyVaccinationDueRequest(
                token=token,
                vaccine="influenza",
                due_by=dt.date(today.year + (today.month >= 12), 12, 31).isoformat(),
                idempotency_key=_key(r, "vaccination_due", today.year),
            )
        )


def seed(channel: grpc.Channel, residents: list[DemoResident]) -> None:
    """Enrol every demo resident with a number and give them realistic insurer records."""
    seed_each(
        residents,
        partial(_seed_one, HealthInsuranceStub(channel)),
        rng_seed=2026,
        log=log,
        skipped="health demo seeding failed for one resident",
    )
