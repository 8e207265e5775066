"""Monitoring (issue 11, item 8): the prod overlay renders a ServiceMonitor that scrapes every
platform service's metrics port, and a PrometheusRule whose alerts (exchange failures, outbox
lag, log append latency, checkpoint age) use only metric names the code registers.

Without ``promtool`` the check is by name: each alert expression's metric names are parsed
out (string literals, label matchers, range selectors and ``by``/``without``/``on``/
``ignoring`` lists removed; function names and keywords skipped) and looked up among the
sample names that ``prometheus_client``'s default registry — what every service serves on
/metrics — exposes once :mod:`mynumber_core.metrics` is imported.
"""

from __future__ import annotations

import copy
import re

import pytest
from prometheus_client import REGISTRY

from mynumber_core import metrics
from mynumber_core.settings import ServiceSettings
from tests.deploy import manifests, policy
from tests.deploy.manifests import Obj, find

CONCERNS = {
    "exchange failures": "mynumber_exchanges_total",
    "outbox lag": "mynumber_outbox_lag_seconds",
    "log append latency": "mynumber_log_append_seconds_bucket",
    "checkpoint age": "mynumber_log_checkpoint_age_seconds",
}
_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
}
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "enum": ("",),
    "unknown": ("",),
}


@pytest.fixture(scope="module", autouse=True)
def _needs_kubectl() -> None:
    problem = manifests.kubectl_problem()
    if problem is not None:
        pytest.skip(problem)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', "", expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range and subquery selectors
    text = re.sub(
        r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text
    )  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w:.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def registered_names() -> set[str]:
    """Every sample name the services' /metrics can expose (labelled or not yet observed)."""
    assert metrics.GRPC_REQUESTS is not None  # the shared metrics are registered
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in _SUFFIXES[family.type])
    return names


def _alerts(objects: list[Obj]) -> list[Obj]:
    rule = find(objects, "PrometheusRule", "mynumber")
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def test_the_parser_finds_names_and_only_names() -> None:
    assert metric_names(
        'sum by (service, le) (rate(a_total{code=~"INTERNAL|b_total"}[5m] offset 1h))'
        " / on(service) group_left(x) c_seconds > bool 0.5 and absent(d_up)"
    ) == {"a_total", "c_seconds", "d_up"}
    assert metric_names("histogram_quantile(0.99, sum(rate(x_bucket[5m])) by (le))") == {"x_bucket"}
    assert metric_names("max(mynumber:recorded_rule) > 1e3") == {"mynumber:recorded_rule"}


def test_prod_scrapes_every_service_metrics_port() -> None:
    objects = manifests.render("overlays/prod")
    monitor = find(objects, "ServiceMonitor", "mynumber")
    [endpoint] = monitor["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"], endpoint["scheme"]) == (
        "metrics",
        "/metrics",
        "http",
    )
    # The port the code serves /metrics on, unless the shared config moves it.
    default = ServiceSettings.model_fields["metrics_port"].default
    config = next(o for o in objects if o["metadata"]["name"].startswith("mynumber-config"))
    served = int(config["data"].get("MYNUMBER_METRICS_PORT", default))
    for name in policy.SERVICES:
        service = find(objects, "Service", name)
        labels = service["metadata"].get("labels") or {}
        assert policy.selector_matches(monitor["spec"]["selector"], labels), name
        [port] = [p for p in service["spec"]["ports"] if p["name"] == endpoint["port"]]
        container = find(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        [target] = [p for p in container["ports"] if p["name"] == port["targetPort"]]
        assert target["containerPort"] == served, name
    # Only the platform's Services: not PostgreSQL nor the collector.
    for other in ("postgres", "otel-collector"):
        labels = find(objects, "Service", other)["metadata"].get("labels") or {}
        assert not policy.selector_matches(monitor["spec"]["selector"], labels), other


def test_prod_alerts_cover_the_four_concerns_with_registered_metrics() -> None:
    alerts = _alerts(manifests.render("overlays/prod"))
    registered = registered_names()
    used: set[str] = set()
    for alert in alerts:
        names = metric_names(alert["expr"])
        assert names, f"{alert['alert']} selects no metric"
        unknown = names - registered
        assert not unknown, f"{alert['alert']} uses metrics the code never registers: {unknown}"
        assert alert["labels"]["severity"] in ("warning", "critical"), alert["alert"]
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]
        used |= names
    for concern, name in CONCERNS.items():
        assert name in used, f"no alert on {concern} ({name})"
    assert len({a["alert"] for a in alerts}) == len(alerts), "alert names repeat"


def test_a_misspelt_metric_in_an_alert_is_caught() -> None:
    alerts = copy.deepcopy(_alerts(manifests.render("overlays/prod")))
    [stale] = [a for a in alerts if a["alert"] == "MyNumberCheckpointStale"]
    stale["expr"] = stale["expr"].replace("checkpoint_age", "checkpoint_ages")
    assert metric_names(stale["expr"]) - registered_names() == {
        "mynumber_log_checkpoint_ages_seconds"
    }


@pytest.mark.parametrize("target", ["base", "overlays/dev"])
def test_only_prod_needs_the_prometheus_operator(target: str) -> None:
    kinds = {o["kind"] for o in manifests.render(target)}
    assert not kinds & {"ServiceMonitor", "PrometheusRule"}
