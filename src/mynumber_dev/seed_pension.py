"""Demo data for the pension service: enrolments and contribution history for ``make run``.

Every adult demo resident is enrolled as a counter clerk would (number + four facts):
residents of pension age get ten years of paid contributions (so a benefit claim succeeds),
younger category 1 insured get the last fiscal years paid with the current year's recent
months left open (they show as amounts due on the portal), and some are employees
(category 2) who pay through their employer.
"""

from __future__ import annotations

import datetime as dt
import random
from functools import partial
from typing import TYPE_CHECKING

import grpc
import structlog
from mynumber.pension.v1 import pension_pb2 as pb
from mynumber.pension.v1 import pension_pb2_grpc as pb_grpc

from mynumber_core.calendar import age_on, fiscal_year_of
from mynumber_core.pension_rates import MONTHLY_CONTRIBUTION
from mynumber_dev.demo import form_identity, seed_each

if TYPE_CHECKING:
    from mynumber_dev.demo import DemoResident

log = structlog.get_logger("mynumber.seed.pension")


def _pay(stub: pb_grpc.PensionStub, number: str, fiscal_year: int, months: int, key: str) -> None:
    rate = MONTHLY_CONTRIBUTION[fiscal_year]
    stub.RecordContribution(
        pb.RecordContributionRequest(
            basic_pension_number=number,
            fiscal_year=fiscal_year,
            months_paid=months,
            amount_yen=months * rate,
            receipt_id=key,
        )
    )


def _seed_one(
    stub: pb_grpc.PensionStub, r: DemoResident, rng: random.Random, today: dt.date
) -> None:
    birth = dt.date.fromisoformat(r.birth_date)
    age = age_on(birth, today)
    if age < 20:
        return  # not yet insured
    employee = 20 <= age < 60 and rng.random() < 0.4
    try:
        twentieth = birth.replace(year=birth.year + 20)
    except ValueError:  # born on 29 February
        twentieth = dt.date(birth.year + 20, 3, 1)
    enrolled_on = max(twentieth, dt.date(2010, 4, 1))
    response = stub.Enrol(
        pb.EnrolRequest(
            identity=pb.FormIdentity(**form_identity(r)),
            category=pb.INSURED_CATEGORY_2 if employee else pb.INSURED_CATEGORY_1,
            enrolled_on=enrolled_on.isoformat(),
        )
    )
    if employee or response.already_enrolled:
        return
    number = response.basic_pension_number
    first = fiscal_year_of(enrolled_on)
    current = fiscal_year_of(today)
    if age >= 65:
        years = range(first, min(first + 10, current))
    else:
        years = range(max(first, current - 3), current)
    serial = number.replace("-", "")
    for fy in years:
        start = enrolled_on if fy == first else dt.date(fy, 4, 1)
        months = 12 - ((start.month - 4) % 12)
        _pay(stub, number, fy, months, f"SEED-{serial}-{fy}")
    if age < 65 and today.month != 4:
        # The current year: paid up to a few months ago, the rest still due.
        elapsed = (today.month - 4) % 12
        paid = max(0, elapsed - rng.randint(1, 3))
        if paid and enrolled_on <= dt.date(current, 4, 1):
            _pay(stub, number, current, paid, f"SEED-{serial}-{current}")


def seed(channel: grpc.Channel, residents: list[DemoResident]) -> None:
    """Enrol the adult demo residents and record their contributions (operator channel)."""
    seed_each(
        residents,
        partial(_seed_one, pb_grpc.PensionStub(channel)),
        rng_seed=2025,
        log=log,
        skipped="pension seed skipped a resident",
    )
