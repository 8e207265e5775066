"""Tracing plumbing: trace ids in JSON log lines, OTLP export only when an endpoint is set, and
the HTTP side's request-id parser.

The OTLP test runs a real OTLP/gRPC receiver on loopback and a child process that traces one
span, once with ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at the receiver and once without.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace import TracerProvider

from mynumber_core.log import configure_logging
from services.gateway.web.observability import request_id_from

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    saved = structlog.get_config()
    buffer = io.StringIO()
    configure_logging(fmt="json", stream=buffer)
    try:
        yield buffer
    finally:
        structlog.configure(**saved)


def test_every_log_line_in_a_span_carries_its_trace_id(json_log: io.StringIO) -> None:
    tracer = TracerProvider().get_tracer("test")
    log = structlog.get_logger("test")
    log.info("outside")
    with tracer.start_as_current_span("outer") as outer:
        log.info("in outer")
        with tracer.start_as_current_span("inner") as inner:
            log.info("in inner")
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["outside", "in outer", "in inner"]
    assert "trace_id" not in lines[0]
    trace_id = format(outer.get_span_context().trace_id, "032x")
    assert lines[1]["trace_id"] == lines[2]["trace_id"] == trace_id
    assert lines[1]["span_id"] == format(outer.get_span_context().span_id, "016x")
    assert lines[2]["span_id"] == format(inner.get_span_context().span_id, "016x")


class _Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.arrived = threading.Event()

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: object
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self.requests.append(request)
        self.arrived.set()
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
def receiver() -> Iterator[tuple[_Receiver, int]]:
    servicer = _Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield servicer, port
    finally:
        server.stop(0)


CHILD = """
from opentelemetry import trace
from mynumber_core import tracing
tracing.configure_tracing("tax")
with trace.get_tracer("child").start_as_current_span("child-span"):
    pass
tracing.force_flush()
print(len(tracing._processors))
"""


def _child(endpoint: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    if endpoint:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    env["PYTHONPATH"] = os.pathsep.join(str(REPO / p) for p in ("", "src", "gen"))
    result = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_spans_are_exported_over_otlp_only_when_an_endpoint_is_set(
    receiver: tuple[_Receiver, int],
) -> None:
    servicer, port = receiver
    assert _child(None) == "0"
    assert not servicer.requests

    assert _child(f"http://127.0.0.1:{port}") == "1"
    assert servicer.arrived.wait(10)
    spans = [
        (resource.resource, span.name)
        for request in servicer.requests
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert [name for _, name in spans] == ["child-span"]
    attributes = {a.key: a.value.string_value for a in spans[0][0].attributes}
    assert attributes["service.name"] == "tax"


VALID = re.compile(r"[0-9A-Za-z-]{8,64}")


@given(st.text(alphabet=st.characters(codec="latin-1"), max_size=80))
def test_request_id_is_the_callers_when_well_formed_else_new(value: str) -> None:
    headers = [(b"x-request-id", value.encode("latin-1"))]
    result = request_id_from(headers)
    assert VALID.fullmatch(result) and not re.search(r"[0-9]{12}", result)
    if VALID.fullmatch(value) and not re.search(r"[0-9]{12}", value):
        assert result == value
    else:
        assert result != value


def test_request_id_is_new_without_the_header() -> None:
    first, second = request_id_from([]), request_id_from([(b"accept", b"*/*")])
    assert first != second and len(first) == 32


def test_sql_spans_only_inside_a_recorded_trace(tmp_path: Path) -> None:
    """A statement inside a sampled span is a child span; outside any trace (background jobs)
    or inside an unsampled one it makes no span at all."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
    from sqlalchemy import create_engine, text

    from mynumber_core import tracing

    memory = InMemorySpanExporter()
    processor = SimpleSpanProcessor(memory)
    tracing.add_span_processor(processor)
    engine = create_engine(f"sqlite:///{tmp_path / 'traced.db'}")
    tracing.instrument_engine(engine)
    try:
        sampled = tracing.provider("sql-tracing-test").get_tracer("test")
        unsampled = TracerProvider(sampler=ALWAYS_OFF).get_tracer("test")
        with tracing.serving("sql-tracing-test"), engine.connect() as conn:
            conn.execute(text("SELECT 1"))  # no trace (a background job): no span
            with unsampled.start_as_current_span("dropped"):
                conn.execute(text("SELECT 2"))
            with sampled.start_as_current_span("request") as request:
                conn.execute(text("SELECT 3"))
        spans = memory.get_finished_spans()
        sql = [s for s in spans if s.name != "request"]
        assert len(sql) == 1
        assert sql[0].parent is not None
        assert sql[0].parent.span_id == request.get_span_context().span_id
        statement = (sql[0].attributes or {}).get("db.statement") or (sql[0].attributes or {}).get(
            "db.query.text"
        )
        assert statement == "SELECT 3"
    finally:
        engine.dispose()
        tracing.remove_span_processor(processor)


def test_spans_are_recorded_only_while_something_can_receive_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without an exporter or processor no span is built (issue 10: ~1 ms of CPU per call),
    yet each has its trace id for the log lines; once one is installed, spans are recorded."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from mynumber_core import tracing

    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    monkeypatch.setattr(tracing, "_processors", [])
    tracer = tracing.provider("when-received-test").get_tracer("test")
    with tracer.start_as_current_span("unheard") as unheard:
        assert not unheard.is_recording()
        assert unheard.get_span_context().is_valid
        assert tracing.current_trace_id() == format(unheard.get_span_context().trace_id, "032x")
    memory = InMemorySpanExporter()
    processor = SimpleSpanProcessor(memory)
    tracing.add_span_processor(processor)
    try:
        with tracer.start_as_current_span("heard") as heard:
            assert heard.is_recording()
        assert [s.name for s in memory.get_finished_spans()] == ["heard"]
    finally:
        tracing.remove_span_processor(processor)
