"""A second ``make run`` on an existing ``var/`` (issue 11, item 3): the launcher's seeding step
(:func:`mynumber_dev.seed.seed_or_reuse`, what ``python -m mynumber_dev run`` calls once the
services are up) finds the demo residents in the databases and seeds nothing; databases that
lost them are seeded again; and a seeding that was interrupted before it wrote the demo file
runs again without a warning. The services are the real ones (registry, municipality, pension,
tax, health) on loopback, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import structlog
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from sqlalchemy import MetaData, create_engine, func, select

from mynumber_core.card import unlock_card
from mynumber_core.card_pin_client import GrpcPinAuthority
from mynumber_dev.demo import DemoResident, load
from mynumber_dev.seed import backend_copy, seed_or_reuse, seed_platform
from tests.support.databases import PostgresDatabases, SqliteDatabases
from tests.support.stack import Stack

SERVICES = ["registry", "municipality", "pension", "tax", "health"]
RESIDENTS = 6
_SEX = {"male": pb.SEX_MALE, "female": pb.SEX_FEMALE}


def _kind(backend: Any) -> str:
    return "postgres" if isinstance(backend, PostgresDatabases) else "sqlite"


def _rows(database: Callable[[str], str]) -> dict[str, int]:
    """Rows per table of every service (what a second seeding would add to)."""
    counts: dict[str, int] = {}
    for service in SERVICES:
        engine = create_engine(database(service))
        try:
            meta = MetaData()
            meta.reflect(engine)
            with engine.connect() as conn:
                for table in meta.sorted_tables:
                    counts[f"{service}.{table.name}"] = int(
                        conn.execute(select(func.count()).select_from(table)).scalar_one()
                    )
        finally:
            engine.dispose()
    return counts


def _settled_rows(database: Callable[[str], str]) -> dict[str, int]:
    """:func:`_rows` once the first run's tail has landed: the registry signs a checkpoint
    over the seeding's last exchanges (the lost-records reconciliation) up to 500 ms after
    they are appended, and the outbox relays deliver asynchronously."""
    last = _rows(database)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(1.5)
        now = _rows(database)
        if now == last:
            return now
        last = now
    raise AssertionError("the databases kept changing for 20 s after seeding")


def _seed(
    var: Path, stack: Stack, kind: str, **kw: Any
) -> tuple[list[DemoResident], list[str], list[MutableMapping[str, Any]]]:
    """One launcher seeding step: (residents, what it printed, every log event)."""
    said: list[str] = []
    with structlog.testing.capture_logs() as events:
        residents = seed_or_reuse(
            var, stack.endpoints, SERVICES, kind, RESIDENTS, say=said.append, **kw
        )
    return residents, said, events


def _warnings(events: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [e for e in events if e.get("log_level") in ("warning", "error", "critical")]


def _still_there(stack: Stack, residents: list[DemoResident]) -> None:
    """Every demo resident links with the saved number and facts; their cards open."""
    channel = stack.channel("registry", as_identity="municipality")
    registry = pb_grpc.RegistryStub(channel)
    for r in residents:
        registry.Link(
            pb.LinkRequest(
                my_number=r.my_number,
                facts=pb.BasicFacts(
                    name=r.name, birth_date=r.birth_date, sex=_SEX[r.sex], address=r.address
                ),
            )
        )
    authority = GrpcPinAuthority(pb_grpc.CardsStub(channel))
    for r in (residents[0], residents[-1]):
        assert r.card_file and r.card_pin
        card = unlock_card(Path(r.card_file), r.card_pin, authority)
        assert card.certificate_pem


def test_a_second_run_reuses_the_demo_residents_and_seeds_nothing(
    tmp_path: Path, backend: SqliteDatabases | PostgresDatabases
) -> None:
    kind = _kind(backend)
    with Stack(tmp_path, SERVICES, database=backend) as stack:
        first, said, _ = _seed(tmp_path, stack, kind)
        assert said[0] == f"Seeding {RESIDENTS} synthetic residents …"
        assert backend_copy(tmp_path, kind).exists()
        before = _settled_rows(backend)
        assert before["municipality.residents"] == RESIDENTS

        again, said, events = _seed(tmp_path, stack, kind)
        assert said == [f"Reusing the {RESIDENTS} demo residents already in the databases"]
        assert _warnings(events) == []
        assert _rows(backend) == before, "the second run added rows"
        assert [asdict(r) for r in again] == [asdict(r) for r in first]
        assert [asdict(r) for r in load(tmp_path / "demo-residents.json")] == [
            asdict(r) for r in first
        ]
        _still_there(stack, again)


def test_databases_that_lost_the_residents_are_seeded_again(
    tmp_path: Path, backend: SqliteDatabases | PostgresDatabases
) -> None:
    kind = _kind(backend)
    with Stack(tmp_path, SERVICES, database=backend) as stack:
        first, _, _ = _seed(tmp_path, stack, kind)
    # The same var/ (keys, demo file) over empty databases, e.g. var/data removed.
    fresh: SqliteDatabases | PostgresDatabases = (
        PostgresDatabases() if kind == "postgres" else SqliteDatabases(tmp_path / "fresh")
    )
    try:
        with Stack(tmp_path, SERVICES, database=fresh) as stack:
            again, said, _ = _seed(tmp_path, stack, kind)
            assert said[0].startswith("Seeding"), said
            assert {r.my_number for r in again}.isdisjoint({r.my_number for r in first})
            _still_there(stack, again)
    finally:
        fresh.close()


def test_an_interrupted_seeding_runs_again_without_warnings(
    tmp_path: Path, backend: SqliteDatabases | PostgresDatabases
) -> None:
    kind = _kind(backend)
    with Stack(tmp_path, SERVICES, database=backend) as stack:
        seed_platform(tmp_path, stack.endpoints, SERVICES, RESIDENTS, progress=lambda _: None)
        (tmp_path / "demo-residents.json").unlink()  # stopped before the list was written
        before = _rows(backend)
        again, said, events = _seed(tmp_path, stack, kind)
        assert said[0].startswith("Seeding")
        assert _warnings(events) == []
        after = _rows(backend)
        for table in (
            "municipality.residents",
            "pension.enrolments",
            "tax.taxpayers",
            "health.insured",
            "health.medical_expense",
            "health.vaccination",
        ):
            assert after[table] == before[table], table
        _still_there(stack, again)
