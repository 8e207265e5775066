"""Run the gateway's two servers in one process: the mTLS gRPC Provider and the HTTP portal.

Settings → logging → wiring → serve, as :func:`mynumber_core.runtime.run_service` does, with
uvicorn added. uvicorn owns SIGTERM/SIGINT: when it has finished its in-flight requests the
gRPC server is marked NOT_SERVING and stopped with the configured grace period.
"""

from __future__ import annotations

import threading
import time

import structlog
import uvicorn

from mynumber_core.log import configure_logging
from mynumber_core.metrics import serve_metrics
from mynumber_core.server import RunningServer, start_server
from mynumber_core.tls import TlsMaterial
from mynumber_core.tracing import configure_tracing
from services.gateway.wiring import GatewaySettings, build_gateway, build_http_app, grpc_app

log = structlog.get_logger("mynumber.gateway")


def _serving_when_started(http: uvicorn.Server, grpc_server: RunningServer) -> None:
    """Mark the health endpoint SERVING once uvicorn has bound the HTTP port. Before this, a
    launcher that saw SERVING could reach for the portal and be refused (a CI run under load
    lost its chaos fixture to that window)."""
    while not http.started:
        if http.should_exit:
            return
        time.sleep(0.02)
    grpc_server.mark_serving()


def run_gateway() -> None:
    """Serve gRPC and HTTP until SIGTERM, then shut both down gracefully."""
    settings = GatewaySettings()
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    configure_tracing("gateway")
    serve_metrics(settings.metrics_port, host=settings.grpc_host)
    gateway = build_gateway(settings)
    gateway.relay.start()
    grpc_server = start_server(
        grpc_app(gateway),
        TlsMaterial(settings.tls_dir),
        host=settings.grpc_host,
        port=settings.grpc_port,
        health_port=settings.health_port,
        serving=False,  # SERVING once the HTTP port is bound too (see _serving_when_started)
    )
    log.info(
        "serving",
        service="gateway",
        port=grpc_server.port,
        health_port=grpc_server.health_port,
        http_port=settings.http_port,
    )
    http = uvicorn.Server(
        uvicorn.Config(
            build_http_app(settings, gateway),
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            proxy_headers=True,
            timeout_graceful_shutdown=int(settings.grace_seconds),
        )
    )
    threading.Thread(
        target=_serving_when_started, args=(http, grpc_server), name="gateway-ready", daemon=True
    ).start()
    try:
        http.run()  # returns after SIGTERM/SIGINT once in-flight requests are done
    finally:
        grpc_server.stop(settings.grace_seconds)
        log.info("stopped", service="gateway")
