"""A retry that races the first call: the same municipality write sent several times at the same
moment with one idempotency key (as clients retrying over several replicas do) takes effect
once, and every caller gets the first call's answer — never INTERNAL, never ALREADY_EXISTS.

Found by the three-replica end-to-end test (tests/e2e/test_replica_agencies.py): two
``RecordMove`` calls with one key on two replicas at once answered OK and INTERNAL (the
loser's insert of the key hit ``operations_pkey``). Here the calls race inside one server's
thread pool, on SQLite and PostgreSQL, each on its own database connection as replicas are.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from mynumber.municipality.v1 import municipality_pb2 as pb
from mynumber.municipality.v1.municipality_pb2_grpc import MunicipalityStub
from sqlalchemy import func, select

from mynumber_core.db import Database
from services.municipality import models
from tests.support.stack import Stack

CALLS = 4
T = TypeVar("T")


def _at_once(call: Callable[[], T]) -> list[T | str]:
    """``call`` from CALLS threads released together; each answer or its status code name."""
    barrier = threading.Barrier(CALLS)
    answers: list[T | str] = ["not run"] * CALLS

    def run(i: int) -> None:
        barrier.wait()
        try:
            answers[i] = call()
        except grpc.RpcError as exc:
            answers[i] = f"{exc.code().name}: {exc.details()}"

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CALLS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


class Env:
    def __init__(self, stack: Stack, db: Database) -> None:
        self.stack = stack
        self.api = MunicipalityStub(stack.channel("municipality", as_identity="operator"))
        self.db = db

    def count(self, model: Any) -> int:
        with self.db.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def env(tmp_path: Path, backend: Callable[[str], str]) -> Iterator[Env]:
    stack = Stack(tmp_path, ["registry", "municipality"], database=backend).start()
    db = Database.from_url(backend("municipality"))
    try:
        yield Env(stack, db)
    finally:
        db.dispose()
        stack.stop()


_GIVEN = {1: ("一郎", "イチロウ"), 2: ("次郎", "ジロウ"), 3: ("三郎", "サブロウ")}


def _facts(n: int, address: str = "宮城県石巻市穀町14番1号") -> pb.ResidentFacts:
    given, kana = _GIVEN[n]
    return pb.ResidentFacts(
        name=f"競合 {given}",
        name_kana=f"キョウゴウ {kana}",
        birth_date=f"1980-05-0{n}",
        sex=pb.SEX_MALE,
        address=address,
        resident_type=pb.RESIDENT_TYPE_CITIZEN,
    )


def test_racing_registrations_register_once(env: Env) -> None:
    request = pb.RegisterResidentRequest(resident=_facts(1), idempotency_key=uuid.uuid4().hex)
    answers = _at_once(lambda: env.api.RegisterResident(request, timeout=30))
    assert [a for a in answers if isinstance(a, str)] == []
    assert len({(a.address_number, a.household_id, a.my_number) for a in answers}) == 1  # type: ignore[union-attr]
    assert env.count(models.Resident) == 1 and env.count(models.Household) == 1


def test_racing_moves_move_once_with_one_event(env: Env) -> None:
    first = env.api.RegisterResident(
        pb.RegisterResidentRequest(resident=_facts(2), idempotency_key=uuid.uuid4().hex)
    )
    events_before = env.count(models.OutboxEvent)
    move = pb.RecordMoveRequest(
        address_number=first.address_number,
        new_address="宮城県石巻市中央2丁目5-3",
        effective_date="2026-04-01",
        idempotency_key=uuid.uuid4().hex,
    )
    answers = _at_once(lambda: env.api.RecordMove(move, timeout=30))
    assert [a for a in answers if isinstance(a, str)] == []
    assert len({tuple(a.event_ids) for a in answers}) == 1  # type: ignore[union-attr]
    assert env.count(models.OutboxEvent) == events_before + 1

    out = pb.RecordMoveOutRequest(
        address_number=first.address_number,
        destination_address="東京都千代田区霞が関1丁目2番3号",
        effective_date="2026-04-02",
        idempotency_key=uuid.uuid4().hex,
    )
    answers_out = _at_once(lambda: env.api.RecordMoveOut(out, timeout=30))
    assert [a for a in answers_out if isinstance(a, str)] == []
    assert len({a.event_id for a in answers_out}) == 1  # type: ignore[union-attr]
    assert env.count(models.OutboxEvent) == events_before + 2


def test_racing_death_records_are_recorded_once(env: Env) -> None:
    first = env.api.RegisterResident(
        pb.RegisterResidentRequest(resident=_facts(3), idempotency_key=uuid.uuid4().hex)
    )
    operations = env.count(models.Operation)
    death = pb.RecordDeathRequest(
        address_number=first.address_number,
        date_of_death="2026-04-01",
        idempotency_key=uuid.uuid4().hex,
    )
    answers = _at_once(lambda: env.api.RecordDeath(death, timeout=30))
    assert [a for a in answers if isinstance(a, str)] == []
    assert env.count(models.Operation) == operations + 1


def test_racing_care_certifications_and_disaster_declarations_take_effect_once(
    env: Env,
) -> None:
    elder = env.api.RegisterResident(
        pb.RegisterResidentRequest(
            resident=pb.ResidentFacts(
                name="競合 四郎",
                name_kana="キョウゴウ シロウ",
                birth_date="1940-02-03",
                sex=pb.SEX_MALE,
                address="宮城県石巻市穀町14番1号",
                resident_type=pb.RESIDENT_TYPE_CITIZEN,
            ),
            idempotency_key=uuid.uuid4().hex,
        )
    )
    certs, events = env.count(models.CareCertificationRow), env.count(models.OutboxEvent)
    care = pb.CertifyLongTermCareRequest(
        address_number=elder.address_number,
        level=pb.CARE_LEVEL_CARE_2,
        certified_on="2026-04-01",
        valid_from="2026-04-01",
        valid_until="2027-03-31",
        idempotency_key=uuid.uuid4().hex,
    )
    answers = _at_once(lambda: env.api.CertifyLongTermCare(care, timeout=30))
    assert [a for a in answers if isinstance(a, str)] == []
    assert env.count(models.CareCertificationRow) == certs + 1
    assert env.count(models.OutboxEvent) == events + 1  # one result notice

    declare = pb.DeclareDisasterRequest(
        name="令和8年台風第10号による災害",
        area="宮城県",
        declared_on="2026-04-01",
        assumed_damage=pb.DAMAGE_LEVEL_LARGE_SCALE_HALF,
        idempotency_key=uuid.uuid4().hex,
    )
    declared = _at_once(lambda: env.api.DeclareDisaster(declare, timeout=30))
    assert [a for a in declared if isinstance(a, str)] == []
    assert len({a.disaster_id for a in declared}) == 1  # type: ignore[union-attr]
    assert env.count(models.Disaster) == 1
