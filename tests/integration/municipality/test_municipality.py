"""The municipality against the real registry (and health and tax), on SQLite and PostgreSQL.

Residents are registered through the municipality's own API as "operator"; the registry
issues the number. Other agencies enrol the resident through their own APIs, so moves reach
them through the hub and the disaster list reads their data through it.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from mynumber.exchange.v1 import exchange_pb2
from mynumber.exchange.v1.exchange_pb2_grpc import ProviderStub
from mynumber.healthinsurance.v1 import health_insurance_pb2 as hpb
from mynumber.healthinsurance.v1.health_insurance_pb2_grpc import HealthInsuranceStub
from mynumber.municipality.v1 import municipality_pb2 as pb
from mynumber.municipality.v1.municipality_pb2_grpc import MunicipalityStub
from mynumber.registry.v1 import registry_pb2
from mynumber.registry.v1.registry_pb2_grpc import ExchangeLogStub, RegistryStub
from mynumber.tax.v1 import tax_pb2
from mynumber.tax.v1.tax_pb2_grpc import TaxStub
from sqlalchemy import MetaData, func, select

from mynumber_core.calendar import today_jst
from mynumber_core.db import Database
from mynumber_core.mynumber import is_valid
from mynumber_core.outbox import OutboxRelay, hub_publisher
from mynumber_core.registry_client import RegistryClient
from services.health.domain import make_insurer_number
from services.municipality import models
from services.municipality.wiring import event_audience
from tests.support.resident_device import portal_login_for
from tests.support.sealing import domain_keys, open_provided, recipient, sealed_payload
from tests.support.stack import Stack

TODAY = today_jst()
YESTERDAY = (TODAY - dt.timedelta(days=1)).isoformat()
KYOKAI = make_insurer_number("0113001")
HOME = "宮城県石巻市穀町14番1号"
NEW_HOME = "宮城県石巻市中央2丁目5-3"


def key() -> str:
    return uuid.uuid4().hex


def citizen(name: str, kana: str, birth: str, sex: int, address: str = HOME) -> pb.ResidentFacts:
    return pb.ResidentFacts(
        name=name,
        name_kana=kana,
        birth_date=birth,
        sex=sex,  # type: ignore[arg-type]
        address=address,
        resident_type=pb.RESIDENT_TYPE_CITIZEN,
    )


@dataclass
class Env:
    stack: Stack
    api: MunicipalityStub
    db: Database

    def register(self, facts: pb.ResidentFacts, **kw: Any) -> pb.RegisterResidentResponse:
        return self.api.RegisterResident(
            pb.RegisterResidentRequest(resident=facts, idempotency_key=key(), **kw)
        )

    def token_of(self, address_number: str) -> str:
        with self.db.transaction() as session:
            row = session.get(models.Resident, address_number)
            assert row is not None
            return row.token

    def counts(self) -> dict[str, int]:
        with self.db.transaction() as session:
            return {
                m.__tablename__: int(session.scalar(select(func.count()).select_from(m)) or 0)
                for m in (
                    models.Resident,
                    models.Household,
                    models.Operation,
                    models.OutboxEvent,
                    models.CareCertificationRow,
                    models.Disaster,
                    models.MoveOutNotice,
                )
            }

    def dump(self) -> str:
        """Every value of every table, as text (what an attacker with the database sees)."""
        meta = MetaData()
        meta.reflect(self.db.engine)
        parts: list[str] = []
        with self.db.engine.connect() as conn:
            for table in meta.sorted_tables:
                parts.extend(repr(tuple(row)) for row in conn.execute(table.select()))
        return "\n".join(parts)

    def wait_delivered(self, timeout: float = 10.0) -> list[models.OutboxEvent]:
        deadline = time.monotonic() + timeout
        while True:
            with self.db.transaction() as session:
                rows = list(session.scalars(select(models.OutboxEvent)).all())
            if rows and all(r.delivered_at is not None for r in rows):
                return rows
            if time.monotonic() > deadline:
                raise AssertionError("the outbox was not delivered in time")
            time.sleep(0.05)


@pytest.fixture
def env_factory(
    tmp_path: Path, backend: Callable[[str], str]
) -> Iterator[Callable[[list[str]], Env]]:
    stacks: list[Stack] = []
    dbs: list[Database] = []

    def make(services: list[str]) -> Env:
        stack = Stack(tmp_path, services, database=backend).start()
        stacks.append(stack)
        db = Database.from_url(backend("municipality"))
        dbs.append(db)
        return Env(
            stack, MunicipalityStub(stack.channel("municipality", as_identity="operator")), db
        )

    yield make
    for db in dbs:
        db.dispose()
    for stack in stacks:
        stack.stop()


def test_register_stores_the_token_never_the_number(env_factory: Callable[..., Env]) -> None:
    env = env_factory(["registry", "municipality"])
    head = env.register(citizen("佐藤 健一", "サトウ ケンイチ", "1958-07-03", pb.SEX_MALE))
    assert is_valid(head.my_number) and len(head.address_number) == 10
    foreign = env.register(
        pb.ResidentFacts(
            name="NGUYEN THI LAN",
            name_kana="グエン ティ ラン",
            birth_date="1996-04-21",
            sex=pb.SEX_FEMALE,
            address=HOME,
            resident_type=pb.RESIDENT_TYPE_FOREIGN,
            foreign=pb.ForeignResidentDetails(
                nationality="VN",
                residence_status="技術・人文知識・国際業務",
                residence_card_number="ab12345678cd",
                period_of_stay_until=(TODAY + dt.timedelta(days=700)).isoformat(),
            ),
        ),
        household_id=head.household_id,
        relationship="同居人",
    )
    assert foreign.household_id == head.household_id
    # The municipality's token is the one the registry gives for the number.
    registry = RegistryStub(env.stack.channel("registry", as_identity="municipality"))
    linked = registry.Link(
        registry_pb2.LinkRequest(
            my_number=head.my_number,
            facts=registry_pb2.BasicFacts(
                name="佐藤 健一", birth_date="1958-07-03", sex=registry_pb2.SEX_MALE, address=HOME
            ),
        )
    )
    assert env.token_of(head.address_number) == linked.token
    resident = env.api.GetResident(pb.GetResidentRequest(address_number=foreign.address_number))
    assert resident.facts.foreign.residence_card_number == "AB12345678CD"
    assert resident.relationship == "同居人" and resident.status == pb.RESIDENT_STATUS_RESIDENT
    household = env.api.GetHousehold(pb.GetHouseholdRequest(household_id=head.household_id))
    assert household.householder_address_number == head.address_number
    assert len(household.members) == 2
    dump = env.dump()
    for secret in (head.my_number, foreign.my_number, "佐藤", "NGUYEN", "AB12345678CD", HOME):
        assert secret not in dump
    assert linked.token in dump


def test_bad_requests_are_rejected_and_change_nothing(env_factory: Callable[..., Env]) -> None:
    env = env_factory(["registry", "municipality"])
    good = citizen("佐藤 健一", "サトウ ケンイチ", "1958-07-03", pb.SEX_MALE)
    head = env.register(good)
    before = env.counts()

    def variant(**changes: Any) -> pb.ResidentFacts:
        facts = pb.ResidentFacts()
        facts.CopyFrom(good)
        for name, value in changes.items():
            setattr(facts, name, value)
        return facts

    foreign_bad_card = variant(resident_type=pb.RESIDENT_TYPE_FOREIGN)
    foreign_bad_card.foreign.CopyFrom(
        pb.ForeignResidentDetails(
            nationality="VN",
            residence_status="留学",
            residence_card_number="AB-1234-CD",
            period_of_stay_until="2030-01-01",
        )
    )
    cases: list[tuple[Callable[[], Any], grpc.StatusCode]] = [
        (lambda: env.register(variant(sex=pb.SEX_UNSPECIFIED)), grpc.StatusCode.INVALID_ARGUMENT),
        (lambda: env.register(variant(name_kana="さとう")), grpc.StatusCode.INVALID_ARGUMENT),
        (lambda: env.register(variant(birth_date="2999-01-01")), grpc.StatusCode.INVALID_ARGUMENT),
        (lambda: env.register(variant(address="石巻市穀町")), grpc.StatusCode.INVALID_ARGUMENT),
        (lambda: env.register(foreign_bad_card), grpc.StatusCode.INVALID_ARGUMENT),
        (
            lambda: env.register(good, household_id="100000009", relationship="子"),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            lambda: env.register(good, household_id=head.household_id, relationship="世帯主"),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            lambda: env.api.RegisterResident(
                pb.RegisterResidentRequest(resident=good, idempotency_key="x")
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            lambda: env.api.GetResident(pb.GetResidentRequest(address_number="1234567890")),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            lambda: env.api.EnrolResident(
                pb.EnrolResidentRequest(
                    my_number=head.my_number,
                    resident=variant(name="佐藤 健二"),
                    idempotency_key=key(),
                )
            ),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            lambda: env.api.RecordMove(
                pb.RecordMoveRequest(
                    address_number=head.address_number,
                    new_address=HOME,
                    effective_date=YESTERDAY,
                    idempotency_key=key(),
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            lambda: env.api.CertifyLongTermCare(
                pb.CertifyLongTermCareRequest(
                    address_number=head.address_number,
                    level=pb.CARE_LEVEL_CARE_1,
                    certified_on=YESTERDAY,
                    valid_from=YESTERDAY,
                    valid_until=YESTERDAY,
                    idempotency_key=key(),
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            lambda: env.api.DeclareDisaster(
                pb.DeclareDisasterRequest(
                    name="台風",
                    area="宮城県石巻市穀町14",
                    declared_on=YESTERDAY,
                    assumed_damage=pb.DAMAGE_LEVEL_TOTAL_COLLAPSE,
                    idempotency_key=key(),
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            lambda: MunicipalityStub(
                env.stack.channel("municipality", as_identity="pension")
            ).GetResident(pb.GetResidentRequest(address_number=head.address_number)),
            grpc.StatusCode.PERMISSION_DENIED,
        ),
    ]
    for call, code in cases:
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == code, info.value.details()
        assert head.my_number not in (info.value.details() or "")
    assert env.counts() == before


def log_entries(env: Env, my_number: str, facts: registry_pb2.BasicFacts) -> list[Any]:
    """The person's exchange log as the portal sees it (links the portal: do this last)."""
    # The portal learns its token from the resident's card login and reads with its grant.
    login = portal_login_for(
        env.stack.channel("registry", as_identity="municipality"),
        env.stack.channel("registry", as_identity="gateway"),
        my_number,
        facts,
    )
    log = ExchangeLogStub(env.stack.channel("registry", as_identity="gateway"))
    request = registry_pb2.ListEntriesRequest(token=login.token)
    return list(log.ListEntries(request, metadata=login.metadata()).entries)


def _enrol_health(env: Env, my_number: str, facts: registry_pb2.BasicFacts) -> str:
    health = HealthInsuranceStub(env.stack.channel("health", as_identity="operator"))
    return str(
        health.Enrol(
            hpb.EnrolRequest(
                my_number=my_number,
                facts=facts,
                insurer_number=KYOKAI,
                plan=hpb.PLAN_TYPE_KYOKAI_KENPO,
                insured=hpb.InsuredNumber(
                    symbol="5012", number=str(uuid.uuid4().int % 10**6), branch="00"
                ),
                valid_from="2020-04-01",
                idempotency_key=key(),
            )
        ).token
    )


def test_move_reaches_linked_agencies_once(env_factory: Callable[..., Env]) -> None:
    env = env_factory(["registry", "municipality", "health"])
    head = env.register(citizen("佐藤 健一", "サトウ ケンイチ", "1958-07-03", pb.SEX_MALE))
    facts = registry_pb2.BasicFacts(
        name="佐藤 健一", birth_date="1958-07-03", sex=registry_pb2.SEX_MALE, address=HOME
    )
    _enrol_health(env, head.my_number, facts)

    moved = env.api.RecordMove(
        pb.RecordMoveRequest(
            address_number=head.address_number,
            new_address=NEW_HOME,
            effective_date=YESTERDAY,
            idempotency_key=key(),
        )
    )
    assert list(moved.moved) == [head.address_number] and len(moved.event_ids) == 1
    rows = env.wait_delivered()
    assert [(r.event_type, r.procedure) for r in rows] == [
        ("address_changed", "municipality.moving_onestop")
    ]
    event_id = rows[0].id
    assert (
        env.api.GetResident(pb.GetResidentRequest(address_number=head.address_number)).facts.address
        == NEW_HOME
    )
    # A letter goes to the address the resident left (in case the move was not theirs).
    [letter] = env.api.ListLetters(
        pb.ListLettersRequest(address_number=head.address_number)
    ).letters
    assert (letter.kind, letter.address) == ("address_change_notice", HOME)

    # Redelivery: the relay publishes the same event again; the hub does not deliver twice.
    with env.db.transaction() as session:
        row = session.get(models.OutboxEvent, event_id)
        assert row is not None
        row.delivered_at = None
    client = RegistryClient(
        env.stack.channels("municipality"), domain_keys(env.stack.var, "municipality")
    )
    relay = OutboxRelay(
        "municipality", env.db, models.OutboxEvent, hub_publisher(client, event_audience)
    )
    assert relay.drain() == 1
    # The registry's facts followed (pension links after the redelivery, so it is no
    # target of it): linking with the new address works, the old one not.
    pension = RegistryStub(env.stack.channel("registry", as_identity="pension"))
    moved_facts = registry_pb2.BasicFacts()
    moved_facts.CopyFrom(facts)
    moved_facts.address = NEW_HOME
    assert pension.Link(registry_pb2.LinkRequest(my_number=head.my_number, facts=moved_facts)).token
    with pytest.raises(grpc.RpcError):
        pension.Link(registry_pb2.LinkRequest(my_number=head.my_number, facts=facts))

    # Health got it once, under its own token, recorded as delivered in the exchange log.
    entries = log_entries(env, head.my_number, moved_facts)
    delivered = [
        (e.provider, e.request_id, e.procedure)
        for e in entries
        if e.item == "address_changed" and e.outcome == registry_pb2.OUTCOME_DELIVERED
    ]
    assert delivered == [("health", event_id, "municipality.moving_onestop")]
    # And the receiver itself applies an event id once.
    health_provider = ProviderStub(env.stack.channel("health", as_identity="registry"))
    health_registry = RegistryStub(env.stack.channel("registry", as_identity="health"))
    health_token = health_registry.Link(
        registry_pb2.LinkRequest(my_number=head.my_number, facts=moved_facts)
    ).token
    again = health_provider.Deliver(
        exchange_pb2.DeliverRequest(
            token=health_token,
            event_type="address_changed",
            event_id=event_id,
            publisher="municipality",
            procedure="municipality.moving_onestop",
            sealed_payload=sealed_payload(
                env.stack.var,
                publisher="municipality",
                receiver="health",
                event_type="address_changed",
                event_id=event_id,
                procedure="municipality.moving_onestop",
                payload={"address": NEW_HOME},
            ),
        )
    )
    assert again.applied is False


def test_move_out_application_from_the_portal_is_recorded_once(
    env_factory: Callable[..., Env],
) -> None:
    env = env_factory(["registry", "municipality"])
    head = env.register(citizen("佐藤 健一", "サトウ ケンイチ", "1958-07-03", pb.SEX_MALE))
    provider = ProviderStub(env.stack.channel("municipality", as_identity="registry"))
    move_out = key()
    request = exchange_pb2.DeliverRequest(
        token=env.token_of(head.address_number),
        event_type="application.move_out",
        event_id=move_out,
        publisher="portal",
        procedure="municipality.move_out",
        sealed_payload=sealed_payload(
            env.stack.var,
            publisher="portal",
            receiver="municipality",
            event_type="application.move_out",
            event_id=move_out,
            procedure="municipality.move_out",
            payload={
                "destination_address": "東京都千代田区千代田1-1",
                "effective_date": TODAY.isoformat(),
            },
        ),
    )
    assert provider.Deliver(request).applied is True
    assert provider.Deliver(request).applied is False
    resident = env.api.GetResident(pb.GetResidentRequest(address_number=head.address_number))
    assert resident.pending_move_out_notices == 1
    env.api.RecordMoveOut(
        pb.RecordMoveOutRequest(
            address_number=head.address_number,
            destination_address="東京都千代田区千代田1-1",
            effective_date=TODAY.isoformat(),
            idempotency_key=key(),
        )
    )
    resident = env.api.GetResident(pb.GetResidentRequest(address_number=head.address_number))
    assert resident.status == pb.RESIDENT_STATUS_MOVED_OUT
    assert resident.pending_move_out_notices == 0
    ask = exchange_pb2.ProvideRequest(
        token=env.token_of(head.address_number),
        item="basic_facts",
        procedure="pension.claim",
        requester="pension",
        request_id=key(),
        recipient=recipient(env.stack.var, "pension"),
    )
    item = open_provided(env.stack.var, "municipality", ask, provider.Provide(ask))
    assert item["status"] == "moved_out"


def test_support_list_and_reissue(
    env_factory: Callable[..., Env], capsys: pytest.CaptureFixture[str]
) -> None:
    env = env_factory(["registry", "municipality", "health", "tax"])
    head = env.register(citizen("佐藤 健一", "サトウ ケンイチ", "1958-07-03", pb.SEX_MALE))
    wife = env.register(
        citizen("佐藤 恵子", "サトウ ケイコ", "1961-02-11", pb.SEX_FEMALE),
        household_id=head.household_id,
        relationship="妻",
    )
    elsewhere = env.register(
        citizen(
            "高橋 明", "タカハシ アキラ", "1980-05-05", pb.SEX_MALE, "宮城県仙台市青葉区国分町3-7"
        )
    )
    # The wife is insured and has care flags; the husband files income with tax.
    wife_facts = registry_pb2.BasicFacts(
        name="佐藤 恵子", birth_date="1961-02-11", sex=registry_pb2.SEX_FEMALE, address=HOME
    )
    health_token = _enrol_health(env, wife.my_number, wife_facts)
    HealthInsuranceStub(env.stack.channel("health", as_identity="operator")).SetCareFlags(
        hpb.SetCareFlagsRequest(
            token=health_token, disability_grade=2, chronic_care=[hpb.CHRONIC_CARE_DIALYSIS]
        )
    )
    tax = TaxStub(env.stack.channel("tax", as_identity="operator"))
    taxpayer = tax.RegisterTaxpayer(
        tax_pb2.RegisterTaxpayerRequest(
            identity=tax_pb2.FormIdentity(
                my_number=head.my_number,
                name="佐藤 健一",
                birth_date="1958-07-03",
                sex="male",
                address=HOME,
            )
        )
    )
    year = TODAY.year - 1
    tax.RecordIncome(
        tax_pb2.RecordIncomeRequest(
            reference_number=taxpayer.reference_number, year=year, business_income_yen=3_000_000
        )
    )
    env.api.CertifyLongTermCare(
        pb.CertifyLongTermCareRequest(
            address_number=wife.address_number,
            level=pb.CARE_LEVEL_CARE_2,
            certified_on=YESTERDAY,
            valid_from=YESTERDAY,
            valid_until=(TODAY + dt.timedelta(days=365)).isoformat(),
            idempotency_key=key(),
        )
    )
    disaster = env.api.DeclareDisaster(
        pb.DeclareDisasterRequest(
            name="令和7年台風第10号",
            area="宮城県石巻市",
            declared_on=TODAY.isoformat(),
            assumed_damage=pb.DAMAGE_LEVEL_TOTAL_COLLAPSE,
            idempotency_key=key(),
        )
    )
    result = env.api.CompileSupportList(
        pb.CompileSupportListRequest(disaster_id=disaster.disaster_id)
    )
    listed = {e.address_number: e for e in result.residents}
    assert set(listed) == {head.address_number, wife.address_number}
    assert elsewhere.address_number not in listed
    assert listed[wife.address_number].care_flags_known
    assert list(listed[wife.address_number].care_flags) == [
        "chronic_care:dialysis",
        "disability_grade_2",
    ]
    assert "ltc:要介護2" in listed[wife.address_number].reasons
    assert not listed[head.address_number].care_flags_known  # not insured here
    [household] = result.households
    assert household.size == 2 and household.household_income_yen == 3_000_000
    assert household.support_yen == 1_000_000 and result.total_support_yen == 1_000_000

    # Reissue: a new valid number, the old one stops linking; the token stays.
    token_before = env.token_of(head.address_number)
    new = env.api.ReissueNumber(
        pb.ReissueNumberRequest(
            address_number=head.address_number,
            reason="申請書の紛失による漏えい",
            idempotency_key=key(),
        )
    )
    assert is_valid(new.my_number) and new.my_number != head.my_number
    assert env.token_of(head.address_number) == token_before
    pension = RegistryStub(env.stack.channel("registry", as_identity="pension"))
    facts = registry_pb2.BasicFacts(
        name="佐藤 健一", birth_date="1958-07-03", sex=registry_pb2.SEX_MALE, address=HOME
    )
    assert pension.Link(registry_pb2.LinkRequest(my_number=new.my_number, facts=facts)).token
    with pytest.raises(grpc.RpcError):
        pension.Link(registry_pb2.LinkRequest(my_number=head.my_number, facts=facts))
    rows = env.wait_delivered()
    assert {r.event_type for r in rows} == {"notice", "number_reissued"}
    dump = env.dump()
    for number in (head.my_number, new.my_number, wife.my_number):
        assert number not in dump
    # Every lookup was recorded in the exchange log under its procedure.
    head_entries = log_entries(env, new.my_number, facts)
    assert {(e.provider, e.item, e.procedure) for e in head_entries} >= {
        ("tax", "income", "disaster.victim_support"),
        ("health", "care_flags", "disaster.support_list"),
    }
    logs = capsys.readouterr()
    assert "rpc" in logs.out  # the services did log their calls
    for secret in (head.my_number, new.my_number, wife.my_number, "佐藤", HOME):
        assert secret not in logs.out + logs.err
