"""Observability end to end: one exchange traced across processes by its request id, the
propagated deadline visible at the provider, and every service's Prometheus metrics.

The platform runs as processes (``e2e_platform``: SQLite, seeded); each service writes JSON
lines to ``var/log/<service>.log`` and serves ``/metrics`` on its own port.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from mynumber.municipality.v1 import municipality_pb2 as mpb
from mynumber.municipality.v1 import municipality_pb2_grpc as mpb_grpc
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from mynumber_core.channels import Channels
from mynumber_core.structs import to_struct
from mynumber_core.tls import TlsMaterial
from mynumber_dev.demo import DemoResident
from mynumber_dev.keys import tls_dir
from tests.e2e.conftest import RunningPlatform
from tests.support.sealing import open_query

pytestmark = pytest.mark.e2e
_SEX = {"male": pb.SEX_MALE, "female": pb.SEX_FEMALE}
INCOME_YEAR = 2025


# ------------------------------------------------------------------------------ helpers


def _channels(rp: RunningPlatform, identity: str) -> Channels:
    return Channels(TlsMaterial(tls_dir(rp.var, identity)), rp.platform.endpoints)


def _facts(r: DemoResident) -> Any:
    return pb.BasicFacts(name=r.name, birth_date=r.birth_date, sex=_SEX[r.sex], address=r.address)


def log_lines(path: Path, offset: int = 0) -> Iterator[dict[str, Any]]:
    """The JSON objects among a service log's lines (from byte ``offset``)."""
    with path.open("rb") as fh:
        fh.seek(offset)
        for raw in fh:
            try:
                line = json.loads(raw)
            except ValueError:
                continue  # a non-JSON line (e.g. a library printing to stderr)
            if isinstance(line, dict):
                yield line


def _wait_for(path: Path, match: Any, *, offset: int = 0, timeout: float = 5.0) -> dict[str, Any]:
    """The first JSON line of ``path`` for which ``match(line)`` is true (polls briefly)."""
    deadline = time.monotonic() + timeout
    while True:
        for line in log_lines(path, offset):
            if match(line):
                return line
        if time.monotonic() > deadline:
            raise AssertionError(f"no matching line in {path.name}")
        time.sleep(0.05)


def _log(rp: RunningPlatform, service: str) -> Path:
    return rp.platform.procs[service].log_path


def _income_query(token: str, procedure: str = "pension.exemption") -> Any:
    return pb.QueryRequest(
        token=token,
        provider="tax",
        item="income",
        procedure=procedure,
        request_id=uuid.uuid4().hex,
        params=to_struct({"year": INCOME_YEAR}),
    )


@pytest.fixture(scope="module")
def pension_token(e2e_platform: RunningPlatform) -> str:
    """The pension token of a seeded resident the tax office has income on record for."""
    channels = _channels(e2e_platform, "pension")
    registry = pb_grpc.RegistryStub(channels.channel("registry"))
    hub = pb_grpc.HubStub(channels.channel("registry"))
    for r in e2e_platform.residents:
        token = registry.Link(pb.LinkRequest(my_number=r.my_number, facts=_facts(r))).token
        try:
            hub.Query(_income_query(token), timeout=10)
        except grpc.RpcError:
            continue
        return str(token)
    raise AssertionError("no seeded resident has tax income for the test year")


# ------------------------------------------------------------------------------ tracing


def test_one_exchange_is_traced_across_services_by_request_id(
    e2e_platform: RunningPlatform, pension_token: str
) -> None:
    rp = e2e_platform
    hub = pb_grpc.HubStub(_channels(rp, "pension").channel("registry"))
    request_id = str(uuid.uuid4())
    query = _income_query(pension_token)
    response = hub.Query(query, metadata=[("x-request-id", request_id)], timeout=3.0)
    opened = open_query(rp.var, "pension", query, response)
    assert opened["total_income"] > 0, "the provider returned income data (sealed to pension)"

    at_registry = _wait_for(
        _log(rp, "registry"), lambda x: x.get("request_id") == request_id and x["event"] == "rpc"
    )
    at_tax = _wait_for(
        _log(rp, "tax"), lambda x: x.get("request_id") == request_id and x["event"] == "rpc"
    )
    # The hop: pension → registry (Hub.Query) → tax (Provider.Provide), one id throughout.
    assert (at_registry["service"], at_registry["method"], at_registry["caller"]) == (
        "registry",
        "Query",
        "pension",
    )
    assert (at_tax["service"], at_tax["method"], at_tax["caller"]) == ("tax", "Provide", "registry")
    assert at_registry["code"] == at_tax["code"] == "OK"
    # The id is not in any other service's log: it is this exchange's alone.
    for service in ("municipality", "pension", "health"):
        if service in rp.platform.procs:
            assert not any(
                x.get("request_id") == request_id for x in log_lines(_log(rp, service))
            ), service

    # The deadline travelled with the call: the registry got ~3 s (our timeout) and tax got
    # what was left of it, well below the registry's own 5 s default for outgoing calls, so
    # it can only have come from propagation.
    registry_budget = at_registry["deadline_ms"]
    tax_budget = at_tax["deadline_ms"]
    assert 2000 < registry_budget <= 3000
    # Each hop reads its budget from a clock of its own and gRPC rounds wire timeouts up, so tax
    # has been seen to log ~2 ms more than the registry did (CI: 2998.2 vs 2996.4). It can never
    # see more than the 3 s this test gave the whole exchange (plus wire rounding), and without
    # propagation it would see the registry's own 5 s default.
    assert 0 < tax_budget <= 3001.0


def test_a_call_without_a_request_id_gets_one_that_reaches_the_provider(
    e2e_platform: RunningPlatform, pension_token: str
) -> None:
    rp = e2e_platform
    hub = pb_grpc.HubStub(_channels(rp, "pension").channel("registry"))
    registry_log, tax_log = _log(rp, "registry"), _log(rp, "tax")
    offset = registry_log.stat().st_size
    hub.Query(_income_query(pension_token), timeout=10)

    queries: list[dict[str, Any]] = []
    deadline = time.monotonic() + 5
    while not queries and time.monotonic() < deadline:
        queries = [
            x
            for x in log_lines(registry_log, offset)
            if x.get("event") == "rpc" and x.get("method") == "Query" and x["caller"] == "pension"
        ]
        time.sleep(0.05)
    assert len(queries) == 1, queries
    generated = queries[0]["request_id"]
    assert isinstance(generated, str) and len(generated) >= 16
    at_tax = _wait_for(
        tax_log, lambda x: x.get("request_id") == generated and x.get("event") == "rpc"
    )
    assert at_tax["method"] == "Provide"


# ------------------------------------------------------------------------------ metrics


def _scrape(rp: RunningPlatform, service: str) -> dict[str, list[Sample]]:
    port = rp.platform.procs[service].metrics_port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def _move_a_new_resident(rp: RunningPlatform) -> list[str]:
    """Register someone at the municipality and record their move (an outbox event)."""
    api = mpb_grpc.MunicipalityStub(_channels(rp, "operator").channel("municipality"))
    registered = api.RegisterResident(
        mpb.RegisterResidentRequest(
            resident=mpb.ResidentFacts(
                name="観測 太郎",
                name_kana="カンソク タロウ",
                birth_date="1988-07-14",
                sex=mpb.SEX_MALE,
                address="東京都千代田区霞が関1丁目2番3号",
                resident_type=mpb.RESIDENT_TYPE_CITIZEN,
            ),
            idempotency_key=uuid.uuid4().hex,
        )
    )
    moved = api.RecordMove(
        mpb.RecordMoveRequest(
            address_number=registered.address_number,
            new_address="東京都千代田区霞が関3丁目1番1号",
            effective_date="2026-04-01",
            idempotency_key=uuid.uuid4().hex,
        )
    )
    return list(moved.event_ids)


def test_every_service_exports_call_metrics_and_the_registry_counts_exchanges(
    e2e_platform: RunningPlatform, pension_token: str
) -> None:
    rp = e2e_platform
    hub = pb_grpc.HubStub(_channels(rp, "pension").channel("registry"))
    before = _scrape(rp, "registry")
    for _ in range(3):
        hub.Query(_income_query(pension_token), timeout=10)
    with pytest.raises(grpc.RpcError) as denied:  # pension may not read income for a refund
        hub.Query(_income_query(pension_token, procedure="tax.refund"), timeout=10)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    event_ids = _move_a_new_resident(rp)
    assert event_ids, "the move put an address_changed event in the municipality's outbox"

    after = _scrape(rp, "registry")
    requests = after["mynumber_grpc_requests"]
    assert _value(
        requests, "mynumber_grpc_requests_total", service="registry", method="Query", code="OK"
    ) - _value(
        before["mynumber_grpc_requests"],
        "mynumber_grpc_requests_total",
        service="registry",
        method="Query",
        code="OK",
    ) == pytest.approx(3)
    assert (
        _value(requests, "mynumber_grpc_requests_total", method="Query", code="PERMISSION_DENIED")
        >= 1
    )
    exchanges = after["mynumber_exchanges"]
    provided = _value(exchanges, "mynumber_exchanges_total", outcome="provided")
    provided_before = _value(
        before["mynumber_exchanges"], "mynumber_exchanges_total", outcome="provided"
    )
    assert provided - provided_before == pytest.approx(3)
    assert _value(exchanges, "mynumber_exchanges_total", outcome="denied") >= 1

    # Every service: a request counter with method/code labels and a latency histogram.
    for service in rp.platform.procs:
        families = _scrape(rp, service)
        assert "mynumber_grpc_requests" in families, service
        assert "mynumber_grpc_request_seconds" in families, service
        if service == "gateway":
            continue  # its gRPC side only serves Provide/Deliver, which this test may not hit
        calls = [s for s in families["mynumber_grpc_requests"] if s.name.endswith("_total")]
        assert calls and all({"service", "method", "code"} <= set(s.labels) for s in calls)
        assert all(s.labels["service"] == service for s in calls), service
        histogram = families["mynumber_grpc_request_seconds"]
        buckets = [s for s in histogram if s.name.endswith("_bucket")]
        assert any(s.labels.get("le") == "+Inf" and s.value > 0 for s in buckets), service
        assert _value(histogram, "mynumber_grpc_request_seconds_count") == pytest.approx(
            sum(s.value for s in calls)
        ), service

    # The municipality's outbox: the move's event was queued, delivered, and the lag gauge
    # (oldest undelivered event) is exported and back to zero once the relay drained it.
    db = rp.var / "data" / "municipality.db"
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(db) as conn:
            marks = ",".join("?" * len(event_ids))
            rows = conn.execute(
                f"SELECT delivered_at FROM outbox WHERE id IN ({marks})",
                event_ids,
            ).fetchall()
        municipality = _scrape(rp, "municipality")
        lag = municipality["mynumber_outbox_lag_seconds"]
        pending = municipality["mynumber_outbox_pending"]
        delivered = len(rows) == len(event_ids) and all(r[0] for r in rows)
        if delivered and _value(pending, "mynumber_outbox_pending", service="municipality") == 0:
            break
        assert time.monotonic() < deadline, f"outbox not drained: {rows}"
        time.sleep(0.2)
    assert [s.labels for s in lag] == [{"service": "municipality"}]
    assert _value(lag, "mynumber_outbox_lag_seconds", service="municipality") == 0
