"""Demo data for the tax service: taxpayers and two years of income for ``make run``.

Every adult demo resident is registered; each gets the last two years' income (salaried with
withholding, self-employed, or a low income that qualifies for a pension exemption), the last
year is assessed, and salaried residents receive their withholding slip in the portal inbox.
"""

from __future__ import annotations

import datetime as dt
import random
from functools import partial
from typing import TYPE_CHECKING

import grpc
import structlog
from mynumber.tax.v1 import tax_pb2 as pb
from mynumber.tax.v1 import tax_pb2_grpc as pb_grpc

from mynumber_core.calendar import age_on
from mynumber_dev.demo import form_identity, seed_each

if TYPE_CHECKING:
    from mynumber_dev.demo import DemoResident

log = structlog.get_logger("mynumber.seed.tax")


def _seed_one(stub: pb_grpc.TaxStub, r: DemoResident, rng: random.Random, today: dt.date) -> None:
    if age_on(dt.date.fromisoformat(r.birth_date), today) < 18:
        return
    ref = stub.RegisterTaxpayer(
        pb.RegisterTaxpayerRequest(identity=pb.FormIdentity(**form_identity(r)))
    ).reference_number
    kind = rng.choice(["salary", "salary", "business", "low"])
    last = today.year - 1
    for year in (last - 1, last):
        if kind == "salary":
            salary = rng.randrange(2_800_000, 9_000_000, 10_000)
            request = pb.RecordIncomeRequest(
                reference_number=ref,
                year=year,
                salary_income_yen=salary,
                withholding_yen=salary * rng.randint(2, 6) // 100,
                social_insurance_yen=salary * 15 // 100,
            )
        elif kind == "business":
            request = pb.RecordIncomeRequest(
                reference_number=ref,
                year=year,
                business_income_yen=rng.randrange(1_500_000, 8_000_000, 10_000),
                social_insurance_yen=rng.randrange(200_000, 600_000, 1_000),
            )
        else:
            request = pb.RecordIncomeRequest(
                reference_number=ref,
                year=year,
                business_income_yen=rng.randrange(0, 900_000, 10_000),
            )
        stub.RecordIncome(request)
    try:
        stub.AssessYear(pb.AssessYearRequest(reference_number=ref, year=last))
    except grpc.RpcError as exc:  # e.g. the insurer is not running: leave it unassessed
        log.info("tax seed left a year unassessed", code=exc.code().name)
    if kind == "salary":
        stub.IssueWithholdingSlip(pb.IssueWithholdingSlipRequest(reference_number=ref, year=last))


def seed(channel: grpc.Channel, residents: list[DemoResident]) -> None:
    """Register the adult demo residents and record their income (operator channel)."""
    seed_each(
        residents,
        partial(_seed_one, pb_grpc.TaxStub(channel)),
        rng_seed=2026,
        log=log,
        skipped="tax seed skipped a resident",
    )
