"""The exchange issue's flows end to end: every service a process, every call over mTLS.

1. pension exemption decided from tax's income and the municipality's household through the
   registry, the decision in the portal inbox, both queries in the verified exchange log;
2. moving one-stop: one move at the municipality reaches every agency under its own token,
   from the municipality's outbox, applied once, and the resident is notified;
3. health eligibility by token, and medical expenses flowing to tax's deduction;
4. disaster support: the list, the support amounts, and one log entry per lookup;
5. invariant 1 after all of them: no seeded or test-registered number in any database, log
   or exchange-log leaf.

The residents these flows act on are registered by the tests themselves through the
municipality (so each flow controls its facts); the session's seeded residents are scanned
too.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from mynumber.exchange.v1 import exchange_pb2 as xpb
from mynumber.healthinsurance.v1 import health_insurance_pb2 as hpb
from mynumber.municipality.v1 import municipality_pb2 as mpb
from mynumber.pension.v1 import pension_pb2 as ppb
from mynumber.registry.v1 import registry_pb2 as rpb
from mynumber.tax.v1 import tax_pb2 as tpb

from mynumber_core.calendar import fiscal_year_of, today_jst
from tests.e2e.clients import CREATED, Clients, Person, PortalSession, ServiceDb, key
from tests.e2e.conftest import RunningPlatform
from tests.e2e.scan import needles, scan, sqlite_and_logs
from tests.support.sealing import sealed_payload, sealed_payloads

pytestmark = pytest.mark.e2e
T = TypeVar("T")

TODAY = today_jst()
FISCAL_YEAR = fiscal_year_of(TODAY)
INCOME_YEAR = FISCAL_YEAR - 1
LAST_YEAR = TODAY.year - 1


@pytest.fixture(scope="module")
def clients(e2e_platform: RunningPlatform) -> Iterator[Clients]:
    """Stubs over the running platform's channels."""
    c = Clients.of(e2e_platform)
    yield c
    c.close()


@pytest.fixture(scope="module")
def gateway_running(e2e_platform: RunningPlatform) -> bool:
    """Whether the portal (gateway) process is part of this platform."""
    return "gateway" in e2e_platform.platform.procs


def eventually(check: Callable[[], T | None], *, timeout: float = 20.0, what: str) -> T:
    """Poll ``check`` until it returns something truthy (asynchronous delivery)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def _login(clients: Clients, person: Person, tmp: Path) -> PortalSession:
    card = clients.issue_card(person, tmp)
    return PortalSession(clients.http_port, card, "4321")


def _leaf(entry: rpb.LogEntry) -> dict[str, Any]:
    leaf: dict[str, Any] = json.loads(bytes(entry.leaf))
    return leaf


# ----------------------------------------------------------------------------------------
# 1. Pension exemption
# ----------------------------------------------------------------------------------------


def test_pension_exemption_is_decided_from_tax_income_and_lands_in_the_inbox(
    e2e_platform: RunningPlatform,
    clients: Clients,
    gateway_running: bool,
    tmp_path: Path,
) -> None:
    low = clients.register("岩手県盛岡市内丸10番1号", age=30)
    high = clients.register("岩手県盛岡市中央通一丁目2番3号", age=34)
    for person in (low, high):
        clients.enrol_pension(person)
        clients.register_taxpayer(person)
    clients.record_income(low, INCOME_YEAR, business=500_000)
    high_total = clients.record_income(high, INCOME_YEAR, salary=6_000_000).total_income_yen
    assert high_total > 1_680_000
    sessions = (
        {p.my_number: _login(clients, p, tmp_path) for p in (low, high)} if gateway_running else {}
    )

    def apply(person: Person, app_id: str) -> ppb.ExemptionDecision:
        # The form: the number, the four facts and the year; nothing fetched by hand.
        return clients.pension().ApplyExemption(
            ppb.ApplyExemptionRequest(
                identity=person.form(ppb), fiscal_year=FISCAL_YEAR, application_id=app_id
            )
        )

    low_app, high_app, amended_app = (f"E2E-{key()[:20]}" for _ in range(3))
    decision_low = apply(low, low_app)
    decision_high = apply(high, high_app)
    # The documented rule: full exemption up to (dependants + 1) × 350,000 + 320,000 yen.
    assert (decision_low.level, decision_low.income_yen, decision_low.dependents) == (
        ppb.EXEMPTION_LEVEL_FULL,
        500_000,
        0,
    )
    assert decision_low.income_year == INCOME_YEAR and not decision_low.rejected
    assert (decision_high.level, decision_high.income_yen) == (
        ppb.EXEMPTION_LEVEL_NONE,
        high_total,
    )
    # The tax office amends the income: a new application follows the tax office's record.
    clients.record_income(low, INCOME_YEAR, business=1_100_000)
    decision_amended = apply(low, amended_app)
    assert (decision_amended.level, decision_amended.income_yen) == (
        ppb.EXEMPTION_LEVEL_HALF,
        1_100_000,
    )
    # A retried application (same id) returns the recorded decision, no new queries.
    assert apply(low, low_app).level == ppb.EXEMPTION_LEVEL_FULL

    record = clients.pension().GetRecord(
        ppb.GetRecordRequest(basic_pension_number=low.ids["pension"])
    )
    assert {(e.application_id, e.level) for e in record.exemptions} == {
        (low_app, ppb.EXEMPTION_LEVEL_FULL),
        (amended_app, ppb.EXEMPTION_LEVEL_HALF),
    }

    # Each decision goes to the portal's inbox (pension's outbox → Hub.Publish → portal).
    title = f"Result of your national pension exemption application (FY{FISCAL_YEAR})"
    for person, expected in ((low, {low_app, amended_app}), (high, {high_app})):
        if gateway_running:
            session = sessions[person.my_number]
            want = len(expected)

            def arrived(s: PortalSession = session, n: int = want) -> list[dict[str, Any]] | None:
                found = [d for d in s.inbox() if d["title"] == title]
                return found if len(found) >= n else None

            docs = eventually(arrived, what="the exemption decisions in the portal inbox")
            assert len(docs) == len(expected)
            assert all(d["category"] == "pension.exemption_decision" for d in docs)
        # Either way the registry recorded the publication to the portal.
        _, entries = clients.verified_log(person)
        published = [
            e
            for e in entries
            if e.requester == "pension"
            and e.item == "inbox.document"
            and e.procedure == "pension.exemption"
        ]
        assert published and all(e.provider == "portal" for e in published)
        if gateway_running:
            assert all(e.outcome == rpb.OUTCOME_DELIVERED for e in published)

    # The verified exchange log holds the two queries per application, and only those.
    checkpoint, entries = clients.verified_log(low)
    queries = {
        (e.request_id, e.provider, e.item, e.outcome)
        for e in entries
        if e.requester == "pension"
        and e.procedure == "pension.exemption"
        and e.item != "inbox.document"
    }
    assert queries == {
        (f"{app}:{suffix}", provider, item, rpb.OUTCOME_PROVIDED)
        for app in (low_app, amended_app)
        for suffix, provider, item in (
            ("income", "tax", "income"),
            ("household", "municipality", "household"),
        )
    }
    for entry in entries:
        assert entry.index < checkpoint.size
        assert _leaf(entry)["procedure"] == entry.procedure  # the proven bytes say the same


# ----------------------------------------------------------------------------------------
# 2. Moving one-stop
# ----------------------------------------------------------------------------------------


def test_a_move_reaches_every_agency_once_under_its_own_token(
    e2e_platform: RunningPlatform,
    clients: Clients,
    gateway_running: bool,
    tmp_path: Path,
) -> None:
    person = clients.register("岩手県花巻市城内9番30号", age=41)
    clients.enrol_pension(person)
    clients.register_taxpayer(person)
    clients.enrol_health(person)
    session = _login(clients, person, tmp_path) if gateway_running else None
    receivers = {"pension", "tax", "health"} | ({"portal"} if gateway_running else set())

    new_address = "岩手県花巻市大通一丁目5番8号"
    moved = clients.municipality().RecordMove(
        mpb.RecordMoveRequest(
            address_number=person.address_number,
            new_address=new_address,
            effective_date=TODAY.isoformat(),
            idempotency_key=key(),
        )
    )
    assert list(moved.moved) == [person.address_number] and len(moved.event_ids) == 1
    event_id = moved.event_ids[0]
    person.address = new_address  # the registry's facts followed the move

    def deliveries() -> list[rpb.LogEntry] | None:
        _, entries = clients.verified_log(person)
        found = [
            e for e in entries if e.request_id == event_id and e.outcome == rpb.OUTCOME_DELIVERED
        ]
        return found if {e.provider for e in found} >= receivers else None

    delivered = eventually(deliveries, what="address_changed delivered to every agency")
    assert {e.provider for e in delivered} == receivers
    assert all(
        (e.requester, e.item, e.procedure)
        == ("municipality", "address_changed", "municipality.moving_onestop")
        for e in delivered
    )
    assert (
        clients.municipality()
        .GetResident(mpb.GetResidentRequest(address_number=person.address_number))
        .facts.address
        == new_address
    )

    # Delivered from the municipality's outbox (the row is marked delivered).
    municipality_db = ServiceDb(e2e_platform, "municipality")
    try:
        rows = municipality_db.rows("SELECT delivered_at FROM outbox WHERE id = :id", id=event_id)
        assert len(rows) == 1 and rows[0].delivered_at is not None
    finally:
        municipality_db.close()

    # Each agency's own record (under its own token) holds the new address.
    tokens = {d: clients.link(d, person) for d in ("pension", "tax", "health", "municipality")}
    assert len(set(tokens.values())) == 4
    tables = {
        "pension": ("enrolments", "enrolments.address"),
        "tax": ("taxpayers", "taxpayers.address"),
        "health": ("insured", "insured.address"),
    }

    def stored_addresses() -> dict[str, tuple[str, int | None]]:
        found = {}
        for service, (table, label) in tables.items():
            db = ServiceDb(e2e_platform, service)
            try:
                extra = ", address_version" if service == "health" else ""
                row = db.rows(
                    f"SELECT address{extra} FROM {table} WHERE token = :t",
                    t=tokens[service],
                )[0]
                version = row.address_version if service == "health" else None
                found[service] = (db.decrypt(row.address, label), version)
            finally:
                db.close()
        return found

    after_move = stored_addresses()
    assert {s: a for s, (a, _) in after_move.items()} == dict.fromkeys(tables, new_address)
    assert after_move["health"][1] == 1

    # Publishing the same event again delivers nothing new; a redelivery is not applied.
    entries_before = len(clients.verified_log(person)[1])
    clients.hub("municipality").Publish(
        rpb.PublishRequest(
            token=tokens["municipality"],
            event_type="address_changed",
            event_id=event_id,
            sealed_payloads=sealed_payloads(
                clients.var,
                [*tables, "portal"],
                publisher="municipality",
                event_type="address_changed",
                event_id=event_id,
                procedure="municipality.moving_onestop",
                payload={
                    "address": new_address,
                    "effective_date": TODAY.isoformat(),
                    "reason": "move",
                },
            ),
            procedure="municipality.moving_onestop",
        )
    )
    assert len(clients.verified_log(person)[1]) == entries_before
    for service in tables:
        answer = clients.provider(service).Deliver(
            xpb.DeliverRequest(
                token=tokens[service],
                event_type="address_changed",
                event_id=event_id,
                publisher="municipality",
                procedure="municipality.moving_onestop",
                sealed_payload=sealed_payload(
                    clients.var,
                    publisher="municipality",
                    receiver=service,
                    event_type="address_changed",
                    event_id=event_id,
                    procedure="municipality.moving_onestop",
                    payload={"address": "岩手県花巻市別の住所1番1号"},
                ),
            )
        )
        assert answer.applied is False, service
    assert stored_addresses() == after_move  # no second effect (health's version still 1)

    if session is not None:
        notices = eventually(
            lambda: [n for n in session.notices() if n["title"] == "Your address was changed"],
            what="the address-change notice on the portal",
        )
        assert len(notices) == 1


# ----------------------------------------------------------------------------------------
# 3. Health eligibility and medical expenses → tax deduction
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expenses", "deduction"),
    [([120_000, 180_000, 50_000], 250_000), ([1_500_000, 1_000_000], 2_000_000)],
    ids=["over-the-floor", "capped"],
)
def test_medical_expenses_flow_to_the_tax_deduction(
    e2e_platform: RunningPlatform, clients: Clients, expenses: list[int], deduction: int
) -> None:
    person = clients.register("岩手県一関市竹山町7番2号", age=52)
    token = clients.enrol_health(person)
    clients.register_taxpayer(person)
    clients.record_income(person, LAST_YEAR, business=4_000_000)  # 5 % is above 100,000

    eligibility = clients.health().CheckEligibility(
        hpb.CheckEligibilityRequest(
            token=token, on_date=TODAY.isoformat(), checked_by="一関みなみクリニック"
        )
    )
    assert eligibility.status == hpb.COVERAGE_STATUS_ACTIVE
    assert eligibility.plan == hpb.PLAN_TYPE_NATIONAL_HEALTH_INSURANCE
    assert eligibility.copay_percent == 30 and eligibility.token == token
    assert eligibility.check_id
    with pytest.raises(grpc.RpcError) as unknown:
        clients.health().CheckEligibility(hpb.CheckEligibilityRequest(token=token[::-1]))
    assert unknown.value.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)

    for month, amount in enumerate(expenses, start=3):
        clients.health().RecordMedicalExpense(
            hpb.RecordMedicalExpenseRequest(
                token=token,
                date=dt.date(LAST_YEAR, month, 10).isoformat(),
                provider="岩手県立磐井病院",
                amount_yen=amount,
                category=hpb.EXPENSE_CATEGORY_INPATIENT,
                idempotency_key=key(),
            )
        )
    # An expense in another year does not count towards LAST_YEAR.
    clients.health().RecordMedicalExpense(
        hpb.RecordMedicalExpenseRequest(
            token=token,
            date=dt.date(TODAY.year, 1, 5).isoformat(),
            provider="一関調剤薬局",
            amount_yen=9_990,
            category=hpb.EXPENSE_CATEGORY_PHARMACY,
            idempotency_key=key(),
        )
    )
    assessment = clients.tax().AssessYear(
        tpb.AssessYearRequest(reference_number=person.ids["tax"], year=LAST_YEAR)
    )
    assert assessment.medical_data_found
    assert assessment.medical_expenses_yen == sum(expenses)
    assert assessment.medical_deduction_yen == deduction == min(2_000_000, sum(expenses) - 100_000)

    _, entries = clients.verified_log(person)
    fetched = [
        e
        for e in entries
        if (e.requester, e.provider, e.item, e.procedure)
        == ("tax", "health", "medical_expenses", "tax.medical_deduction")
    ]
    assert [e.outcome for e in fetched] == [rpb.OUTCOME_PROVIDED]


# ----------------------------------------------------------------------------------------
# 4. Disaster support
# ----------------------------------------------------------------------------------------

DISASTER_AREA = "岩手県大船渡市"


def test_disaster_support_list_with_every_lookup_logged(
    e2e_platform: RunningPlatform, clients: Clients
) -> None:
    m = clients.municipality()
    # A: 80, alone (elderly living alone), low income, insured and taxed.
    alone = clients.register("岩手県大船渡市盛町字東町11番1号", age=80)
    # B: householder 50 and their child 22; high household income; child not at the insurer.
    head = clients.register("岩手県大船渡市大船渡町字茶屋前7番6号", age=50)
    child = clients.register(
        "岩手県大船渡市大船渡町字茶屋前7番6号", age=22, household_id=head.household_id
    )
    # C: 72, 要介護3 at the municipality, no tax record (income unknown).
    cared = clients.register("岩手県大船渡市末崎町字平林3番地", age=72)
    # D: 46 on dialysis (the insurer's care flag).
    dialysis = clients.register("岩手県大船渡市猪川町字前田5番2号", age=46)
    people = [alone, head, child, cared, dialysis]

    for p in (alone, head, cared, dialysis):
        clients.enrol_health(p)
    clients.health().SetCareFlags(
        hpb.SetCareFlagsRequest(
            token=dialysis.ids["health"],
            chronic_care=[hpb.CHRONIC_CARE_DIALYSIS],
            needs_evacuation_assistance=True,
        )
    )
    incomes = {alone: 1_200_000, head: 6_500_000, child: 2_000_000, dialysis: 3_000_000}
    for p, amount in incomes.items():
        clients.register_taxpayer(p)
        clients.record_income(p, LAST_YEAR, business=amount)
    certified = TODAY - dt.timedelta(days=30)
    m.CertifyLongTermCare(
        mpb.CertifyLongTermCareRequest(
            address_number=cared.address_number,
            level=mpb.CARE_LEVEL_CARE_3,
            certified_on=certified.isoformat(),
            valid_from=certified.isoformat(),
            valid_until=(certified + dt.timedelta(days=364)).isoformat(),
            idempotency_key=key(),
        )
    )
    disaster = m.DeclareDisaster(
        mpb.DeclareDisasterRequest(
            name="令和8年三陸沖地震",
            area=DISASTER_AREA,
            declared_on=TODAY.isoformat(),
            assumed_damage=mpb.DAMAGE_LEVEL_TOTAL_COLLAPSE,
            idempotency_key=key(),
        )
    )
    support = m.CompileSupportList(mpb.CompileSupportListRequest(disaster_id=disaster.disaster_id))
    assert support.income_year == TODAY.year - 1

    listed = {e.address_number: e for e in support.residents}
    assert set(listed) == {p.address_number for p in people}
    assert "elderly_living_alone" in listed[alone.address_number].reasons
    assert listed[cared.address_number].care_level == "要介護3"
    assert "ltc:要介護3" in listed[cared.address_number].reasons
    assert "chronic_care:dialysis" in listed[dialysis.address_number].care_flags
    assert listed[dialysis.address_number].needs_evacuation_support
    assert not listed[child.address_number].care_flags_known  # the insurer has no record
    assert all(listed[p.address_number].care_flags_known for p in (alone, head, dialysis))
    assert not listed[head.address_number].needs_evacuation_support

    households = {h.household_id: h for h in support.households}
    # 全壊 base ¥1,000,000; a one-person household ×3/4; income test on the household's total.
    expected = {
        alone.household_id: (1, 1_200_000, True, 750_000),
        head.household_id: (2, 8_500_000, True, 0),  # above ¥8,000,000: none
        cared.household_id: (1, 0, False, 750_000),  # provisional: income unknown
        dialysis.household_id: (1, 3_000_000, True, 750_000),
    }
    assert {
        hid: (h.size, h.household_income_yen, h.income_complete, h.support_yen)
        for hid, h in households.items()
    } == expected
    assert support.total_support_yen == sum(v[3] for v in expected.values())

    # Every lookup (care flags and income, for each listed resident) is in that resident's
    # verified exchange log under a disaster procedure — even the ones that found nothing.
    lookups = 0
    for p in people:
        _, entries = clients.verified_log(p)
        disaster_entries = [e for e in entries if e.procedure.startswith("disaster.")]
        assert sorted((e.procedure, e.provider, e.item) for e in disaster_entries) == [
            ("disaster.support_list", "health", "care_flags"),
            ("disaster.victim_support", "tax", "income"),
        ]
        assert all(e.requester == "municipality" for e in disaster_entries)
        lookups += len(disaster_entries)
        failed = {e.provider for e in disaster_entries if e.outcome == rpb.OUTCOME_FAILED}
        assert failed == {"health"} if p is child else failed == ({"tax"} if p is cared else set())
    assert lookups == 2 * len(support.residents)


# ----------------------------------------------------------------------------------------
# 5. Invariant 1 after every flow
# ----------------------------------------------------------------------------------------


def test_no_number_anywhere_after_the_flows(e2e_platform: RunningPlatform) -> None:
    """Defined last so it runs after the flows above (it covers whoever they registered)."""
    rp = e2e_platform
    blobs = sqlite_and_logs(rp.var)
    registry = ServiceDb(rp, "registry")
    try:
        leaves = [bytes(r.leaf) for r in registry.rows("SELECT leaf FROM log_entries")]
    finally:
        registry.close()
    # The flows above exchanged data for every resident they registered on this platform; other
    # e2e modules add to CREATED from platforms of their own, so the count is a floor, not a ratio.
    assert len(leaves) >= 20, (
        f"only {len(leaves)} exchange log entries: the flows above did not run"
    )
    blobs["exchange log leaves"] = b"\n".join(leaves)
    assert any(p.endswith(".log") for p in blobs) and any(p.endswith(".db") for p in blobs)
    what = needles(rp.residents, names=False)
    what.update(
        {f"number of test resident {i}": p.my_number.encode() for i, p in enumerate(CREATED)}
    )
    assert all(len(n) == 12 for n in what.values())
    assert scan(blobs, what) == []
