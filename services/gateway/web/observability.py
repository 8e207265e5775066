"""The portal's HTTP side as operators see it: request ids, one log line and metrics per request.

:class:`RequestContext` is a plain ASGI middleware. For every HTTP request it binds a request
id (the caller's ``X-Request-Id`` when well-formed, else a new one) to the log context, so the
gRPC calls the request makes carry it on (:mod:`mynumber_core.interceptors`); it returns the id
in ``X-Request-Id``, counts the request in Prometheus (``mynumber_http_requests_total`` and
``mynumber_http_request_seconds``, by route template, never by raw path) and writes one
``http`` log line. :func:`install` also adds the OpenTelemetry FastAPI instrumentation, whose
server span is the root of the trace the request's gRPC calls join.
"""

from __future__ import annotations

import re
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mynumber_core import metrics, tracing
from mynumber_core.interceptors import REQUEST_ID_HEADER, new_request_id

SERVICE = "gateway"
_VALID_REQUEST_ID = re.compile(r"[0-9A-Za-z-]{8,64}")
_DIGIT_RUN = re.compile(r"[0-9]{12}")

log = structlog.get_logger("mynumber.gateway.http")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's request id if it is 8–64 letters, digits or dashes (and could not be
    mistaken for a My Number by the log redaction); a new one otherwise."""
    for name, value in headers:
        if name.decode("latin-1").lower() == REQUEST_ID_HEADER:
            text = value.decode("latin-1")
            if _VALID_REQUEST_ID.fullmatch(text) and not _DIGIT_RUN.search(text):
                return text
            break
    return new_request_id()


def _route_of(scope: Scope) -> str:
    """The matched route's template with its router prefixes (``/api/inbox/{document_id}``)."""
    effective = (scope.get("fastapi") or {}).get("effective_route_context")
    path = getattr(effective, "path", None) or getattr(scope.get("route"), "path", None)
    return str(path) if path else "unmatched"


class RequestContext:
    """ASGI middleware: request id, log context, one log line and metrics per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(list(scope.get("headers") or []))
        method = str(scope.get("method", "GET"))
        structlog.contextvars.bind_contextvars(
            service=SERVICE, request_id=request_id, http_method=method
        )
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers") or [])
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            with tracing.serving(SERVICE):
                await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_of(scope)
            metrics.HTTP_REQUESTS.labels(SERVICE, method, route, str(status)).inc()
            metrics.HTTP_LATENCY.labels(SERVICE, method, route).observe(elapsed)
            if not route.startswith("/static"):
                log.info("http", route=route, status=status, ms=round(elapsed * 1000, 2))
            structlog.contextvars.unbind_contextvars("service", "request_id", "http_method")


def install(app: Any) -> None:
    """Add the request-context middleware and the OpenTelemetry HTTP span to ``app``."""
    app.add_middleware(RequestContext)
    tracing.instrument_fastapi(app, SERVICE)
