"""The disaster-list bench: compile the support list of one declared area of N residents,
on SQLite and on PostgreSQL.

Seeding (timed per phase, reported apart from the figure), each agency through its bulk path
(one ``Registry.LinkBatch`` per 1,000 records, then one set-based write):

1. the registry's ``BulkRegister`` issues N numbers (as the municipality, 1,000 per call);
2. the municipality enrols them with ``EnrolResidents`` (bulk 転入, 1,000 per call);
3. the insurer enrols them with ``EnrolMembers`` (1,000 per call), and one in ten gets care
   flags (``SetCareFlags``, concurrent calls);
4. the tax office registers them with ``RegisterTaxpayers`` and records last year's income
   for each with ``RecordIncomes`` (1,000 per call each).

Then the figure: one ``CompileSupportList`` over the area — 2 × N lookups through the
registry's ``BatchQuery`` (care flags under ``disaster.support_list``, income under
``disaster.victim_support``), each authorised, translated, provided and logged — beside the
same number of calls through the bare two-hop mTLS echo chain (client → A → B), made one at a
time as the registry's batch makes its provider calls, measured in the same run.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
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
from mynumber_core.calendar import today_jst
from mynumber_dev.demo import DemoResident, generate_residents
from services.health.domain import age_on, late_elderly_start, make_insurer_number

AREA = "宮城県石巻市"
TOWNS = ["中央", "立町", "穀町", "門脇町", "湊町", "渡波", "蛇田", "大街道東", "鹿妻南", "住吉町"]
INSURER = make_insurer_number("04201")  # a 国民健康保険 insurer in Miyagi (synthetic)
LATE_ELDERLY_INSURER = make_insurer_number("3904101")  # 後期高齢者医療広域連合 (synthetic)
BULK = 1_000
BACKENDS = ("sqlite", "postgres")
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
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
    n = len(people)
    today = today_jst()

    def resident(r: DemoResident) -> mpb.ResidentEnrolment:
        return mpb.ResidentEnrolment(
            my_number=r.my_number,
            resident=mpb.ResidentFacts(
                name=r.name,
                name_kana=r.name_kana,
                birth_date=r.birth_date,
                sex=_MSEX[r.sex],
                address=r.address,
                resident_type=mpb.RESIDENT_TYPE_CITIZEN,
            ),
        )

    def member(i: int) -> hpb.EnrolRequest:
        r = people[i]
        birth = dt.date.fromisoformat(r.birth_date)
        elderly = age_on(birth, today) >= 75
        return hpb.EnrolRequest(
            my_number=r.my_number,
            facts=pb.BasicFacts(
                name=r.name, birth_date=r.birth_date, sex=_SEX[r.sex], address=r.address
            ),
            insurer_number=LATE_ELDERLY_INSURER if elderly else INSURER,
            plan=(
                hpb.PLAN_TYPE_LATE_ELDERLY if elderly else hpb.PLAN_TYPE_NATIONAL_HEALTH_INSURANCE
            ),
            insured=hpb.InsuredNumber(symbol="41", number=f"{i + 1:07d}", branch="00"),
            valid_from=(
                late_elderly_start(birth) if elderly else max(birth, dt.date(2020, 4, 1))
            ).isoformat(),
            income_category=hpb.INCOME_CATEGORY_GENERAL,
        )

    def form(r: DemoResident) -> tpb.FormIdentity:
        return tpb.FormIdentity(
            my_number=r.my_number,
            name=r.name,
            birth_date=r.birth_date,
            sex=r.sex,
            address=r.address,
        )

    # One agency at a time: run together they contend for the registry's LinkBatch writes.
    label = "municipality EnrolResidents (bulk, 1,000/call)"
    _in_bulk(
        label,
        n,
        times,
        lambda s, e: (
            municipality.EnrolResidents(
                mpb.EnrolResidentsRequest(records=[resident(r) for r in people[s:e]]), timeout=300
            ).results
        ),
    )
    label = "insurer EnrolMembers (bulk, 1,000/call)"
    tokens = [
        r.token
        for r in _in_bulk(
            label,
            n,
            times,
            lambda s, e: (
                health.EnrolMembers(
                    hpb.EnrolMembersRequest(members=[member(i) for i in range(s, e)]), timeout=300
                ).results
            ),
        )
    ]

    def care_flags(i: int) -> None:
        health.SetCareFlags(
            hpb.SetCareFlagsRequest(
                token=tokens[i * 10], disability_grade=2, needs_evacuation_assistance=True
            ),
            timeout=120,
        )

    times["insurer SetCareFlags (1 in 10)"] = _concurrently(
        "insurer SetCareFlags (1 in 10)", care_flags, len(range(0, n, 10)), workers
    )
    label = "tax RegisterTaxpayers (bulk, 1,000/call)"
    refs = [
        r.reference_number
        for r in _in_bulk(
            label,
            n,
            times,
            lambda s, e: (
                tax.RegisterTaxpayers(
                    tpb.RegisterTaxpayersRequest(identities=[form(r) for r in people[s:e]]),
                    timeout=300,
                ).results
            ),
        )
    ]
    year = today.year - 1
    label = "tax RecordIncomes (bulk, 1,000/call)"
    _in_bulk(
        label,
        n,
        times,
        lambda s, e: (
            tax.RecordIncomes(
                tpb.RecordIncomesRequest(
                    records=[
                        tpb.RecordIncomeRequest(
                            reference_number=refs[i],
                            year=year,
                            business_income_yen=1_000_000 + (i * 7_919) % 7_000_000,
                        )
                        for i in range(s, e)
                    ]
                ),
                timeout=300,
            ).results
        ),
    )
    return times


def _phases(log_file: Path) -> str:
    """The municipality's own split of its last CompileSupportList (its "support list
    compiled" log line): reading the register, the BatchQuery lookups, building the list."""
    found = ""
    if log_file.exists():
        for line in log_file.read_text(encoding="utf-8", errors="replace").splitlines():
            if "support list compiled" in line:
                found = line
    parts = [
        f"{name} {float(m.group(1)) / 1000:,.2f} s"
        for name, key in (("read", "read_ms"), ("lookups", "lookups_ms"), ("build", "build_ms"))
        if (m := re.search(rf'{key}"?[=:] ?([0-9.]+)', found))
    ]
    return ", ".join(parts) if parts else "phases not logged"


def _in_bulk(
    label: str, n: int, times: dict[str, float], call: Callable[[int, int], Sequence[Any]]
) -> list[Any]:
    """``call(start, end)`` for each slice of :data:`BULK`; every record must succeed."""
    started = time.perf_counter()
    results: list[Any] = []
    for start in range(0, n, BULK):
        answer = call(start, min(start + BULK, n))
        failed = [r for r in answer if r.code != 0]
        if failed:
            raise RuntimeError(f"{label}: {len(failed)} failed: {failed[0].message}")
        results.extend(answer)
    times[label] = time.perf_counter() - started
    print(f"  {label}: {n:,} in {times[label]:,.1f} s ({n / times[label]:,.0f}/s)", flush=True)
    return results


def disaster_list(
    var: Path,
    residents: int = 10_000,
    *,
    workers: int = 32,
    postgres: str | None = None,
) -> list[Row]:
    """Seed ``residents`` in one area, then time ``CompileSupportList`` beside the chain (on
    SQLite, or on the PostgreSQL server at ``postgres``)."""
    backend = "PostgreSQL" if postgres else "SQLite"
    with BenchPlatform(var, 0, postgres=postgres) as bp:
        print(
            f"disaster bench ({backend}): seeding {residents:,} residents in {AREA} …", flush=True
        )
        people = generate_residents(residents, seed=4242)
        seeding = _seed(bp, people, workers)
        municipality = mpb_grpc.MunicipalityStub(bp.channels("operator").channel("municipality"))
        disaster = municipality.DeclareDisaster(
            mpb.DeclareDisasterRequest(
                name="令和8年宮城県沖地震 (bench)",
                area=AREA,
                declared_on=today_jst().isoformat(),
                assumed_damage=mpb.DAMAGE_LEVEL_TOTAL_COLLAPSE,
                idempotency_key=uuid.uuid4().hex,
            )
        )
        started = time.perf_counter()
        support = municipality.CompileSupportList(
            mpb.CompileSupportListRequest(disaster_id=disaster.disaster_id), timeout=1_800
        )
        project = time.perf_counter() - started
        phases = _phases(bp.var / "log" / "municipality.log")
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
            f"disaster bench ({backend}): seeding {seeded:,.1f} s in all "
            f"({', '.join(f'{k} {v:,.1f} s' for k, v in seeding.items())}); "
            f"CompileSupportList {project:,.1f} s for {listed:,} residents "
            f"({lookups:,} logged lookups, {len(support.households):,} households, "
            f"¥{support.total_support_yen:,} support; {phases}); chain {baseline:,.1f} s",
            flush=True,
        )
    return [
        Row(
            f"disaster support list, {listed:,} residents ({lookups:,} logged lookups, {backend})",
            project,
            baseline,
            "s",
            f"{lookups:,} two-hop echo chain calls, 1 in flight",
        ),
        Row(
            f"disaster list lookups per second ({backend})",
            lookups / project,
            lookups / baseline,
            "lookups/s",
            "two-hop echo chain, 1 in flight",
        ),
    ]


def rows(
    *,
    quick: bool = False,
    residents: int = 10_000,
    workers: int = 32,
    backends: Sequence[str] = BACKENDS,
) -> list[Row]:
    """The section for ``make bench``: ``residents`` in a fresh platform (1,000 when quick) on
    each of ``backends`` (sqlite, postgres)."""
    out: list[Row] = []
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="mynumber-bench-disaster-") as tmp:
            out += disaster_list(
                Path(tmp),
                1_000 if quick else residents,
                workers=workers,
                postgres=PG_SERVER if backend == "postgres" else None,
            )
    return out


if __name__ == "__main__":
    import argparse

    from bench.table import render

    parser = argparse.ArgumentParser(prog="python -m bench.disaster")
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument(
        "--workers",
        type=int,
        default=32,
        help="concurrent seeding calls (fewer on a loaded machine: each Link has 5 s)",
    )
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help="comma-separated: sqlite,postgres"
    )
    args = parser.parse_args()
    table = rows(
        residents=args.residents,
        workers=args.workers,
        backends=[b.strip() for b in args.backends.split(",") if b.strip()],
    )
    print()
    print(render(table))
