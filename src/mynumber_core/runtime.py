"""The entry point every service shares: settings → logging → wiring → serve.

A service's ``__main__`` is one line: ``run_service("tax", build_app)`` where ``build_app``
is its wiring function (settings in, :class:`~mynumber_core.server.GrpcApp` out).
"""

from __future__ import annotations

from collections.abc import Callable

from mynumber_core.log import configure_logging
from mynumber_core.metrics import serve_metrics
from mynumber_core.server import GrpcApp, serve
from mynumber_core.settings import ServiceSettings
from mynumber_core.tls import TlsMaterial

AppBuilder = Callable[[ServiceSettings], GrpcApp]


def run_service(name: str, build_app: AppBuilder) -> None:
    """Run one service until SIGTERM."""
    settings = ServiceSettings(service_name=name)
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    serve_metrics(settings.metrics_port, host=settings.grpc_host)
    app = build_app(settings)
    serve(
        app,
        TlsMaterial(settings.tls_dir),
        host=settings.grpc_host,
        port=settings.grpc_port,
        health_port=settings.health_port,
        grace=settings.grace_seconds,
    )
