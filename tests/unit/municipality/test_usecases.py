"""Use cases of the municipality on a real SQLite database with a fake registry (no network)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mynumber_core import errors
from mynumber_core.db import Database
from mynumber_core.facts import BasicFacts
from mynumber_core.keyring import BlindIndex, FieldCipher, Keyring
from mynumber_core.migrations import upgrade
from mynumber_core.mynumber import generate
from mynumber_core.outbox import OutboxRelay
from mynumber_core.provider import DeliveredEvent, ProvideCall
from mynumber_core.resident_grants import Acting
from services.municipality.domain import ResidentForm
from services.municipality.models import (
    CareCertificationRow,
    Household,
    MoveOutNotice,
    Operation,
    OutboxEvent,
    Resident,
    cipher,
)
from services.municipality.usecases import UseCases, bootstrap
from services.municipality.usecases.context import Context
from tests.support.fake_registry import FakeRegistry

TODAY = dt.date(2025, 6, 1)


class IssuingRegistry(FakeRegistry):
    """The shared fake, plus what only the municipality asks: it issues numbers and tokens,
    links by number and matching facts, reissues, and can refuse fact updates."""

    def __init__(self) -> None:
        super().__init__()
        self.people: dict[str, dict[str, Any]] = {}  # token -> {number, facts}
        self.by_key: dict[str, str] = {}
        self.fail_update = False
        self._by_token: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}

    def answer_for(self, token: str, provider: str, item: str, data: dict[str, Any]) -> None:
        """Answer ``provider``'s ``item`` about one person (others: NotFound, as the hub)."""
        table = self._by_token.setdefault((provider, item), {})
        table[token] = data

        def answer(call: dict[str, Any]) -> dict[str, Any]:
            if call["token"] not in table:
                raise errors.NotFound(f"registry: {provider}: no {item}")
            return table[call["token"]]

        self.answers[(provider, item)] = answer

    def register(self, facts: BasicFacts, idempotency_key: str) -> tuple[str, str]:
        if idempotency_key in self.by_key:
            token = self.by_key[idempotency_key]
            return self.people[token]["number"], token
        number = generate(lambda n: any(p["number"] == n for p in self.people.values()))
        token = f"tok-{len(self.people) + 1:04d}"
        self.people[token] = {"number": number, "facts": facts}
        self.by_key[idempotency_key] = token
        return number, token

    def link(self, my_number: str, facts: BasicFacts) -> str:
        for token, person in self.people.items():
            if person["number"] == my_number and person["facts"].matches(facts):
                self.links.append(my_number)
                return token
        raise errors.NotFound("registry: no match")

    def update_facts(self, token: str, facts: BasicFacts, *, deceased: bool = False) -> None:
        if self.fail_update:
            raise errors.Unavailable("registry: down")
        super().update_facts(token, facts, deceased=deceased)
        self.people[token]["facts"] = facts

    def reissue(
        self, token: str, reason: str, idempotency_key: str, *, acting: Acting | None = None
    ) -> str:
        if idempotency_key in self.by_key:
            return str(self.people[token]["number"])
        self.by_key[idempotency_key] = token
        self.people[token]["number"] = generate(lambda n: False)
        return str(self.people[token]["number"])


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'municipality.db'}"
    upgrade("municipality", url)
    database = Database.from_url(url)
    yield database
    database.dispose()


@pytest.fixture
def registry() -> IssuingRegistry:
    return IssuingRegistry()


@pytest.fixture
def register(db: Database, registry: IssuingRegistry) -> UseCases:
    keyring = Keyring.generate(["data", "blind"])
    cipher.bind(FieldCipher(keyring))
    return bootstrap(Context(db, registry, BlindIndex(keyring), today=lambda: TODAY))


def form(**overrides: str) -> ResidentForm:
    base = {
        "name": "佐藤 健一",
        "name_kana": "サトウ ケンイチ",
        "birth_date": "1958-07-03",
        "sex": "male",
        "address": "宮城県石巻市穀町14番1号",
        "resident_type": "citizen",
    }
    base.update(overrides)
    return ResidentForm(**base)


def count(db: Database, model: type) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_register_keeps_the_token_and_returns_the_number_once(
    register: UseCases, registry: IssuingRegistry, db: Database, tmp_path: Path
) -> None:
    result = register.residents.register_resident(form(), "", "", "key-0001-register")
    token = registry.by_key["mun-register:key-0001-register"]
    assert result.my_number == registry.people[token]["number"]
    with db.transaction() as session:
        row = session.get(Resident, result.address_number)
        assert row is not None and row.token == token and row.relationship == "世帯主"
    db.dispose()
    raw = (tmp_path / "municipality.db").read_bytes()
    for wal in tmp_path.glob("municipality.db-*"):
        raw += wal.read_bytes()
    assert result.my_number.encode() not in raw
    assert "佐藤".encode() not in raw  # the name is encrypted
    assert token.encode() in raw


def test_register_is_idempotent_and_a_reused_key_conflicts(
    register: UseCases, db: Database
) -> None:
    first = register.residents.register_resident(form(), "", "", "key-0002-register")
    again = register.residents.register_resident(form(), "", "", "key-0002-register")
    assert again == first and again.my_number == first.my_number
    assert count(db, Resident) == 1
    with pytest.raises(errors.Conflict):
        register.residents.register_resident(form(name="佐藤 花子"), "", "", "key-0002-register")
    assert count(db, Resident) == 1


@pytest.mark.parametrize(
    ("overrides", "household", "relationship", "key", "error"),
    [
        ({"name": ""}, "", "", "key-bad-00001", errors.InvalidInput),
        ({"name_kana": "さとう"}, "", "", "key-bad-00002", errors.InvalidInput),
        ({"birth_date": "1958-13-03"}, "", "", "key-bad-00003", errors.InvalidInput),
        ({"sex": "other"}, "", "", "key-bad-00004", errors.InvalidInput),
        ({"address": "石巻市穀町14"}, "", "", "key-bad-00005", errors.InvalidInput),
        ({"resident_type": "tourist"}, "", "", "key-bad-00006", errors.InvalidInput),
        ({"resident_type": "foreign"}, "", "", "key-bad-00007", errors.InvalidInput),
        ({"nationality": "VN"}, "", "", "key-bad-00008", errors.InvalidInput),
        ({}, "12345678", "子", "key-bad-00009", errors.InvalidInput),
        ({}, "", "子", "key-bad-00010", errors.InvalidInput),
        ({}, "", "", "short", errors.InvalidInput),
        ({}, "100000009", "子", "key-bad-00011", errors.NotFound),
    ],
)
def test_bad_registrations_change_nothing(
    register: UseCases,
    registry: IssuingRegistry,
    db: Database,
    overrides: dict[str, str],
    household: str,
    relationship: str,
    key: str,
    error: type[errors.DomainError],
) -> None:
    with pytest.raises(error):
        register.residents.register_resident(form(**overrides), household, relationship, key)
    assert registry.people == {}
    assert count(db, Resident) == count(db, Household) == count(db, Operation) == 0


def test_household_members_and_provider_items(register: UseCases, db: Database) -> None:
    head = register.residents.register_resident(form(), "", "", "key-hh-00001")
    wife = register.residents.register_resident(
        form(name="佐藤 恵子", name_kana="サトウ ケイコ", birth_date="1961-02-11", sex="female"),
        head.household_id,
        "妻",
        "key-hh-00002",
    )
    assert wife.household_id == head.household_id
    with pytest.raises(errors.InvalidInput, match="one address"):
        register.residents.register_resident(
            form(name="佐藤 一郎", address="宮城県石巻市中央1丁目1-1"),
            head.household_id,
            "子",
            "key-hh-00003",
        )
    with db.transaction() as session:
        token = session.get(Resident, wife.address_number).token  # type: ignore[union-attr]
    call = ProvideCall(token, "household", "pension.exemption", "pension", "r1", {})
    item = register.provider.provide_household(call)
    assert item["size"] == 2 and item["relationship"] == "妻"
    assert sorted((m["relationship"], m["birth_year"]) for m in item["members"]) == [
        ("世帯主", 1958),
        ("妻", 1961),
    ]
    assert "佐藤" not in json.dumps(item, ensure_ascii=False)  # no names of other members
    facts = register.provider.provide_basic_facts(call)
    assert facts["name"] == "佐藤 恵子" and facts["status"] == "resident"
    assert register.provider.provide_ltc(call) == {"certified": False}
    with pytest.raises(errors.NotFound):
        register.provider.provide_basic_facts(
            ProvideCall("unknown", "basic_facts", "p", "x", "r", {})
        )


def test_foreign_resident_details_are_provided(register: UseCases, db: Database) -> None:
    result = register.residents.register_resident(
        form(
            name="NGUYEN VAN AN",
            name_kana="グエン ヴァン アン",
            resident_type="foreign",
            nationality="VN",
            residence_status="技術・人文知識・国際業務",
            residence_card_number="AB12345678CD",
            period_of_stay_until="2027-03-31",
        ),
        "",
        "",
        "key-foreign-01",
    )
    view = register.residents.get_resident(result.address_number)
    assert view.form.residence_card_number == "AB12345678CD"
    with db.transaction() as session:
        token = session.get(Resident, result.address_number).token  # type: ignore[union-attr]
    item = register.provider.provide_basic_facts(
        ProvideCall(token, "basic_facts", "p", "x", "r", {})
    )
    assert item["nationality"] == "VN" and item["period_of_stay_until"] == "2027-03-31"
    assert "residence_card_number" not in item


def test_move_updates_registry_and_outbox_in_one_go(
    register: UseCases, registry: IssuingRegistry, db: Database
) -> None:
    head = register.residents.register_resident(form(), "", "", "key-move-0001")
    register.residents.register_resident(
        form(name="佐藤 恵子", name_kana="サトウ ケイコ", birth_date="1961-02-11", sex="female"),
        head.household_id,
        "妻",
        "key-move-0002",
    )
    registry.fail_update = True
    with pytest.raises(errors.Unavailable):
        register.moves.record_move(
            head.address_number, "宮城県石巻市中央2丁目5-3", "2025-05-30", True, "key-move-0003"
        )
    assert count(db, OutboxEvent) == 0
    assert (
        register.residents.get_resident(head.address_number).form.address
        == "宮城県石巻市穀町14番1号"
    )
    registry.fail_update = False
    moved = register.moves.record_move(
        head.address_number, "宮城県石巻市中央2丁目5-3", "2025-05-30", True, "key-move-0003"
    )
    assert len(moved.moved) == 2 and len(moved.event_ids) == 2
    again = register.moves.record_move(
        head.address_number, "宮城県石巻市中央2丁目5-3", "2025-05-30", True, "key-move-0003"
    )
    assert again == moved and count(db, OutboxEvent) == 2
    assert [u[1].address for u in registry.updates] == ["宮城県石巻市中央2丁目5-3"] * 2

    relay = OutboxRelay("municipality", db, OutboxEvent, _deliver(registry))
    assert relay.drain() == 2
    assert {p["event_type"] for p in registry.published} == {"address_changed"}
    assert {p["procedure"] for p in registry.published} == {"municipality.moving_onestop"}
    assert registry.published[0]["payload"]["address"] == "宮城県石巻市中央2丁目5-3"
    assert relay.drain() == 0

    with pytest.raises(errors.InvalidInput, match="current address"):
        register.moves.record_move(
            head.address_number, "宮城県石巻市中央2丁目5-3", "2025-05-31", True, "key-move-0004"
        )
    with pytest.raises(errors.InvalidInput, match="future"):
        register.moves.record_move(
            head.address_number, "宮城県石巻市中央3丁目1", "2025-06-30", True, "key-move-0005"
        )


def _deliver(registry: IssuingRegistry) -> Any:
    def deliver(row: Any, payload: dict[str, Any]) -> None:
        registry.publish(row.token, row.event_type, row.id, payload, procedure=row.procedure)

    return deliver


def test_householder_cannot_leave_others_behind(register: UseCases) -> None:
    head = register.residents.register_resident(form(), "", "", "key-split-001")
    child = register.residents.register_resident(
        form(name="佐藤 翔", name_kana="サトウ ショウ", birth_date="1990-10-10"),
        head.household_id,
        "子",
        "key-split-002",
    )
    with pytest.raises(errors.FailedPrecondition):
        register.moves.record_move(
            head.address_number, "宮城県石巻市中央2丁目5-3", "2025-05-30", False, "key-split-003"
        )
    moved = register.moves.record_move(
        child.address_number, "宮城県石巻市中央2丁目5-3", "2025-05-30", False, "key-split-004"
    )
    assert moved.household_id != head.household_id
    assert register.residents.get_resident(child.address_number).relationship == "世帯主"
    assert len(register.residents.get_household(head.household_id).members) == 1


def test_move_out_and_death_close_the_record(register: UseCases, registry: IssuingRegistry) -> None:
    a = register.residents.register_resident(form(), "", "", "key-close-001")
    b = register.residents.register_resident(
        form(name="高橋 明", name_kana="タカハシ アキラ", address="宮城県石巻市中央1-1"),
        "",
        "",
        "key-close-002",
    )
    register.moves.record_move_out(
        a.address_number, "東京都千代田区千代田1-1", "2025-06-10", "key-close-3"
    )
    assert register.residents.get_resident(a.address_number).status == "moved_out"
    assert registry.updates[-1][1].address == "東京都千代田区千代田1-1"
    with pytest.raises(errors.FailedPrecondition):
        register.moves.record_death(a.address_number, "2025-06-01", "key-close-4")
    register.moves.record_death(b.address_number, "2025-05-01", "key-close-5")
    assert register.residents.get_resident(b.address_number).status == "deceased"
    assert registry.updates[-1][2] is True


def test_care_certification_and_notice(
    register: UseCases, registry: IssuingRegistry, db: Database
) -> None:
    a = register.residents.register_resident(form(), "", "", "key-care-0001")
    view = register.care.certify_care(
        a.address_number, 5, "2025-05-20", "2025-05-01", "2026-04-30", "key-care-0002"
    )
    assert view.cert.level.label == "要介護3"
    assert register.residents.get_resident(a.address_number).care == view.cert
    with db.transaction() as session:
        notices = session.scalars(select(OutboxEvent)).all()
        assert [(n.event_type, n.procedure) for n in notices] == [("notice", "municipality.ltc")]
    with pytest.raises(errors.InvalidInput):
        register.care.certify_care(
            a.address_number, 9, "2025-05-20", "2025-05-01", "2026-04-30", "key-care-0003"
        )
    assert count(db, CareCertificationRow) == 1


def test_support_list_combines_local_and_partner_data(
    register: UseCases, registry: IssuingRegistry
) -> None:
    head = register.residents.register_resident(form(), "", "", "key-dis-00001")
    wife = register.residents.register_resident(
        form(name="佐藤 恵子", name_kana="サトウ ケイコ", birth_date="1961-02-11", sex="female"),
        head.household_id,
        "妻",
        "key-dis-00002",
    )
    alone = register.residents.register_resident(
        form(
            name="鈴木 トメ",
            name_kana="スズキ トメ",
            birth_date="1938-01-15",
            sex="female",
            address="宮城県石巻市門脇町2丁目3",
        ),
        "",
        "",
        "key-dis-00003",
    )
    elsewhere = register.residents.register_resident(
        form(name="高橋 明", name_kana="タカハシ アキラ", address="宮城県仙台市青葉区国分町3-7"),
        "",
        "",
        "key-dis-00004",
    )
    register.care.certify_care(
        wife.address_number, 6, "2025-04-01", "2025-04-01", "2026-03-31", "key-dis-00005"
    )
    tokens = {t: p for t, p in registry.people.items()}
    head_token = registry.by_key["mun-register:key-dis-00001"]
    alone_token = registry.by_key["mun-register:key-dis-00003"]
    registry.answer_for(head_token, "tax", "income", {"year": 2024, "total_income": 4_800_000})
    registry.answer_for(alone_token, "tax", "income", {"year": 2024, "total_income": 1_200_000})
    registry.answer_for(
        alone_token,
        "health",
        "care_flags",
        {"disability_grade": 0, "chronic_care": [], "needs_evacuation_assistance": False},
    )
    disaster = register.disasters.declare_disaster(
        "令和7年台風第10号", "宮城県石巻市", "2025-05-25", 1, "key-dis-00006"
    )
    assert disaster.disaster_id.startswith("D2025-")
    result = register.disasters.compile_support_list(disaster.disaster_id, 0)
    assert result.income_year == 2024
    listed = {e.address_number: e for e in result.residents}
    assert set(listed) == {head.address_number, wife.address_number, alone.address_number}
    assert elsewhere.address_number not in listed
    assert listed[wife.address_number].need.reasons == ("ltc:要介護4",)
    assert listed[alone.address_number].need.reasons == ("elderly_living_alone",)
    assert listed[alone.address_number].care_flags_known
    assert not listed[head.address_number].care_flags_known
    support = {h.household_id: h for h in result.households}
    assert support[head.household_id].support_yen == 1_000_000
    assert not support[head.household_id].income_complete  # the wife's income was unknown
    assert support[alone.household_id].support_yen == 750_000
    assert result.total_support_yen == 1_750_000
    procedures = {(q["item"], q["procedure"]) for q in registry.queries}
    assert procedures == {
        ("care_flags", "disaster.support_list"),
        ("income", "disaster.victim_support"),
    }
    assert all(q["params"].get("year") == 2024 for q in registry.queries if q["item"] == "income")
    assert len(registry.queries) == 6 and len(tokens) == 4
    with pytest.raises(errors.NotFound):
        register.disasters.compile_support_list("D2025-000000", 0)
    with pytest.raises(errors.InvalidInput, match="street address"):
        register.disasters.declare_disaster(
            "x", "宮城県石巻市穀町14", "2025-05-25", 1, "key-dis-00007"
        )


def test_reissue_returns_the_new_number_and_tells_the_portal(
    register: UseCases, registry: IssuingRegistry, db: Database
) -> None:
    a = register.residents.register_resident(form(), "", "", "key-reissue-1")
    new = register.reissue.reissue_number(
        a.address_number, "申請書の紛失による漏えい", "key-reissue-2"
    )
    assert new != a.my_number
    assert (
        register.reissue.reissue_number(
            a.address_number, "申請書の紛失による漏えい", "key-reissue-2"
        )
        == new
    )
    with db.transaction() as session:
        events = session.scalars(select(OutboxEvent)).all()
        assert [(e.event_type, e.procedure) for e in events] == [
            ("number_reissued", "municipality.number_reissue")
        ]
        assert new not in events[0].payload
    with pytest.raises(errors.InvalidInput):
        register.reissue.reissue_number(a.address_number, "", "key-reissue-3")


def test_move_out_application_is_recorded_once(register: UseCases, db: Database) -> None:
    a = register.residents.register_resident(form(), "", "", "key-app-00001")
    with db.transaction() as session:
        token = session.get(Resident, a.address_number).token  # type: ignore[union-attr]
    event = DeliveredEvent(
        token,
        "application.move_out",
        "evt-1",
        "portal",
        {"destination_address": "東京都千代田区千代田1-1", "effective_date": "2025-06-20"},
    )
    with db.transaction() as session:
        register.provider.on_move_out_application(session, event)
    assert count(db, MoveOutNotice) == 1
    assert register.residents.get_resident(a.address_number).pending_move_out_notices == 1


def test_enrol_a_resident_moving_in_with_a_number(
    register: UseCases, registry: IssuingRegistry, db: Database
) -> None:
    old = BasicFacts.parse("田中 美咲", "1990-08-08", "female", "東京都千代田区千代田1-1")
    number, token = registry.register(old, "elsewhere-1")
    moved_in = form(
        name="田中 美咲", name_kana="タナカ ミサキ", birth_date="1990-08-08", sex="female"
    )
    with pytest.raises(errors.NotFound):  # the registry still holds the previous address
        register.residents.enrol_resident(number, moved_in, "", "", "key-enrol-001")
    assert count(db, Resident) == 0
    with pytest.raises(errors.InvalidInput, match="check digit"):
        bad = number[:-1] + str((int(number[-1]) + 1) % 10)
        register.residents.enrol_resident(
            bad, moved_in, "", "", "key-enrol-002", "東京都千代田区千代田1-1"
        )
    address_number, _ = register.residents.enrol_resident(
        number, moved_in, "", "", "key-enrol-003", "東京都千代田区千代田1-1"
    )
    assert registry.people[token]["facts"].address == "宮城県石巻市穀町14番1号"
    with db.transaction() as session:
        row = session.get(Resident, address_number)
        assert row is not None and row.token == token
        events = session.scalars(select(OutboxEvent)).all()
        assert [(e.event_type, json.loads(e.payload)["reason"]) for e in events] == [
            ("address_changed", "move_in")
        ]
    with pytest.raises(errors.AlreadyExists):
        register.residents.enrol_resident(number, moved_in, "", "", "key-enrol-004")
    assert count(db, Resident) == 1
