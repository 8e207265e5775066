"""Kubernetes scale-out: gRPC Services are headless (client-side round_robin reaches every
replica, and a new pod gets traffic once connections age out), every platform server has a
startup probe, and the gateway is ready only when its HTTP port answers."""

from __future__ import annotations

import pytest

from tests.deploy import manifests
from tests.deploy.manifests import TARGETS, Obj, find

SERVERS = ("registry", "municipality", "pension", "tax", "health", "gateway", "witness")


@pytest.fixture(autouse=True)
def _needs_kubectl() -> None:
    problem = manifests.kubectl_problem()
    if problem:
        pytest.skip(problem)


def _container(objects: list[Obj], name: str) -> Obj:
    deployment = find(objects, "Deployment", name)
    [container] = [
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == name
    ]
    return dict(container)


@pytest.mark.parametrize("target", TARGETS)
def test_grpc_services_are_headless_and_servers_have_startup_probes(target: str) -> None:
    objects = manifests.render(target)
    for name in SERVERS:
        service = find(objects, "Service", name)
        assert service["spec"].get("clusterIP") == "None", f"Service/{name} is not headless"
        assert any(p.get("appProtocol") == "grpc" for p in service["spec"]["ports"])
        container = _container(objects, name)
        startup = container.get("startupProbe") or {}
        assert (startup.get("grpc") or {}).get("port") == 8081, f"{name}: no startupProbe"
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 30
    gateway = _container(objects, "gateway")
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
