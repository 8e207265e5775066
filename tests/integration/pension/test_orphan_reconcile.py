"""Pension's orphan pool reconciled through a real registry (SQLite and PostgreSQL).

Pension keeps what the registry names — its own token, or a notify reference — and nothing
about the candidates: a scan of every pension table (decrypted) and of the answers finds no
candidate's address or birth date, and no fact of any other resident.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from faker import Faker
from mynumber.registry.v1 import registry_pb2 as rpb
from mynumber.registry.v1 import registry_pb2_grpc as rgrpc
from sqlalchemy import select

from mynumber_core.db import Database
from mynumber_core.japanese import format_era, prefecture_of, to_era
from mynumber_core.keyring import FieldCipher, Keyring
from services.pension.models import CIPHER, Base, OrphanCandidate, OrphanRecord
from services.pension.reconcile_port import GrpcReconcilePort
from services.pension.usecases.orphans import OrphanInput, OrphanPool
from tests.support.stack import DatabaseFactory, Stack


@pytest.fixture
def stack(tmp_path: Path, backend: DatabaseFactory) -> Iterator[Stack]:
    with Stack(tmp_path, ["registry"], database=backend) as s:
        yield s


@pytest.fixture
def pension_db(backend: DatabaseFactory) -> Iterator[Database]:
    CIPHER.bind(FieldCipher(Keyring.generate(["data", "blind"])))
    db = Database.from_url(backend("pension"))
    Base.metadata.create_all(db.engine)
    yield db
    db.dispose()


def _facts(fake: Faker, female: bool, year: int) -> rpb.BasicFacts:
    born = fake.date_between(dt.date(year, 1, 1), dt.date(year, 12, 28))
    return rpb.BasicFacts(
        name=fake.name_female() if female else fake.name_male(),
        birth_date=born.isoformat(),
        sex=rpb.SEX_FEMALE if female else rpb.SEX_MALE,
        address=fake.address(),
    )


def _order(record_id: str, facts: rpb.BasicFacts, written: str) -> OrphanInput:
    return OrphanInput(
        record_id,
        "ヤマダ タロウ",
        facts.name,
        written,
        "female" if facts.sex == rpb.SEX_FEMALE else "male",
        prefecture_of(facts.address),
        "株式会社テスト",
        "1985-04",
        "1990-03",
        60,
    )


def test_the_pool_keeps_only_tokens_and_references(stack: Stack, pension_db: Database) -> None:
    fake = Faker("ja_JP")
    fake.seed_instance(1313)
    registry = rgrpc.RegistryStub(stack.channel("registry", as_identity="municipality"))
    people = [_facts(fake, i % 2 == 0, 1940 + i) for i in range(24)]
    numbers = [
        registry.RegisterResident(
            rpb.RegisterResidentRequest(facts=f, idempotency_key=f"k{i}")
        ).my_number
        for i, f in enumerate(people)
    ]
    linked, unlinked = people[20], people[21]
    token = (
        rgrpc.RegistryStub(stack.channel("registry", as_identity="pension"))
        .Link(rpb.LinkRequest(my_number=numbers[20], facts=linked))
        .token
    )
    born = dt.date.fromisoformat(unlinked.birth_date)
    era, year = to_era(born)
    assert era == "昭和"
    pool = OrphanPool(pension_db)
    records = [
        _order("OR-A", linked, format_era(dt.date.fromisoformat(linked.birth_date))),
        _order("OR-B", unlinked, f"平成{year}年{born.month}月{born.day}日"),
        OrphanInput(
            "OR-C",
            "ズンダ モチコ",
            "寿舞 餅子",
            "大正3年1月1日",
            "female",
            None,
            "商店",
            "1930-01",
            "1931-01",
            12,
        ),
    ]
    assert pool.add(records) == 3
    assert pool.add(records[:1]) == 0
    seen: list[tuple[int, int]] = []
    report = pool.reconcile(
        GrpcReconcilePort(stack.channel("registry", as_identity="pension")),
        batch_size=2,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(2, 3), (3, 3)]
    assert report.records == 3 and report.none == 1 and report.several == 0
    assert sum(report.bands.values()) == 2
    assert pool.review_queue() == []

    with pension_db.transaction() as session:
        candidates = {c.record_id: c for c in session.scalars(select(OrphanCandidate))}
        status = {r.record_id: r.status for r in session.scalars(select(OrphanRecord))}
        dump = repr(
            [
                [getattr(row, col.key) for col in table.columns]
                for model in (OrphanRecord, OrphanCandidate)
                for table in [model.__table__]
                for row in session.scalars(select(model))
            ]
        )
    assert set(candidates) == {"OR-A", "OR-B"}
    assert candidates["OR-A"].candidate_ref == token
    assert candidates["OR-B"].candidate_ref.startswith("notify:")
    assert status == {"OR-A": "proposed", "OR-B": "proposed", "OR-C": "pool"}
    # Privacy: no candidate address or true birth date, no other resident's facts.
    assert unlinked.birth_date not in dump and format_era(born) not in dump
    for i, f in enumerate(people):
        assert f.address not in dump
        if i not in (20, 21):
            assert f.name not in dump and f.birth_date not in dump
