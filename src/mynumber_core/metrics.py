"""Prometheus metrics shared by every service, served on the metrics port.

The alerts in ``deploy/components/monitoring/prometheus-rule.yaml`` are written against these
names (``tests/deploy/test_monitoring.py`` checks every name they use is registered here).
"""

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
HTTP_REQUESTS = Counter(
    "mynumber_http_requests_total",
    "HTTP requests handled, by service, method, route template and status code.",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "mynumber_http_request_seconds",
    "HTTP request latency in seconds, by service, method and route template.",
    ["service", "method", "route"],
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
LOG_APPEND = Histogram(
    "mynumber_log_append_seconds",
    "Seconds from handing entries to the exchange log's sequencer until they are durable "
    "(the group commit's wait and transaction), per append call.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LOG_CHECKPOINT_AGE = Gauge(
    "mynumber_log_checkpoint_age_seconds",
    "Seconds the oldest exchange-log entry this registry process committed has waited for a "
    "signed checkpoint to cover it (pending inclusion); 0 when every entry is covered.",
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
