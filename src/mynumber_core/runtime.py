"""The entry point every service shares: settings → logging → wiring → serve.

A service's ``__main__`` is one line: ``run_service("tax", build_app)`` where ``build_app``
is its wiring function (settings in, :class:`~mynumber_core.server.GrpcApp` out).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from mynumber_core.log import configure_logging
from mynumber_core.metrics import serve_metrics
from mynumber_core.server import GrpcApp, serve
from mynumber_core.settings import ServiceSettings
from mynumber_core.tls import TlsMaterial
from mynumber_core.tracing import configure_tracing

AppBuilder = Callable[[ServiceSettings], GrpcApp]


def settings_class_for(build_app: AppBuilder) -> type[ServiceSettings]:
    """The settings class of the service whose wiring defines ``build_app``: its wiring
    module's ``SETTINGS_CLASS`` (e.g. the registry's access-rights path and abuse limits), or
    the shared :class:`ServiceSettings` when it has no extra settings."""
    module = sys.modules.get(getattr(build_app, "__module__", ""), None)
    cls = getattr(module, "SETTINGS_CLASS", ServiceSettings)
    if not (isinstance(cls, type) and issubclass(cls, ServiceSettings)):
        raise TypeError(f"{module}.SETTINGS_CLASS must subclass ServiceSettings")
    return cls


def run_service(name: str, build_app: AppBuilder) -> None:
    """Run one service until SIGTERM, with its own settings class (every ``MYNUMBER_*``
    setting it declares is read from the environment here, in production as in tests)."""
    settings = settings_class_for(build_app)(service_name=name)
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    configure_tracing(name)
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
