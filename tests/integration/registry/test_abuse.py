"""Abuse resistance at the registry, on SQLite and PostgreSQL: Link guessing is rate limited
per number and per domain (shared by replicas through the database), a query burst raises
exactly one alert, and denied calls are recorded with metadata but no personal data."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from mynumber_cli.__main__ import cli
from mynumber_core.channels import Channels
from mynumber_core.mynumber import check_digit
from mynumber_core.server import running
from mynumber_core.tls import TlsMaterial
from mynumber_dev.keys import tls_dir
from services.registry import claim_pins
from services.registry.models import DomainLink
from services.registry.wiring import build_app
from tests.support.stack import DatabaseFactory, Stack

GUARD_WINDOW = 3.0


def _facts(i: int) -> pb.BasicFacts:
    return pb.BasicFacts(
        name=f"山田 花子{i}",
        birth_date=f"198{i % 10}-0{1 + i % 9}-2{i % 8}",
        sex=pb.SEX_FEMALE if i % 2 else pb.SEX_MALE,
        address=f"大阪府大阪市北区梅田{1 + i % 3}-{10 + i}",
    )


def _wrong(facts: pb.BasicFacts, i: int) -> pb.BasicFacts:
    guess = pb.BasicFacts()
    guess.CopyFrom(facts)
    guess.birth_date = f"19{60 + i}-01-01"
    return guess


def _unissued(i: int) -> str:
    body = f"{900000000000 + i * 7919:011d}"[-11:]
    return body + str(check_digit(body))


def _code(call: Callable[[], Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


@pytest.fixture
def stack(tmp_path: Path, backend: DatabaseFactory) -> Iterator[Stack]:
    overrides = {
        "registry": {
            "link_failures_per_number": 3,
            "link_number_window_seconds": GUARD_WINDOW,
            "link_failures_per_domain": 6,
            "link_domain_window_seconds": 60.0,
            "query_rate_bucket_seconds": 600,
            "query_rate_baseline_buckets": 12,
            "query_rate_factor": 5.0,
            "query_rate_floor": 20,
        }
    }
    with Stack(tmp_path, ["registry"], database=backend, overrides=overrides) as running_stack:
        yield running_stack


@pytest.fixture
def slow_window(tmp_path: Path, backend: DatabaseFactory) -> Iterator[Stack]:
    """The race tests' registry: windows far longer than any test run, however loaded the
    machine is, so a window that restarts mid-burst cannot let a fourth attempt through."""
    overrides = {
        "registry": {
            "link_failures_per_number": 3,
            "link_number_window_seconds": 3600.0,
            "link_failures_per_domain": 1000,
            "link_domain_window_seconds": 3600.0,
        }
    }
    with Stack(tmp_path, ["registry"], database=backend, overrides=overrides) as running_stack:
        yield running_stack


def _link_error(stub: pb_grpc.RegistryStub, number: str, facts: pb.BasicFacts) -> grpc.RpcError:
    return _code(lambda: stub.Link(pb.LinkRequest(my_number=number, facts=facts)))


def _stub(stack: Stack, identity: str) -> pb_grpc.RegistryStub:
    return pb_grpc.RegistryStub(stack.channel("registry", as_identity=identity))


def _register(stack: Stack, i: int) -> tuple[str, pb.BasicFacts]:
    facts = _facts(i)
    issued = _stub(stack, "municipality").RegisterResident(
        pb.RegisterResidentRequest(facts=facts, idempotency_key=uuid.uuid4().hex)
    )
    return issued.my_number, facts


def _rows(stack: Stack, table: str) -> list[dict[str, Any]]:
    engine = create_engine(stack.database("registry"), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(f"SELECT * FROM {table}")).mappings()]
    finally:
        engine.dispose()


def _assert_no_personal_data(stack: Stack, secrets: list[str]) -> None:
    for table in ("security_events", "link_failures", "query_rate_buckets", "attempt_counters"):
        dump = json.dumps(_rows(stack, table), default=str, ensure_ascii=False)
        for secret in secrets:
            assert secret not in dump, f"{table} holds personal data"


def test_guessing_a_number_is_refused_until_the_window_passes(stack: Stack) -> None:
    number, facts = _register(stack, 1)
    other_number, other_facts = _register(stack, 2)
    pension, tax = _stub(stack, "pension"), _stub(stack, "tax")

    for i in range(3):
        error = _link_error(pension, number, _wrong(facts, i))
        assert error.code() == grpc.StatusCode.NOT_FOUND
    guessed = _code(lambda: pension.Link(pb.LinkRequest(my_number=number, facts=_wrong(facts, 9))))
    assert guessed.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "retry in" in guessed.details() and "this number" in guessed.details()
    assert number not in guessed.details()

    # The right facts are refused too for the guessing agency while the number is suspended:
    # otherwise the limit would tell the guesser when they hit.
    refused = _link_error(pension, number, facts)
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # The lockout is per (agency, number): the other agencies still link the resident, so
    # one agency's guessing is no denial of service for everyone (issue 15).
    assert tax.Link(pb.LinkRequest(my_number=number, facts=facts)).token
    # Another number is not affected, and successes do not count.
    for _ in range(4):
        assert pension.Link(pb.LinkRequest(my_number=other_number, facts=other_facts)).token

    failed = [e for e in _rows(stack, "security_events") if e["kind"] == "link_failed"]
    limited = [e for e in _rows(stack, "security_events") if e["kind"] == "rate_limited"]
    assert len(failed) == 3 and len(limited) == 2
    indexes = {e["number_index"] for e in failed + limited}
    assert len(indexes) == 1 and next(iter(indexes)).startswith("blind-")
    assert {e["method"] for e in failed} == {"/mynumber.registry.v1.Registry/Link"}
    assert {e["caller"] for e in limited} == {"pension"}
    assert {e["status"] for e in failed} == {"NOT_FOUND"}
    assert all(e["request_id"] not in ("", "-") for e in failed + limited)
    _assert_no_personal_data(
        stack, [number, other_number, facts.name, facts.address, other_facts.name]
    )

    time.sleep(GUARD_WINDOW + 0.5)
    assert pension.Link(pb.LinkRequest(my_number=number, facts=facts)).token


def test_domain_limit_leaves_other_domains_alone(stack: Stack) -> None:
    number, facts = _register(stack, 3)
    pension, tax = _stub(stack, "pension"), _stub(stack, "tax")
    # Six failures on six different numbers: no number reaches its own limit.
    for i in range(6):
        error = _link_error(pension, _unissued(i), facts)
        assert error.code() == grpc.StatusCode.NOT_FOUND
    blocked = _code(lambda: pension.Link(pb.LinkRequest(my_number=number, facts=facts)))
    assert blocked.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "from pension" in blocked.details() and "retry after" in blocked.details()

    assert tax.Link(pb.LinkRequest(my_number=number, facts=facts)).token
    wrong = _code(lambda: tax.Link(pb.LinkRequest(my_number=_unissued(99), facts=facts)))
    assert wrong.code() == grpc.StatusCode.NOT_FOUND


def test_replicas_share_the_counters(stack: Stack, tmp_path: Path) -> None:
    number, facts = _register(stack, 4)
    second = build_app(stack.settings_for("registry"))
    with running(second, TlsMaterial(tls_dir(tmp_path, "registry"))) as replica:
        channels = Channels(
            TlsMaterial(tls_dir(tmp_path, "pension")), {"registry": f"127.0.0.1:{replica.port}"}
        )
        try:
            first, other = (
                _stub(stack, "pension"),
                pb_grpc.RegistryStub(channels.channel("registry")),
            )
            for i, stub in enumerate((first, other, first)):
                error = _link_error(stub, number, _wrong(facts, i))
                assert error.code() == grpc.StatusCode.NOT_FOUND
            refused = _code(lambda: other.Link(pb.LinkRequest(my_number=number, facts=facts)))
            assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        finally:
            channels.close()


def _alerts() -> float:
    value = REGISTRY.get_sample_value(
        "mynumber_security_alerts_total", {"kind": "query_rate_anomaly"}
    )
    return value or 0.0


def _query(stub: pb_grpc.HubStub, i: int) -> None:
    with pytest.raises(grpc.RpcError):  # an unknown token: still a query to count
        stub.Query(
            pb.QueryRequest(
                token="tok_unknown",
                provider="tax",
                item="income",
                procedure="pension.exemption",
                request_id=f"burst-{i}-{uuid.uuid4().hex[:8]}",
            )
        )


def test_a_query_burst_raises_exactly_one_alert(stack: Stack) -> None:
    # Keep the burst inside one 600 s bucket.
    if 600 - time.time() % 600 < 20:
        time.sleep(600 - time.time() % 600 + 0.5)
    before = _alerts()
    pension = pb_grpc.HubStub(stack.channel("registry", as_identity="pension"))
    tax = pb_grpc.HubStub(stack.channel("registry", as_identity="tax"))

    # tax usually queries about 30 per bucket: 40 now is normal for it.
    bucket = int(time.time()) // 600 * 600
    engine = create_engine(stack.database("registry"), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            for k in range(1, 13):
                conn.execute(
                    text(
                        "INSERT INTO query_rate_buckets (agency, bucket_start, count) "
                        "VALUES ('tax', :at, 30)"
                    ),
                    {"at": dt.datetime.fromtimestamp(bucket - 600 * k, dt.UTC)},
                )
    finally:
        engine.dispose()

    def burst(t: int) -> None:
        for i in range(10):
            _query(pension, t * 10 + i)

    threads = [threading.Thread(target=burst, args=(t,)) for t in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(40):
        _query(tax, 1000 + i)

    alerts = [e for e in _rows(stack, "security_events") if e["kind"] == "query_rate_anomaly"]
    assert len(alerts) == 1
    assert alerts[0]["caller"] == "pension"
    detail = json.loads(alerts[0]["detail"])
    assert detail["agency"] == "pension" and detail["count"] >= 20
    assert detail["trailing_median"] == 0
    assert _alerts() == before + 1
    counts = {
        r["agency"]: r["count"]
        for r in _rows(stack, "query_rate_buckets")
        if r["agency"] == "pension"
    }
    assert counts == {"pension": 50}

    # The operator lists it; nobody else may.
    security = pb_grpc.SecurityStub(stack.channel("registry", as_identity="operator"))
    listed = security.ListSecurityEvents(
        pb.ListSecurityEventsRequest(kind="query_rate_anomaly", limit=10)
    )
    assert [e.caller for e in listed.events] == ["pension"]
    assert listed.events[0].detail["count"] >= 20
    other = pb_grpc.SecurityStub(stack.channel("registry", as_identity="tax"))
    denied = _code(lambda: other.ListSecurityEvents(pb.ListSecurityEventsRequest()))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED


def test_denied_calls_are_recorded_without_personal_data(stack: Stack) -> None:
    number, facts = _register(stack, 5)
    pension = _stub(stack, "pension")
    token = pension.Link(pb.LinkRequest(my_number=number, facts=facts)).token

    # Refused by the access table (before any handler runs).
    error = _code(
        lambda: pension.RegisterResident(
            pb.RegisterResidentRequest(facts=facts, idempotency_key="k-1"),
            metadata=[("x-request-id", "req-denied-table")],
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    # Refused by the access-rights rules (a use case decides).
    hub = pb_grpc.HubStub(stack.channel("registry", as_identity="pension"))
    error = _code(
        lambda: hub.Query(
            pb.QueryRequest(
                token=token,
                provider="health",
                item="medical_expenses",
                procedure="pension.exemption",
                request_id="q-denied-1",
            ),
            metadata=[("x-request-id", "req-denied-rule")],
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED

    events = {e["request_id"]: e for e in _rows(stack, "security_events")}
    table = events["req-denied-table"]
    assert table["kind"] == "permission_denied" and table["caller"] == "pension"
    assert table["method"] == "/mynumber.registry.v1.Registry/RegisterResident"
    assert table["status"] == "PERMISSION_DENIED" and table["at"] is not None
    rule = events["req-denied-rule"]
    assert rule["kind"] == "permission_denied" and rule["caller"] == "pension"
    assert rule["method"] == "/mynumber.registry.v1.Hub/Query"
    assert rule["number_index"] is None
    _assert_no_personal_data(stack, [number, facts.name, facts.address, facts.birth_date, token])

    listed = pb_grpc.SecurityStub(stack.channel("registry", as_identity="operator"))
    response = listed.ListSecurityEvents(
        pb.ListSecurityEventsRequest(kind="permission_denied", caller="pension")
    )
    assert {e.request_id for e in response.events} >= {"req-denied-table", "req-denied-rule"}
    bad = _code(lambda: listed.ListSecurityEvents(pb.ListSecurityEventsRequest(limit=-1)))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT

    # The operator's CLI shows the same events.
    (stack.var / "endpoints.json").write_text(json.dumps(stack.endpoints))
    shown = CliRunner().invoke(
        cli, ["--var", str(stack.var), "admin", "security-events", "--kind", "permission_denied"]
    )
    assert shown.exit_code == 0, shown.output
    assert "req-denied-table" in shown.output and "RegisterResident" in shown.output
    assert number not in shown.output and facts.name not in shown.output


def _parallel(n: int, call: Callable[[int], Any]) -> list[grpc.StatusCode]:
    """Run ``call(i)`` for i < n all at once (a barrier releases them together)."""
    barrier = threading.Barrier(n)
    codes: list[grpc.StatusCode] = [grpc.StatusCode.UNKNOWN] * n

    def one(i: int) -> None:
        barrier.wait()
        try:
            call(i)
            codes[i] = grpc.StatusCode.OK
        except grpc.RpcError as exc:
            codes[i] = exc.code()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def test_fifty_parallel_link_guesses_evaluate_exactly_the_limit(slow_window: Stack) -> None:
    stack = slow_window
    number, facts = _register(stack, 6)
    pension = _stub(stack, "pension")
    codes = _parallel(
        50, lambda i: pension.Link(pb.LinkRequest(my_number=number, facts=_wrong(facts, i % 30)))
    )
    # Exactly the per-number limit (3) was looked up and failed; the 47 others were refused
    # before any lookup (the attempt is reserved first).
    assert codes.count(grpc.StatusCode.NOT_FOUND) == 3
    assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) == 47
    failed = [e for e in _rows(stack, "security_events") if e["kind"] == "link_failed"]
    assert len(failed) == 3
    # Even the right facts are refused to pension now; tax still links.
    assert _link_error(pension, number, facts).code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _stub(stack, "tax").Link(pb.LinkRequest(my_number=number, facts=facts)).token


def _issue_claim_pin(stack: Stack, linked_by: str) -> str:
    """Issue this year's claim PIN for the person ``linked_by`` linked last, as the portal's
    IssueClaimPin does (services/registry/claim_pins.issue), without a portal session: this
    test is about verification, which is what it then races."""
    engine = create_engine(stack.database("registry"), poolclass=NullPool)
    try:
        with Session(engine) as session, session.begin():
            person_id = session.scalars(
                select(DomainLink.person_id)
                .where(DomainLink.domain == linked_by)
                .order_by(DomainLink.id.desc())
            ).first()
            assert person_id is not None
            pin, _ = claim_pins.issue(session, person_id, dt.datetime.now(dt.UTC))
        return pin
    finally:
        engine.dispose()


def test_fifty_parallel_wrong_claim_pins_evaluate_exactly_the_limit(slow_window: Stack) -> None:
    stack = slow_window
    number, facts = _register(stack, 7)
    tax = _stub(stack, "tax")
    token = tax.Link(pb.LinkRequest(my_number=number, facts=facts)).token
    pin = _issue_claim_pin(stack, "tax")
    wrong = f"{(int(pin) + 1) % 10**6:06d}"
    codes = _parallel(
        50,
        lambda i: tax.VerifyClaimPin(
            pb.VerifyClaimPinRequest(token=token, pin=wrong, procedure="tax.refund")
        ),
    )
    assert codes.count(grpc.StatusCode.PERMISSION_DENIED) == 5  # compared and wrong
    assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) == 45  # refused before comparing
    attempts = _rows(stack, "claim_pin_attempts")
    assert len(attempts) == 5 and not any(a["ok"] for a in attempts)
    # The right PIN is refused too while the limit holds.
    right = _code(
        lambda: tax.VerifyClaimPin(
            pb.VerifyClaimPinRequest(token=token, pin=pin, procedure="tax.refund")
        )
    )
    assert right.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_several_agencies_failing_on_one_number_raise_one_event(slow_window: Stack) -> None:
    stack = slow_window
    number, facts = _register(stack, 8)
    for identity in ("pension", "tax", "health", "pension"):
        error = _link_error(_stub(stack, identity), number, _wrong(facts, 1))
        assert error.code() == grpc.StatusCode.NOT_FOUND
    alerts = [e for e in _rows(stack, "security_events") if e["kind"] == "link_multi_agency"]
    assert len(alerts) == 1
    assert json.loads(alerts[0]["detail"])["agencies"] == ["pension", "tax"]
    assert alerts[0]["number_index"].startswith("blind-")
    _assert_no_personal_data(stack, [number, facts.name, facts.address, facts.birth_date])
