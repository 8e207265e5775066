"""Prometheus metrics shared by every service, served on the metrics port."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

GRPC_REQUESTS = Counter(
    "mynumber_grpc_requests_total",
    "gRPC requests handled, by service, method and status code.",
    ["service", "method", "code"],
)
GRPC_LATENCY = Histogram(
    "mynumber_grpc_request_seconds",
    "gRPC request latency in seconds, by service and method.",
    ["service", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EXCHANGES = Counter(
    "mynumber_exchanges_total",
    "Inter-agency exchanges recorded by the registry, by outcome.",
    ["outcome"],
)
OUTBOX_LAG = Gauge(
    "mynumber_outbox_lag_seconds",
    "Age in seconds of the oldest undelivered outbox event, by service.",
    ["service"],
)
OUTBOX_PENDING = Gauge(
    "mynumber_outbox_pending",
    "Undelivered outbox events, by service.",
    ["service"],
)


def serve_metrics(port: int | None, host: str = "0.0.0.0") -> int | None:  # noqa: S104
    """Start the /metrics HTTP endpoint; returns the bound port (None when disabled)."""
    if port is None:
        return None
    server, _thread = start_http_server(port, addr=host)
    return int(server.server_address[1])
