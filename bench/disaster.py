"""The disaster-list bench: compile the support list of one declared area of N residents.

Seeding (timed per phase, reported apart from the figure):

1. the registry's ``BulkRegister`` issues N numbers (as the municipality, 1,000 per call);
2. the municipality enrols each resident with ``EnrolResident`` (転入 with the number; the
   municipality has no bulk path, so these are concurrent calls);
3. the insurer enrols each with ``Enrol`` (concurrent calls; no bulk path), and one in ten
   gets care flags;
4. the tax office registers each and records last year's income (concurrent calls; no bulk
   path).

Then the figure: one ``CompileSupportList`` over the area — 2 × N lookups through the
registry's ``BatchQuery`` (care flags under ``disaster.support_list``, income under
``disaster.victim_support``), each authorised, translated, provided and logged — beside the
same number of calls through the bare two-hop mTLS echo chain (client → A → B), made one at a
time as the registry's batch makes its provider calls, measured in the same run.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mynumber.healthinsurance.v1 import health_insurance_pb2 as hpb
from mynumber.healthinsurance.v1 import health_insurance_pb2_grpc as hpb_grpc
from mynumber.municipality.v1 import municipality_pb2 as mpb
from mynumber.municipality.v1 import municipality_pb2_grpc as mpb_grpc
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from mynumber.tax.v1 import tax_pb2 as tpb
from mynumber.tax.v1 import tax_pb2_grpc as tpb_grpc

from bench.echo import echo_callable
from bench.sections import BenchPlatform
from bench.table import Row
from mynumber_dev.demo import DemoResident, generate_residents
from services.health.domain import age_on, late_elderly_start, make_insurer_number

AREA = "宮城県石巻市"
TOWNS = ["中央", "立町", "穀町", "門脇町", "湊町", "渡波", "蛇田", "大街道東", "鹿妻南", "住吉町"]
INSURER = make_insurer_number("04201")  # a 国民健康保険 insurer in Miyagi (synthetic)
LATE_ELDERLY_INSURER = make_insurer_number("3904101")  # 後期高齢者医療広域連合 (synthetic)
BULK = 1_000
_SEX = {"male": pb.SEX_MALE, "female": pb.SEX_FEMALE}
_MSEX = {"male": mpb.SEX_MALE, "female": mpb.SEX_FEMALE}


def _addresses(n: int, rng: random.Random) -> list[str]:
    return [
        f"{AREA}{rng.choice(TOWNS)}{rng.randint(1, 6)}丁目{rng.randint(1, 30)}番{i % 97 + 1}号"
        for i in range(n)
    ]


def _concurrently(label: str, fn: Callable[[int], Any], n: int, workers: int) -> float:
    """Run ``fn(i)`` for i < n on ``workers`` threads; returns seconds (errors propagate)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(fn, range(n)):
            pass
    seconds = time.perf_counter() - started
    print(f"  {label}: {n:,} in {seconds:,.1f} s ({n / seconds:,.0f}/s)", flush=True)
    return seconds


def _seed(bp: BenchPlatform, people: list[DemoResident], workers: int) -> dict[str, float]:
    """Enrol ``people`` in the area at the registry, municipality, insurer and tax office."""
    rng = random.Random(11)
    for person, address in zip(people, _addresses(len(people), rng), strict=True):
        person.address = address
    times: dict[str, float] = {}
    registry = pb_grpc.RegistryStub(bp.channels("municipality").channel("registry"))
    started = time.perf_counter()
    for start in range(0, len(people), BULK):
        chunk = people[start : start + BULK]
        answer = registry.BulkRegister(
            pb.BulkRegisterRequest(
                residents=[
                    pb.RegisterResidentRequest(
                        facts=pb.BasicFacts(
                            name=r.name,
                            birth_date=r.birth_date,
                            sex=_SEX[r.sex],
                            address=r.address,
                        ),
                        idempotency_key=uuid.uuid4().hex,
                    )
                    for r in chunk
                ]
            ),
            timeout=300,
        )
        for r, issued in zip(chunk, answer.residents, strict=True):
            r.my_number = issued.my_number
    times["registry BulkRegister"] = time.perf_counter() - started
    print(f"  registry BulkRegister: {len(people):,} in {times['registry BulkRegister']:.1f} s")

    operator = bp.channels("operator")
    municipality = mpb_grpc.MunicipalityStub(operator.channel("municipality"))
    health = hpb_grpc.HealthInsuranceStub(operator.channel("health"))
    tax = tpb_grpc.TaxStub(operator.channel("tax"))

    def enrol_municipality(i: int) -> None:
        r = people[i]
        municipality.EnrolResident(
            mpb.EnrolResidentRequest(
                my_number=r.my_number,
                resident=mpb.ResidentFacts(
                    name=r.name,
                    name_kana=r.name_kana,
                    birth_date=r.birth_date,
                    sex=_MSEX[r.sex],
                    address=r.address,
                    resident_type=mpb.RESIDENT_TYPE_CITIZEN,
                ),
                idempotency_key=uuid.uuid4().hex,
            ),
            timeout=120,
        )

    today = dt.date.today()

    def enrol_health(i: int) -> None:
        r = people[i]
        birth = dt.date.fromisoformat(r.birth_date)
        elderly = age_on(birth, today) >= 75
        token = health.Enrol(
            hpb.EnrolRequest(
                my_number=r.my_number,
                facts=pb.BasicFacts(
                    name=r.name, birth_date=r.birth_date, sex=_SEX[r.sex], address=r.address
                ),
                insurer_number=LATE_ELDERLY_INSURER if elderly else INSURER,
                plan=(
                    hpb.PLAN_TYPE_LATE_ELDERLY
                    if elderly
                    else hpb.PLAN_TYPE_NATIONAL_HEALTH_INSURANCE
                ),
                insured=hpb.InsuredNumber(symbol="41", number=f"{i + 1:07d}", branch="00"),
                valid_from=(
                    late_elderly_start(birth) if elderly else max(birth, dt.date(2020, 4, 1))
                ).isoformat(),
                income_category=hpb.INCOME_CATEGORY_GENERAL,
                idempotency_key=uuid.uuid4().hex,
            ),
            timeout=120,
        ).token
        if i % 10 == 0:
            health.SetCareFlags(
                hpb.SetCareFlagsRequest(
                    token=token,
                    disability_grade=2,
                    needs_evacuation_assistance=True,
                ),
                timeout=120,
            )

    year = today.year - 1

    def enrol_tax(i: int) -> None:
        r = people[i]
        ref = tax.RegisterTaxpayer(
            tpb.RegisterTaxpayerRequest(
                identity=tpb.FormIdentity(
                    my_number=r.my_number,
                    name=r.name,
                    birth_date=r.birth_date,
                    sex=r.sex,
                    address=r.address,
                )
            ),
            timeout=120,
        ).reference_number
        tax.RecordIncome(
            tpb.RecordIncomeRequest(
                reference_number=ref,
                year=year,
                business_income_yen=1_000_000 + (i * 7_919) % 7_000_000,
            ),
            timeout=120,
        )

    n = len(people)
    # One agency at a time: run together they contend for the registry's single SQLite
    # writer (Link) and its 5-second deadline, and finish later in total.
    for label, fn in (
        ("municipality EnrolResident", enrol_municipality),
        ("insurer Enrol (+ care flags for 1 in 10)", enrol_health),
        ("tax RegisterTaxpayer + RecordIncome", enrol_tax),
    ):
        times[label] = _concurrently(label, fn, n, workers)
    return times


def disaster_list(var: Path, residents: int = 10_000, *, workers: int = 32) -> list[Row]:
    """Seed ``residents`` in one area, then time ``CompileSupportList`` beside the chain."""
    with BenchPlatform(var, 0) as bp:
        print(f"disaster bench: seeding {residents:,} residents in {AREA} …", flush=True)
        people = generate_residents(residents, seed=4242)
        seeding = _seed(bp, people, workers)
        municipality = mpb_grpc.MunicipalityStub(bp.channels("operator").channel("municipality"))
        disaster = municipality.DeclareDisaster(
            mpb.DeclareDisasterRequest(
                name="令和8年宮城県沖地震 (bench)",
                area=AREA,
                declared_on=dt.date.today().isoformat(),
                assumed_damage=mpb.DAMAGE_LEVEL_TOTAL_COLLAPSE,
                idempotency_key=uuid.uuid4().hex,
            )
        )
        started = time.perf_counter()
        support = municipality.CompileSupportList(
            mpb.CompileSupportListRequest(disaster_id=disaster.disaster_id), timeout=1_800
        )
        project = time.perf_counter() - started
        listed = len(support.residents)
        known = sum(1 for e in support.residents if e.care_flags_known)
        complete = sum(1 for h in support.households if h.income_complete)
        lookups = 2 * listed
        if listed != residents or known != residents or complete != len(support.households):
            raise RuntimeError(
                f"the list is incomplete: {listed} listed, {known} with care flags, "
                f"{complete}/{len(support.households)} households with income"
            )
        chain = echo_callable(bp.channel_to(bp.echo_a, "tax"))
        payload = b"x" * 200
        for _ in range(50):
            chain(payload, timeout=30)
        started = time.perf_counter()
        for _ in range(lookups):
            chain(payload, timeout=30)
        baseline = time.perf_counter() - started
        seeded = sum(seeding.values())
        print(
            f"disaster bench: seeding {seeded:,.1f} s in all "
            f"({', '.join(f'{k} {v:,.1f} s' for k, v in seeding.items())}); "
            f"CompileSupportList {project:,.1f} s for {listed:,} residents "
            f"({lookups:,} logged lookups, {len(support.households):,} households, "
            f"¥{support.total_support_yen:,} support); chain {baseline:,.1f} s",
            flush=True,
        )
    return [
        Row(
            f"disaster support list, {listed:,} residents ({lookups:,} logged lookups)",
            project,
            baseline,
            "s",
            f"{lookups:,} two-hop echo chain calls, 1 in flight",
        ),
        Row(
            "disaster list lookups per second",
            lookups / project,
            lookups / baseline,
            "lookups/s",
            "two-hop echo chain, 1 in flight",
        ),
    ]


def rows(*, quick: bool = False, residents: int = 10_000) -> list[Row]:
    """The section for ``make bench``: ``residents`` in a fresh platform (1,000 when quick)."""
    with tempfile.TemporaryDirectory(prefix="mynumber-bench-disaster-") as tmp:
        return disaster_list(Path(tmp), 1_000 if quick else residents)


if __name__ == "__main__":
    import argparse

    from bench.table import render

    parser = argparse.ArgumentParser(prog="python -m bench.disaster")
    parser.add_argument("--residents", type=int, default=10_000)
    args = parser.parse_args()
    table = rows(residents=args.residents)
    print()
    print(render(table))
