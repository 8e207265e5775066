"""One portal page load is one OpenTelemetry trace across the gateway, the registry and every
provider, parented hop by hop, with SQL statements inside; the HTTP side counts and logs it.

The whole platform runs in this process (``tests.support.stack``) with real gRPC over mTLS and
real databases, on SQLite and on PostgreSQL; spans go to an in-memory exporter.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY

from mynumber_core import tracing
from tests.integration.gateway.portal_env import PortalEnv
from tests.support.databases import PostgresDatabases, SqliteDatabases

PROVIDERS = ("municipality", "pension", "tax", "health")


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    processor = SimpleSpanProcessor(memory)
    tracing.add_span_processor(processor)
    try:
        yield memory
    finally:
        tracing.remove_span_processor(processor)


def service_of(span: ReadableSpan) -> str:
    return str(span.resource.attributes.get("service.name"))


def path_of(span: ReadableSpan) -> str | None:
    """The HTTP path of a server span (old and new semantic conventions)."""
    attributes = span.attributes or {}
    for key in ("url.path", "http.target"):
        if key in attributes:
            return str(attributes[key]).split("?")[0]
    return None


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    """The span's parents up to the root, nearest first (all must be in the trace)."""
    chain = []
    while span.parent is not None:
        parent = by_id.get(span.parent.span_id)
        assert parent is not None, f"{span.name} ({service_of(span)}) has a parent not recorded"
        chain.append(parent)
        span = parent
    return chain


def http_requests(route: str, status: str) -> float:
    labels = {"service": "gateway", "method": "GET", "route": route, "status": status}
    return REGISTRY.get_sample_value("mynumber_http_requests_total", labels) or 0.0


def test_one_me_page_load_is_one_trace_through_every_hop(
    backend: SqliteDatabases | PostgresDatabases, tmp_path, exporter: InMemorySpanExporter
) -> None:
    with PortalEnv(tmp_path, backend, PROVIDERS).running() as env:
        assert env.agencies == PROVIDERS
        resident = env.make_resident(enrol=PROVIDERS)
        client = env.login(resident)
        counted = http_requests("/me", "200")
        tracing.force_flush()
        exporter.clear()

        response = client.get("/me")

        assert response.status_code == 200, response.text
        # The test client gets the body from the app's own thread, which ends the page's server
        # span just after sending it: under load that can be after get() returns, so wait for it.
        deadline = time.monotonic() + 10
        while not any(path_of(s) == "/me" for s in exporter.get_finished_spans()):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        tracing.force_flush()
        spans = list(exporter.get_finished_spans())

    assert len(response.headers["x-request-id"]) >= 8
    assert http_requests("/me", "200") == counted + 1

    http = [s for s in spans if s.kind == SpanKind.SERVER and service_of(s) == "gateway"]
    pages = [s for s in http if path_of(s) == "/me"]
    assert len(pages) == 1, [(s.name, dict(s.attributes or {})) for s in http]
    root = pages[0]
    assert root.parent is None, f"the page's span has a parent: {root.parent}"
    trace_id = root.context.trace_id
    in_trace = [s for s in spans if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in in_trace}
    for span in in_trace:
        assert ancestors(span, by_id)[-1:] in ([], [root])  # every chain ends at the root

    services = {service_of(s) for s in in_trace}
    assert {"gateway", "registry", *PROVIDERS} <= services, services

    def servers(service: str) -> list[ReadableSpan]:
        return [s for s in in_trace if s.kind == SpanKind.SERVER and service_of(s) == service]

    # The registry's server spans are children of the gateway's client spans ...
    for span in servers("registry"):
        parent = by_id[span.parent.span_id]  # type: ignore[union-attr]
        assert parent.kind == SpanKind.CLIENT and service_of(parent) == "gateway"
        assert parent.name == span.name  # the same gRPC method on both ends
        assert root in ancestors(span, by_id)
    # ... and each provider answered the registry, in this trace, under a registry client span.
    for provider in PROVIDERS:
        answered = servers(provider)
        assert answered, f"no server span in {provider}"
        for span in answered:
            chain = ancestors(span, by_id)
            assert chain[0].kind == SpanKind.CLIENT and service_of(chain[0]) == "registry"
            assert any(s in servers("registry") for s in chain)

    # SQL statements are spans too, inside the call of the service that ran them.
    sql = [
        s
        for s in in_trace
        if s.kind == SpanKind.CLIENT and {"db.system", "db.system.name"} & set(s.attributes or {})
    ]
    assert {service_of(s) for s in sql} >= {"gateway", "registry"}
    for span in sql:
        nearest_server = next(s for s in ancestors(span, by_id) if s.kind == SpanKind.SERVER)
        assert service_of(nearest_server) == service_of(span)
