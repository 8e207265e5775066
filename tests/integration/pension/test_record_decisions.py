"""The resident decides on a lost pension record (issue 13 item 3), end to end through real
servers on SQLite and PostgreSQL: the registry, the municipality, pension and the portal.

An orphan record written by a resident (kanji name and era birth date as on the form, a kana
spelling of the time) is reconciled by the operator; the resident gets a notice and an inbox
document naming only the period, the employer and the months; they confirm it with a card
step-up and pension merges it (contribution months and the benefit estimate recomputed on
/me), or reject another and it goes back to the pool leaving no trace and is not proposed to
them again. Another resident gets 404 for it; bad input is a clear 4xx and changes nothing.
A resident who never linked pension (a "notify" candidate) gets the notice through the
registry and decides the same way. Every crossing is on the resident's log. Pension's
database and the messages it received (observed as it receives them) hold no candidate's
name, birth date or address.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from mynumber.pension.v1 import pension_pb2 as ppb
from mynumber.pension.v1 import pension_pb2_grpc as pgrpc
from sqlalchemy import select

from mynumber_core.db import Database
from mynumber_core.japanese import format_era, prefecture_of
from mynumber_core.registry_client import RegistryClient
from mynumber_core.sealing import DomainKeys
from services.pension.models import Base, OrphanCandidate, OrphanRecord
from services.pension.reconcile_port import GrpcReconcilePort
from services.pension.usecases.orphans import OrphanInput, OrphanPool
from tests.integration.gateway.portal_env import CardHolder, PortalEnv
from tests.support.databases import database_factory, postgres_available

T = TypeVar("T")
PROCEDURE = "pension.record_reconciliation"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PortalEnv]:
    """The portal with the registry, the municipality and pension, on one backend."""
    if request.param == "postgres" and not postgres_available():
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is not reachable; .ci/run starts it")
    var = tmp_path_factory.mktemp(f"records-{request.param}")
    with (
        database_factory(request.param, var) as databases,
        PortalEnv(var, databases, ("municipality", "pension")).running() as running,
    ):
        yield running


@pytest.fixture(scope="module")
def pension_db(env: PortalEnv) -> Iterator[Database]:
    """Pension's own database (the running service bound the cipher in this process)."""
    db = Database.from_url(env.stack.settings_for("pension").effective_database_url())
    yield db
    db.dispose()


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Everything pension receives about candidates, as it receives it: the registry's
    Reconcile answers, DeliverCandidateNotice's answers, and every sealed message it opens
    (the portal's decisions among them). Observed, not replaced."""
    seen: list[Any] = []
    reconcile_ = GrpcReconcilePort.reconcile
    deliver_ = RegistryClient.deliver_candidate_notice
    open_ = DomainKeys.open_json

    def reconcile_spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(answer := reconcile_(self, *args, **kwargs))
        return answer

    def deliver_spy(self: Any, *args: Any, **kwargs: Any) -> str:
        seen.append(token := deliver_(self, *args, **kwargs))
        return token

    def open_spy(self: DomainKeys, *args: Any, **kwargs: Any) -> dict[str, Any]:
        opened = open_(self, *args, **kwargs)
        if self.domain == "pension":
            seen.append(opened)
        return opened

    monkeypatch.setattr(GrpcReconcilePort, "reconcile", reconcile_spy)
    monkeypatch.setattr(RegistryClient, "deliver_candidate_notice", deliver_spy)
    monkeypatch.setattr(DomainKeys, "open_json", open_spy)
    return seen


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30.0) -> T:
    """Poll until ``probe`` answers something truthy (the outbox relays run on threads)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def written_by(
    resident: CardHolder, record_id: str, start: str, end: str, months: int
) -> OrphanInput:
    """A record as the resident wrote it then: an old kana spelling, the kanji name, the
    birth date in its era, their sex and prefecture, at a small firm."""
    demo = resident.demo
    return OrphanInput(
        record_id,
        demo.name_kana.replace("オ", "ヲ").replace("ー", ""),
        demo.name,
        format_era(dt.date.fromisoformat(demo.birth_date)),
        demo.sex,
        prefecture_of(demo.address),
        f"有限会社{record_id[-3:]}商店",
        start,
        end,
        months,
    )


def reconcile(env: PortalEnv) -> list[Any]:
    """What the operator runs (``mynumber admin reconcile``)."""
    stub = pgrpc.OrphanRecordsStub(env.stack.channel("pension", as_identity="operator"))
    return list(stub.Reconcile(ppb.ReconcileOrphansRequest(batch_size=50)))


def records_of(client: httpx.Client) -> dict[str, dict[str, Any]]:
    response = client.get("/api/pension/records")
    assert response.status_code == 200, response.text
    return {r["record_id"]: r for r in response.json()["records"]}


def pension_section(client: httpx.Client) -> dict[str, Any]:
    sections = {s["item"]: s for s in client.get("/api/me").json()["sections"]}
    section = sections["pension_record"]
    assert section["status"] == "ok", section
    return dict(section["data"])


def decide(
    env: PortalEnv, client: httpx.Client, resident: CardHolder, record_id: str, decision: str
) -> httpx.Response:
    fields = {"record_id": record_id, "decision": decision}
    proof = env.step_up(client, resident, "pension_record_decision", fields)
    return client.post("/api/pension/records/decision", json={**fields, "step_up": proof})


def documents(client: httpx.Client, path: str, category: str) -> list[dict[str, Any]]:
    return [d for d in client.get(path).json()["documents"] if d["category"] == category]


def test_confirm_merges_reject_leaves_no_trace_and_others_get_404(
    env: PortalEnv, pension_db: Database, received: list[Any]
) -> None:
    alice = env.make_resident(enrol=("pension",))
    bob = env.make_resident(enrol=("pension",))
    carol = env.make_resident()  # never linked pension: a "notify the resident" candidate
    # They use the portal (the hub delivers agency letters to residents who linked it).
    a, b, c = env.login(alice), env.login(bob), env.login(carol)
    before = pension_section(a)
    assert records_of(c) == {}  # pension does not know Carol at all yet: nothing, not an error
    assert c.get("/pension/records").status_code == 200
    tag = f"{time.time_ns() % 10**9:09d}"
    mine, not_mine, carols = f"RA{tag}", f"RB{tag}", f"RC{tag}"
    Base.metadata.create_all(pension_db.engine)  # no-op: the service migrated it
    OrphanPool(pension_db).add(
        [
            written_by(alice, mine, "1988-04", "1991-03", 36),
            written_by(alice, not_mine, "1993-10", "1994-09", 12),
            written_by(carol, carols, "1990-04", "1992-03", 24),
        ]
    )
    final = reconcile(env)[-1]
    assert final.finished

    # The notice and the inbox document: period, employer, months; nothing else of the record.
    wait_for(
        "alice's two notices",
        lambda: len(documents(a, "/api/notices", "pension.record_match")) == 2,
    )
    notice = documents(a, "/api/notices", "pension.record_match")
    wait_for(
        "alice's two inbox items",
        lambda: len(documents(a, "/api/inbox", "pension.record_match")) == 2,
    )
    bodies = " ".join(n["body"] + n["title"] for n in notice)
    assert (
        mine in bodies and "1988-04" in bodies and "36" in bodies and f"{mine[-3:]}商店" in bodies
    )
    for fact in (alice.demo.name, alice.demo.birth_date, alice.demo.name_kana, "昭和", "平成"):
        assert fact not in bodies
    wait_for("alice's records", lambda: mine in records_of(a))
    shown = records_of(a)
    assert set(shown) == {mine, not_mine}
    assert shown[mine] == {
        "record_id": mine,
        "period_start": "1988-04",
        "period_end": "1991-03",
        "employer": f"有限会社{mine[-3:]}商店",
        "months": 36,
        "status": "notified",
    }

    # Bob sees none of them and gets 404 for Alice's record (as for one that does not exist).
    assert records_of(b) == {}
    step = env.step_up(
        b, bob, "pension_record_decision", {"record_id": mine, "decision": "confirm"}
    )
    refused = b.post(
        "/api/pension/records/decision",
        json={"record_id": mine, "decision": "confirm", "step_up": step},
    )
    assert refused.status_code == 404, refused.text
    assert "waiting for your decision" in refused.json()["error"]["message"]
    nobody = decide(env, b, bob, "NO-SUCH-RECORD", "confirm")
    assert nobody.status_code == 404, nobody.text

    # Bad input: a clear 4xx naming the field, and nothing changes.
    for body in (
        {"record_id": mine, "decision": "maybe"},
        {"record_id": "../etc", "decision": "confirm"},
        {"record_id": "", "decision": "reject"},
        {"decision": "confirm"},
    ):
        bad = a.post("/api/pension/records/decision", json=body)
        assert bad.status_code == 400, (body, bad.text)
        message = bad.json()["error"]["message"]
        assert "body.record_id" in message or "body.decision" in message, message
    unsigned = a.post(
        "/api/pension/records/decision", json={"record_id": mine, "decision": "confirm"}
    )
    assert unsigned.status_code == 401, unsigned.text
    assert "card" in unsigned.json()["error"]["message"]
    wrong = env.step_up(
        a, alice, "pension_record_decision", {"record_id": mine, "decision": "reject"}
    )
    mismatch = a.post(
        "/api/pension/records/decision",
        json={"record_id": mine, "decision": "confirm", "step_up": wrong},
    )
    assert mismatch.status_code == 403, mismatch.text
    assert records_of(a)[mine]["status"] == "notified"

    # Confirm: merged, months and the estimate recomputed on /me, the decision in the inbox.
    done = decide(env, a, alice, mine, "confirm")
    assert done.status_code == 202, done.text
    assert done.json()["status"] == "decision_sent"
    wait_for(
        "the merged months",
        lambda: pension_section(a)["contribution_months"] == before["contribution_months"] + 36,
    )
    after = pension_section(a)
    assert [m["record_id"] for m in after["merged_records"]] == [mine]
    assert after["estimated_annual_amount"] > before["estimated_annual_amount"]
    assert (
        after["estimated_annual_amount"] == 831_700 * min(after["contribution_months"], 480) // 480
    )
    decision_doc = wait_for(
        "the decision letter", lambda: documents(a, "/api/inbox", "pension.record_decision")
    )
    assert "36" in decision_doc[0]["body"]
    assert records_of(a)[mine]["status"] == "confirmed"
    again = decide(env, a, alice, mine, "confirm")
    assert again.status_code == 404, again.text

    # Reject: recorded, back to the pool, no trace in Alice's record, not proposed again.
    months_now = after["contribution_months"]
    rejected = decide(env, a, alice, not_mine, "reject")
    assert rejected.status_code == 202, rejected.text
    wait_for("the rejection", lambda: records_of(a)[not_mine]["status"] == "rejected")
    with pension_db.transaction() as session:
        row = session.get(OrphanRecord, not_mine)
        assert row is not None and row.status == "pool"
        assert row.merged_token is None and row.merged_into is None
    record = pension_section(a)
    assert record["contribution_months"] == months_now
    assert not_mine not in str(record)
    reconcile(env)
    with pension_db.transaction() as session:
        again_candidates = session.scalars(
            select(OrphanCandidate).where(OrphanCandidate.record_id == not_mine)
        ).all()
        assert [c.status for c in again_candidates] == ["rejected"]
    assert len(documents(a, "/api/notices", "pension.record_match")) == len(notice)

    # Carol had not linked pension: the registry delivered her notice; she decides the same way.
    wait_for("carol's notice", lambda: documents(c, "/api/notices", "pension.record_match"))
    assert records_of(c)[carols]["status"] == "notified"
    assert decide(env, c, carol, carols, "confirm").status_code == 202
    wait_for("carol's merge", lambda: records_of(c)[carols]["status"] == "confirmed")
    with pension_db.transaction() as session:
        merged = session.get(OrphanRecord, carols)
        assert merged is not None and merged.status == "merged" and merged.merged_into is None
        candidate = session.scalars(
            select(OrphanCandidate).where(OrphanCandidate.record_id == carols)
        ).one()
        assert merged.merged_token == candidate.candidate_ref
        assert not candidate.candidate_ref.startswith("notify:")

    # Every crossing is on the resident's log.
    def reconciliation_entries(client: httpx.Client) -> set[tuple[str, str, str]]:
        entries = client.get("/api/log", params={"include_pending": "true"}).json()["entries"]
        return {
            (e["requester"], e["provider"], e["item"])
            for e in entries
            if e["procedure"] == PROCEDURE
        }

    expected = {
        ("pension", "municipality", "basic_facts"),  # the registry compared the record
        ("pension", "portal", "notice"),
        ("pension", "portal", "inbox.document"),
        ("portal", "pension", "candidate_records"),
        ("portal", "pension", "pension_record.decision"),
    }
    wait_for("alice's log", lambda: reconciliation_entries(a) >= expected)
    wait_for("carol's log", lambda: reconciliation_entries(c) >= expected)
    assert reconciliation_entries(b) <= {("portal", "pension", "candidate_records")}

    # Privacy: Carol never enrolled, so pension holds nothing of her facts beyond the record
    # as written (its own): no name, birth date or address came with the candidate or her
    # decision. (Alice and Bob enrolled at a counter: pension keeps their letter address.)
    with pension_db.transaction() as session:
        dump = repr(
            [
                [
                    getattr(row, col.key)
                    for col in table.columns
                    if not (
                        table.name == "orphan_records"
                        and col.key in ("name_kana", "name_kanji", "birth_date_written", "sex")
                    )
                ]
                for table in Base.metadata.sorted_tables
                for row in session.execute(select(table))
            ]
        )
    messages = repr(received)
    assert any(isinstance(m, str) for m in received)  # the token DeliverCandidateNotice answered
    assert any(isinstance(m, dict) and m.get("decision") == "confirm" for m in received)
    for fact in (
        carol.demo.name,
        carol.demo.name_kana,
        carol.demo.birth_date,
        carol.demo.address,
        format_era(dt.date.fromisoformat(carol.demo.birth_date)),
    ):
        assert fact not in dump
        assert fact not in messages
    for person in (alice, bob):  # nothing about a candidate arrives with the messages either
        for fact in (person.demo.name, person.demo.birth_date, person.demo.address):
            assert fact not in messages
