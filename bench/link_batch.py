"""An agency's bulk link and bulk enrolment, on SQLite and PostgreSQL (issue 10, item 5).

The registry and the tax office run as processes (as ``make run`` starts them) on a fresh
database of each backend. The municipality registers N residents with ``BulkRegister``
(untimed seeding); then, in the same run, each on residents the agency never linked:

* **Registry.LinkBatch** as the tax office: every resident's number and four facts in
  batches of 5,000 — records linked per second — beside single ``Link`` calls (8 in flight)
  for the same kind of record, as pension, on the same registry;
* **Tax.RegisterTaxpayers**: the tax office's bulk enrolment (one LinkBatch plus one
  set-based insert per call, 5,000 per call) — taxpayers enrolled per second — beside single
  ``RegisterTaxpayer`` calls (8 in flight), the path agencies had before.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from mynumber.tax.v1 import tax_pb2 as tpb
from mynumber.tax.v1 import tax_pb2_grpc as tpb_grpc

from bench import driver
from bench.sections import START_TIMEOUT
from bench.table import Row
from mynumber_core.channels import Channels
from mynumber_core.tls import TlsMaterial
from mynumber_dev.demo import DemoResident, generate_residents
from mynumber_dev.keys import tls_dir
from mynumber_dev.platform import Platform, drop_databases

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
_SEX = {"male": pb.SEX_MALE, "female": pb.SEX_FEMALE}
BATCH = 5_000
REGISTER_BATCH = 2_000


def _facts(r: DemoResident) -> Any:
    return pb.BasicFacts(name=r.name, birth_date=r.birth_date, sex=_SEX[r.sex], address=r.address)


def _form(r: DemoResident) -> Any:
    return tpb.FormIdentity(
        my_number=r.my_number, name=r.name, birth_date=r.birth_date, sex=r.sex, address=r.address
    )


def _stub(var: Path, platform: Platform, identity: str, service: str = "registry") -> Any:
    channels = Channels(
        TlsMaterial(tls_dir(var, identity)), platform.endpoints, default_timeout=600
    )
    channel = channels.channel(service)
    return pb_grpc.RegistryStub(channel) if service == "registry" else tpb_grpc.TaxStub(channel)


def _register(var: Path, platform: Platform, people: list[DemoResident]) -> None:
    """Issue numbers for ``people`` (untimed seeding)."""
    stub = _stub(var, platform, "municipality")
    for start in range(0, len(people), REGISTER_BATCH):
        chunk = people[start : start + REGISTER_BATCH]
        answer = stub.BulkRegister(
            pb.BulkRegisterRequest(
                residents=[
                    pb.RegisterResidentRequest(facts=_facts(r), idempotency_key=uuid.uuid4().hex)
                    for r in chunk
                ]
            ),
            timeout=600,
        )
        for r, issued in zip(chunk, answer.residents, strict=True):
            r.my_number = issued.my_number


def _per_second(n: int, fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return n / (time.perf_counter() - started)


def _backend(label: str, var: Path, postgres: str | None, total: int, singles: int) -> list[Row]:
    prefix = f"bench_{uuid.uuid4().hex[:8]}"
    platform = Platform(
        var=var,
        postgres=postgres,
        services=["registry", "tax"],
        fixed_ports=False,
        db_prefix=prefix,
    )
    platform.start(timeout=START_TIMEOUT)
    try:
        people = generate_residents(2 * total + 2 * singles, seed=int(time.time()))
        for i, r in enumerate(people):  # distinct addresses: every record is its own person
            r.address = f"{r.address}-{i}"
        _register(var, platform, people)
        bulk_people, enrol_bulk = people[:total], people[total : 2 * total]
        link_people = people[2 * total : 2 * total + singles]
        enrol_people = people[2 * total + singles :]

        as_tax = _stub(var, platform, "tax")

        def link_all() -> None:
            for start in range(0, total, BATCH):
                answer = as_tax.LinkBatch(
                    pb.LinkBatchRequest(
                        records=[
                            pb.LinkRequest(my_number=r.my_number, facts=_facts(r))
                            for r in bulk_people[start : start + BATCH]
                        ]
                    ),
                    timeout=600,
                )
                failed = [r for r in answer.results if r.code != 0 or not r.token]
                if failed:
                    raise RuntimeError(f"LinkBatch: {len(failed)} records failed: {failed[0]}")

        bulk_link = _per_second(total, link_all)
        as_pension = _stub(var, platform, "pension")
        single_link = driver.run(
            lambda i: as_pension.Link(
                pb.LinkRequest(my_number=link_people[i].my_number, facts=_facts(link_people[i])),
                timeout=60,
            ),
            total=singles - 20,
            concurrency=8,
        )

        tax = _stub(var, platform, "operator", "tax")

        def enrol_all() -> None:
            for start in range(0, total, BATCH):
                answer = tax.RegisterTaxpayers(
                    tpb.RegisterTaxpayersRequest(
                        identities=[_form(r) for r in enrol_bulk[start : start + BATCH]]
                    ),
                    timeout=600,
                )
                failed = [r for r in answer.results if r.code != 0]
                if failed:
                    raise RuntimeError(f"RegisterTaxpayers: {len(failed)} failed: {failed[0]}")

        bulk_enrol = _per_second(total, enrol_all)
        single_enrol = driver.run(
            lambda i: tax.RegisterTaxpayer(
                tpb.RegisterTaxpayerRequest(identity=_form(enrol_people[i])), timeout=60
            ),
            total=singles - 20,
            concurrency=8,
        )
        print(
            f"link batch ({label}): LinkBatch {bulk_link:,.0f}/s, "
            f"Link {single_link.per_second:,.0f}/s (errors {single_link.errors}); "
            f"RegisterTaxpayers {bulk_enrol:,.0f}/s, "
            f"RegisterTaxpayer {single_enrol.per_second:,.0f}/s (errors {single_enrol.errors})",
            flush=True,
        )
    finally:
        platform.stop()
        if postgres:
            drop_databases(postgres, prefix)
    return [
        Row(
            f"agency bulk link, LinkBatch {BATCH:,}/call, {total:,} records ({label})",
            bulk_link,
            single_link.per_second,
            "records/s",
            f"single Link, 8 in flight, errors {single_link.errors}",
        ),
        Row(
            f"tax bulk enrolment, RegisterTaxpayers {BATCH:,}/call ({label})",
            bulk_enrol,
            single_enrol.per_second,
            "records/s",
            f"single RegisterTaxpayer, 8 in flight, errors {single_enrol.errors}",
        ),
    ]


def rows(total: int = 20_000, singles: int = 1_000) -> list[Row]:
    """The section for ``python -m bench --sections linkbatch``: SQLite, then PostgreSQL."""
    out: list[Row] = []
    for label, postgres in (("SQLite", None), ("PostgreSQL", PG_SERVER)):
        with tempfile.TemporaryDirectory(prefix="mynumber-bench-link-") as tmp:
            out += _backend(label, Path(tmp), postgres, total, singles)
    return out


if __name__ == "__main__":
    import argparse

    from bench.table import render

    parser = argparse.ArgumentParser(prog="python -m bench.link_batch")
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--singles", type=int, default=1_000)
    args = parser.parse_args()
    table = rows(args.records, args.singles)
    print()
    print(render(table))
