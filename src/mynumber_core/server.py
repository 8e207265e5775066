"""gRPC server lifecycle shared by every service.

``start_server`` builds the API server (mutual TLS, interceptors, reflection) and a separate
plaintext health server that serves only ``grpc.health.v1`` for Kubernetes probes.
``serve`` runs until SIGTERM/SIGINT, then marks every service NOT_SERVING and stops with a
grace period so in-flight calls finish.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from mynumber_core import tracing
from mynumber_core.interceptors import (
    ANY_PEER,
    AccessTable,
    AuthorizationInterceptor,
    CallInterceptor,
    DenialHook,
)
from mynumber_core.tls import TlsMaterial

log = structlog.get_logger("mynumber.server")

REFLECTION_METHOD = f"/{reflection.SERVICE_NAME}/ServerReflectionInfo"
"""Reflection is served on the mTLS port to any platform peer (an app's table may narrow it)."""


SERVER_OPTIONS: list[tuple[str, Any]] = [
    # Close each connection after ~5 minutes (clients reconnect at once, re-resolving the
    # headless Service), so a new replica gets traffic from clients already connected; in-flight
    # calls get 30 s to finish.
    ("grpc.max_connection_age_ms", 300_000),
    ("grpc.max_connection_age_grace_ms", 30_000),
    # Accept the clients' keepalive pings (mynumber_core.channels: every 20 s, also when idle).
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_ping_strikes", 0),
]
"""Options of every API server: a maximum connection age, and keepalive the clients may use."""


@dataclass
class GrpcApp:
    """What a service contributes to the shared server."""

    name: str
    service_names: Sequence[str]
    """Full names of the gRPC services it serves (for health and reflection)."""
    register: Callable[[grpc.Server], None]
    """Adds the servicers to the server."""
    access: AccessTable
    """Deny-by-default table of which identity may call which method."""
    extra_interceptors: Sequence[grpc.ServerInterceptor] = field(default_factory=tuple)
    on_denied: DenialHook | None = None
    """Told about every call the access table refuses (for audit records)."""
    on_stop: Callable[[], None] | None = None


@dataclass
class RunningServer:
    """A started server pair and the ports they bound (useful with port 0 in tests)."""

    app: GrpcApp
    server: grpc.Server
    health_server: grpc.Server
    health: health.HealthServicer
    port: int
    health_port: int

    def mark_serving(self) -> None:
        """Report SERVING for every service (after :func:`start_server` with
        ``serving=False``, once the process's other listeners are up)."""
        self._report(health_pb2.HealthCheckResponse.SERVING)

    def _report(self, status: Any) -> None:
        for name in ("", *self.app.service_names):
            self.health.set(name, status)

    def stop(self, grace: float = 0.0) -> None:
        """Graceful stop: NOT_SERVING first, then let in-flight calls finish."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()
        self.health_server.stop(0).wait()
        if self.app.on_stop:
            self.app.on_stop()


def start_server(
    app: GrpcApp,
    tls: TlsMaterial,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    health_port: int = 0,
    max_workers: int = 32,
    serving: bool = True,
) -> RunningServer:
    """Start the mTLS API server and the plaintext health server; return their ports.

    Health reports SERVING at once, or, with ``serving=False``, NOT_SERVING until
    :meth:`RunningServer.mark_serving` (a process that also serves HTTP is not ready before
    that port is bound: launchers and readiness probes poll this health endpoint)."""
    interceptors: list[Any] = [
        *tracing.server_interceptors(app.name),  # the server span, continuing traceparent
        CallInterceptor(app.name),
        AuthorizationInterceptor(
            {REFLECTION_METHOD: frozenset({ANY_PEER}), **app.access}, app.on_denied
        ),
        *app.extra_interceptors,
    ]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=app.name),
        interceptors=interceptors,
        options=[("grpc.max_receive_message_length", 4 * 1024 * 1024), *SERVER_OPTIONS],
    )
    app.register(server)
    reflection.enable_server_reflection((*app.service_names, reflection.SERVICE_NAME), server)
    bound = server.add_secure_port(f"{host}:{port}", tls.server_credentials())
    if bound == 0:
        raise RuntimeError(f"could not bind the gRPC port {host}:{port}")

    health_servicer = health.HealthServicer(
        experimental_non_blocking=True,
        experimental_thread_pool=futures.ThreadPoolExecutor(max_workers=2),
    )
    health_server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, health_server)
    health_bound = health_server.add_insecure_port(f"{host}:{health_port}")
    if health_bound == 0:
        raise RuntimeError(f"could not bind the health port {host}:{health_port}")

    server.start()
    health_server.start()
    running_server = RunningServer(app, server, health_server, health_servicer, bound, health_bound)
    running_server._report(
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    return running_server


@contextmanager
def running(app: GrpcApp, tls: TlsMaterial, **kwargs: Any) -> Iterator[RunningServer]:
    """Context manager for tests: start on free ports, stop on exit."""
    srv = start_server(app, tls, **kwargs)
    try:
        yield srv
    finally:
        srv.stop(0)


def serve(
    app: GrpcApp,
    tls: TlsMaterial,
    *,
    host: str,
    port: int,
    health_port: int,
    grace: float,
    announce: Callable[[RunningServer], None] | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then shut down gracefully."""
    srv = start_server(app, tls, host=host, port=port, health_port=health_port)
    stop_requested = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        log.info("shutdown requested", signal=signal.Signals(signum).name, grace_seconds=grace)
        stop_requested.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    log.info("serving", service=app.name, port=srv.port, health_port=srv.health_port)
    if announce:
        announce(srv)
    stop_requested.wait()
    srv.stop(grace)
    log.info("stopped", service=app.name)
