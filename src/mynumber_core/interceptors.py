"""Server and client interceptors: call context, logging, metrics, errors, authorisation.

* :class:`CallInterceptor` (outermost) binds the per-call log context (method, request id,
  caller), records the incoming deadline so outgoing calls inherit it, maps domain exceptions
  to status codes (a database or peer outage becomes UNAVAILABLE, see
  :func:`errors.infrastructure_error`; anything else unexpected becomes INTERNAL with a generic
  message and a redacted traceback in the log), writes one
  summary line per call (with the deadline budget the call arrived with) and counts it in
  Prometheus.
* :class:`AuthorizationInterceptor` enforces a deny-by-default table of which mTLS identity may
  call which method; a refused call never reaches the handler.
* :class:`ClientContextInterceptor` propagates the request id and the remaining deadline to
  every outgoing call.
"""

from __future__ import annotations

import contextvars
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import grpc
import structlog
from grpc_interceptor import ServerInterceptor

from mynumber_core import errors, metrics
from mynumber_core.log import redacted_traceback
from mynumber_core.tls import peer_service

REQUEST_ID_HEADER = "x-request-id"
NO_RETRY = (("grpc-retry-pushback-ms", "-1"),)
"""gRPC retry pushback: the caller's channel must not retry this answer (a relayed failure
that this service's own channel already retried)."""
ANY_PEER = "*"
"""Marker in an access table: any authenticated peer of the platform CA may call."""

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "mynumber_deadline", default=None
)
_caller: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mynumber_caller", default=None
)

log = structlog.get_logger("mynumber.rpc")


def status_for(exc: errors.DomainError) -> grpc.StatusCode:
    """The gRPC status a domain exception maps to (the error table in :mod:`errors`)."""
    return exc.grpc_status


def status_code(exc: errors.DomainError) -> int:
    """The numeric gRPC status code a domain exception maps to (for audit records)."""
    return int(status_for(exc).value[0])


def remaining_seconds() -> float | None:
    """Seconds left before the incoming call's deadline, if the current call has one."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def current_caller() -> str | None:
    """The authenticated identity of the peer whose call is being handled."""
    return _caller.get()


def current_request_id() -> str | None:
    """The request id bound for the call being handled."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value else None


_DIGIT_RUN = re.compile(r"[0-9]{12}")


def new_request_id() -> str:
    """A fresh request id: 32 hex digits, never with a run of 12 decimal digits (the log's
    My Number redaction would otherwise mask part of it and break log correlation)."""
    while True:
        candidate = uuid.uuid4().hex
        if not _DIGIT_RUN.search(candidate):
            return candidate


def _short(method_name: str) -> str:
    return method_name.rsplit("/", 1)[-1]


class CallInterceptor(ServerInterceptor):
    """Outermost server interceptor: context, one log line, metrics and error mapping."""

    def __init__(self, service: str) -> None:
        self._service = service

    def intercept(
        self,
        method: Callable[..., Any],
        request: Any,
        context: grpc.ServicerContext,
        method_name: str,
    ) -> Any:
        metadata = dict(context.invocation_metadata() or ())
        request_id = str(metadata.get(REQUEST_ID_HEADER) or new_request_id())[:64]
        caller = peer_service(context)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            service=self._service,
            method=_short(method_name),
            request_id=request_id,
            caller=caller or "-",
        )
        remaining = context.time_remaining()
        if remaining is not None and remaining >= 1e8:
            remaining = None  # grpc reports "no deadline" as a huge number
        deadline_token = _deadline.set(
            time.monotonic() + remaining if remaining is not None else None
        )
        caller_token = _caller.set(caller)
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            result = method(request, context)
            if _is_stream(result):  # server streaming: errors surface while iterating
                return self._guarded(result, context)
            return result
        except Exception as exc:
            if not isinstance(exc, errors.DomainError) and context.code() not in (
                None,
                grpc.StatusCode.OK,
            ):
                code = context.code()  # the handler or grpc aborted deliberately
                raise
            code, message = _failure(exc, context)
            context.abort(code, message)
        finally:
            elapsed = time.perf_counter() - started
            metrics.GRPC_REQUESTS.labels(self._service, _short(method_name), code.name).inc()
            metrics.GRPC_LATENCY.labels(self._service, _short(method_name)).observe(elapsed)
            # deadline_ms: the budget the caller left this call on arrival (absent without a
            # deadline), so a DEADLINE_EXCEEDED can be traced to the hop that used it up.
            budget = {} if remaining is None else {"deadline_ms": round(remaining * 1000, 1)}
            log.info("rpc", code=code.name, ms=round(elapsed * 1000, 2), **budget)
            _deadline.reset(deadline_token)
            _caller.reset(caller_token)

    @staticmethod
    def _guarded(stream: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        """The response stream, with a failure while iterating mapped like a unary one."""
        try:
            yield from stream
        except Exception as exc:
            if not isinstance(exc, errors.DomainError) and context.code() not in (
                None,
                grpc.StatusCode.OK,
            ):
                raise
            code, message = _failure(exc, context)
            context.abort(code, message)


def _is_stream(result: Any) -> bool:
    """True for a server-streaming handler's response iterator (not a single message)."""
    return isinstance(result, Iterator) and not hasattr(result, "SerializeToString")


def _failure(exc: Exception, context: grpc.ServicerContext) -> tuple[grpc.StatusCode, str]:
    """The status and message a failed call ends with, logged: a domain error's own row, an
    infrastructure outage UNAVAILABLE (with retry pushback when relayed), anything else
    INTERNAL with a redacted traceback in the log and a generic message."""
    if isinstance(exc, errors.DomainError):
        code = status_for(exc)
        if exc.relayed and code == grpc.StatusCode.UNAVAILABLE:
            context.set_trailing_metadata(NO_RETRY)
        return code, exc.message
    transient = errors.infrastructure_error(exc)
    if transient is not None:  # a database or peer outage: the caller may retry
        if transient.relayed:
            context.set_trailing_metadata(NO_RETRY)
        log.warning("dependency unavailable", error_type=type(exc).__name__)
        return transient.grpc_status, transient.message
    # a plain traceback (no locals), redacted here and again by the log pipeline
    log.error("unexpected error", error_type=type(exc).__name__, exception=redacted_traceback(exc))
    return grpc.StatusCode.INTERNAL, "internal error; the request id identifies it in the logs"


DenialHook = Callable[[str | None, str, str], None]
"""Called with (caller identity or None, full method name, status name) on every refusal."""

AccessTable = Mapping[str, frozenset[str]]
"""Full method name (``/pkg.Service/Method``) → identities allowed (or :data:`ANY_PEER`)."""


class AuthorizationInterceptor(ServerInterceptor):
    """Deny by default: only identities listed for a method may call it."""

    def __init__(self, table: AccessTable, on_denied: DenialHook | None = None) -> None:
        self._table = table
        self._on_denied = on_denied

    def intercept(
        self,
        method: Callable[..., Any],
        request: Any,
        context: grpc.ServicerContext,
        method_name: str,
    ) -> Any:
        caller = peer_service(context)
        if caller is None:
            self._denied(None, method_name, "UNAUTHENTICATED")
            raise errors.Unauthenticated(
                "a client certificate from the platform CA with a service identity is required"
            )
        allowed = self._table.get(method_name, frozenset())
        if caller not in allowed and ANY_PEER not in allowed:
            self._denied(caller, method_name, "PERMISSION_DENIED")
            raise errors.PermissionDenied(f"identity {caller!r} may not call {method_name}")
        return method(request, context)

    def _denied(self, caller: str | None, method: str, status: str) -> None:
        if self._on_denied is None:
            return
        try:
            self._on_denied(caller, method, status)
        except Exception as exc:  # auditing must never turn a refusal into a crash
            log.error("denial hook failed", error_type=type(exc).__name__)


class _ClientCallDetails(grpc.ClientCallDetails):
    def __init__(self, base: grpc.ClientCallDetails, timeout: float | None, metadata: Any) -> None:
        self.method = base.method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = base.credentials
        self.wait_for_ready = getattr(base, "wait_for_ready", None)
        self.compression = getattr(base, "compression", None)


class ClientContextInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Adds the request id and caps the timeout at the incoming call's remaining time."""

    def __init__(self, default_timeout: float) -> None:
        self._default = default_timeout

    def intercept_unary_unary(
        self,
        continuation: Callable[..., Any],
        client_call_details: grpc.ClientCallDetails,
        request: Any,
    ) -> Any:
        timeout = client_call_details.timeout or self._default
        remaining = remaining_seconds()
        if remaining is not None:
            if remaining <= 0:
                raise errors.DeadlineExceeded(
                    "the caller's deadline passed before the downstream call could start"
                )
            timeout = min(timeout, remaining)
        metadata = list(client_call_details.metadata or ())
        request_id = current_request_id()
        if request_id and not any(k == REQUEST_ID_HEADER for k, _ in metadata):
            metadata.append((REQUEST_ID_HEADER, request_id))
        details = _ClientCallDetails(client_call_details, timeout, metadata)
        return continuation(details, request)
