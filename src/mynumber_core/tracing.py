"""OpenTelemetry tracing: one trace per exchange, across the portal, the registry and providers.

Every service gets a :class:`~opentelemetry.sdk.trace.TracerProvider` whose resource names it
(``service.name``). The official instrumentations make the spans:

* gRPC: :func:`server_interceptors` (added by :func:`mynumber_core.server.start_server`) opens
  a server span per call, continuing the W3C ``traceparent`` that arrived in the call's
  metadata; :func:`traced_channel` (used by :class:`mynumber_core.channels.Channels`)
  opens a client span per outgoing call and sends ``traceparent`` on;
* HTTP: :func:`instrument_fastapi` (the gateway's portal);
* SQL: :func:`instrument_engine` (every engine :func:`mynumber_core.db.make_engine` builds),
  one span per statement *inside a recorded span* (a sampled request). A statement run
  outside any trace (the sequencer's group commits, the checkpoint signer, outbox relays) or
  inside an unsampled one makes no span and skips the instrumentation's per-statement work
  (issue 10: the hook cost ~7.8 ms per query on the hub's hot path).

Sampling is the SDK's standard configuration when ``OTEL_TRACES_SAMPLER`` is set (with
``OTEL_TRACES_SAMPLER_ARG``, e.g. ``parentbased_traceidratio`` with ``0.01`` traces one request
in a hundred, and every span of it in every service, since each hop follows its caller's
``traceparent`` decision). Without it, the default (:class:`WhenReceived`) is
``parentbased_always_on`` while anything can receive spans (the OTLP exporter, or a processor a
test added) and records nothing otherwise: every span still has its trace and span ids (log
lines carry them, ``traceparent`` travels on), but no span is built only to be dropped. Issue
10 measured that work at about 1 ms of CPU per call in each of the registry and a provider.

Client and SQL spans belong to the service whose call or request is being handled (several
services share one process in the in-process tests), else to the process's own service.

Spans leave the process over OTLP/gRPC only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set; the exporter reads the standard OTEL_*
variables. Without it, spans still give every log line its trace id (see
:mod:`mynumber_core.log`) and nothing is sent anywhere. Span attributes hold methods, routes,
status codes and SQL text with bound parameters left out: no personal data.
"""

from __future__ import annotations

import contextvars
import functools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import grpc
from grpc_interceptor import ServerInterceptor
from opentelemetry import trace
from opentelemetry.instrumentation.grpc import client_interceptor as _otel_client_interceptor
from opentelemetry.instrumentation.grpc import server_interceptor as _otel_server_interceptor
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_NAMESPACE, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from sqlalchemy import Engine

OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
NAMESPACE = "mynumber"

_lock = threading.Lock()
_providers: dict[str, TracerProvider] = {}
_processors: list[SpanProcessor] = []
_exporter_checked = False
_process_service: str | None = None
_current_service: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mynumber_trace_service", default=None
)


def otlp_endpoint() -> str | None:
    """The OTLP endpoint from the environment, or None when export is off."""
    for name in OTLP_ENDPOINT_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _ensure_exporter() -> None:
    """Add the OTLP exporter once per process, if and only if an endpoint is configured."""
    global _exporter_checked
    if _exporter_checked:
        return
    _exporter_checked = True
    if otlp_endpoint() is None:
        return
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    _add_processor(BatchSpanProcessor(OTLPSpanExporter()))


class WhenReceived(Sampler):
    """``parentbased_always_on`` while a span processor is installed; otherwise drop (the
    span keeps its ids, see the module docstring)."""

    def __init__(self) -> None:
        self._on = ParentBased(ALWAYS_ON)

    def should_sample(
        self,
        parent_context: Any,
        trace_id: int,
        name: str,
        kind: Any = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if _processors:
            return self._on.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )
        parent = trace.get_current_span(parent_context).get_span_context()
        return SamplingResult(Decision.DROP, None, parent.trace_state if parent.is_valid else None)

    def get_description(self) -> str:
        return "WhenReceived{parentbased_always_on}"


def _sampler() -> Sampler | None:
    """The sampler of a new provider: the SDK's from ``OTEL_TRACES_SAMPLER`` when it is set
    (None lets the SDK read it), else :class:`WhenReceived`."""
    if os.environ.get("OTEL_TRACES_SAMPLER", "").strip():
        return None
    return WhenReceived()


def _add_processor(processor: SpanProcessor) -> None:
    _processors.append(processor)
    for provider in _providers.values():
        provider.add_span_processor(processor)


def provider(service: str) -> TracerProvider:
    """The tracer provider of one service (created on first use, then shared)."""
    with _lock:
        _ensure_exporter()
        existing = _providers.get(service)
        if existing is not None:
            return existing
        created = TracerProvider(
            resource=Resource.create({SERVICE_NAME: service, SERVICE_NAMESPACE: NAMESPACE}),
            sampler=_sampler(),
        )
        for processor in _processors:
            created.add_span_processor(processor)
        _providers[service] = created
        return created


def configure_tracing(service: str) -> TracerProvider:
    """Make ``service`` this process's own service (a service's entry point calls this once)."""
    global _process_service
    _process_service = service
    own = provider(service)
    trace.set_tracer_provider(own)
    return own


def add_span_processor(processor: SpanProcessor) -> None:
    """Send every service's spans to ``processor`` too (tests: an in-memory exporter)."""
    with _lock:
        _add_processor(processor)


def remove_span_processor(processor: SpanProcessor) -> None:
    """Undo :func:`add_span_processor` for providers made from now on, and stop feeding it.

    The SDK has no public removal, so the processor is shut down; it then ignores spans.
    """
    with _lock:
        if processor in _processors:
            _processors.remove(processor)
    processor.shutdown()


def force_flush() -> None:
    """Export every finished span now (before a process exits, or in a test)."""
    with _lock:
        providers = list(_providers.values())
    for each in providers:
        each.force_flush()


@contextmanager
def serving(service: str) -> Iterator[None]:
    """Client and SQL spans started inside belong to ``service``."""
    token = _current_service.set(service)
    try:
        yield
    finally:
        _current_service.reset(token)


def _provider_now() -> trace.TracerProvider:
    service = _current_service.get() or _process_service
    return provider(service) if service else trace.get_tracer_provider()


class _CurrentServiceTracer(trace.Tracer):
    """A tracer that starts each span in the provider of the service being served."""

    def __init__(self, name: str, version: str | None, schema_url: str | None) -> None:
        self._args = (name, version, schema_url)
        self._tracers: dict[int, trace.Tracer] = {}

    def _tracer(self) -> trace.Tracer:
        # The SDK builds a new Tracer on every get_tracer call (its profile showed up on every
        # SQL span); providers live as long as the process, so one tracer per provider is kept.
        chosen = _provider_now()
        tracer = self._tracers.get(id(chosen))
        if tracer is None:
            tracer = self._tracers[id(chosen)] = chosen.get_tracer(*self._args)
        return tracer

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._tracer().start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self._tracer().start_as_current_span(*args, **kwargs)


class _CurrentServiceTracerProvider(trace.TracerProvider):
    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> trace.Tracer:
        return _CurrentServiceTracer(
            instrumenting_module_name, instrumenting_library_version, schema_url
        )


CURRENT_SERVICE = _CurrentServiceTracerProvider()
"""Tracer provider for spans that belong to whichever service is handling the call."""


class _ServingInterceptor(ServerInterceptor):
    """Marks the handler's thread as serving ``service`` (for its client and SQL spans)."""

    def __init__(self, service: str) -> None:
        self._service = service

    def intercept(
        self,
        method: Callable[..., Any],
        request: Any,
        context: grpc.ServicerContext,
        method_name: str,
    ) -> Any:
        with serving(self._service):
            return method(request, context)


def server_interceptors(service: str) -> list[grpc.ServerInterceptor]:
    """The outermost server interceptors: the gRPC server span (continuing the caller's
    ``traceparent``), then the service scope for the handler's own spans."""
    return [
        _otel_server_interceptor(tracer_provider=provider(service)),
        _ServingInterceptor(service),
    ]


def traced_channel(channel: grpc.Channel) -> grpc.Channel:
    """``channel`` with a client span per outgoing call and ``traceparent`` in its metadata."""
    from opentelemetry.instrumentation.grpc.grpcext import intercept_channel

    traced: grpc.Channel = intercept_channel(
        channel, _otel_client_interceptor(tracer_provider=CURRENT_SERVICE)
    )
    return traced


@functools.cache
def _in_trace_engine_tracer() -> type:
    """The official SQLAlchemy engine tracer, hooked only into recorded traces."""
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    class InTraceEngineTracer(EngineTracer):
        """Skips the per-statement work (URL and cursor attributes, the operation name, a
        span) unless the statement runs inside a recording span."""

        def _before_cur_exec(
            self,
            conn: Any,
            cursor: Any,
            statement: Any,
            params: Any,
            context: Any,
            executemany: Any,
        ) -> Any:
            if not trace.get_current_span().is_recording():
                return statement, params
            return super()._before_cur_exec(conn, cursor, statement, params, context, executemany)

    return InTraceEngineTracer


def instrument_engine(engine: Engine) -> None:
    """One span per SQL statement on ``engine`` inside a recorded trace (statement text, no
    bound values); statements outside one cost nothing (see the module docstring)."""
    from opentelemetry.instrumentation.sqlalchemy import __version__
    from opentelemetry.metrics import get_meter

    counter = get_meter(__name__).create_up_down_counter(
        "db.client.connections.usage", unit="connections"
    )
    _in_trace_engine_tracer()(
        CURRENT_SERVICE.get_tracer("opentelemetry.instrumentation.sqlalchemy", __version__),
        engine,
        counter,
    )


def instrument_fastapi(app: Any, service: str) -> None:
    """The HTTP server span of each request (health checks and static files left out)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider(service),
        excluded_urls="/healthz,/static/.*,/metrics",
        exclude_spans=["receive", "send"],
    )


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, or None outside any span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
