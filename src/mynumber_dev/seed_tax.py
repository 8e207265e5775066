"""Demo data for the tax service: taxpayers and two years of income for ``make run``.

Every adult demo resident is registered; each gets the last two years' income (salaried with
withholding, self-employed, or a low income that qualifies for a pension exemption), the last
year is assessed, and salaried residents receive their withholding slip in the portal inbox.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING

import grpc
import structlog
from mynumber.tax.v1 import tax_pb2 as pb
from mynumber.tax.v1 import tax_pb2_grpc as pb_grpc

if TYPE_CHECKING:
    from mynumber_dev.demo import DemoResident

log = structlog.get_logger("mynumber.seed.tax")


def _age(birth: str, today: dt.date) -> int:
    born = dt.date.fromisoformat(birth)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _seed_one(stub: pb_grpc.TaxStub, r: DemoResident, rng: random.Random, today: dt.date) -> None:
    if _age(r.birth_date, today) < 18:
        return
    ref = stub.RegisterTaxpayer(
        pb.RegisterTaxpayerRequest(
            identity=pb.FormIdentity(
                my_number=r.my_number,
                name=r.name,
                birth_date=r.birth_date,
                sex=r.sex,
                address=r.address,
            )
        )
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
    stub = pb_grpc.TaxStub(channel)
    rng = random.Random(2026)
    today = dt.date.today()
    for r in residents:
        if not r.my_number:
            continue
        try:
            _seed_one(stub, r, rng, today)
        except grpc.RpcError as exc:  # keep seeding the others; no personal data in the log
            log.warning("tax seed skipped a resident", code=exc.code().name)
