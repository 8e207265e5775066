"""Policy checks over rendered Kubernetes objects: what every deployment of the platform must be.

Each check takes the list of rendered objects and returns human-readable violations (empty when
the objects comply), so a test can both require a clean report and prove that a broken object
is caught with the right message.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

Obj = dict[str, Any]

SERVICES = ("registry", "municipality", "pension", "tax", "health", "gateway", "witness")
AGENCIES = ("municipality", "pension", "tax", "health")
EXPOSED_SERVICE = "gateway"
SERVER_GRACE_SECONDS = 10
HEALTH_PORT = 8081
# Where each service's pods may open connections, besides DNS (by workload name).
ALLOWED_EGRESS: dict[str, frozenset[str]] = {
    **{agency: frozenset({"registry", "postgres"}) for agency in AGENCIES},
    "registry": frozenset({*AGENCIES, "gateway", "witness", "postgres"}),
    "gateway": frozenset({"registry", "witness", "postgres"}),
    "witness": frozenset({"postgres"}),
}
# The optional OpenTelemetry Collector (deploy/components/otel-collector): every service may
# send it spans; it answers HTTP health checks (not gRPC) and forwards to the tracing backend
# in the monitoring namespace, the only namespace it may reach.
COLLECTOR = "otel-collector"
HTTP_PROBE_PORTS = {COLLECTOR: 13133}
ALLOWED_NAMESPACE_EGRESS = {COLLECTOR: "monitoring"}

HTTP_READINESS_PORTS = {"Deployment/gateway": "http"}
"""Workloads whose readiness is an HTTP probe (the gateway: the portal's port, what the
Ingress sends to); their liveness and startup stay gRPC health probes."""


def _of_kind(objects: Iterable[Obj], kind: str) -> Iterator[Obj]:
    return (obj for obj in objects if obj.get("kind") == kind)


def _name(obj: Obj) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and matchExpressions)."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _pod_labels(obj: Obj) -> dict[str, str]:
    return dict(obj["spec"]["template"]["metadata"].get("labels") or {})


def check_deployments(objects: list[Obj]) -> list[str]:
    """Probes, resources, hardening and grace period of every Deployment."""
    problems: list[str] = []
    for dep in _of_kind(objects, "Deployment"):
        name = _name(dep)
        pod = dep["spec"]["template"]["spec"]
        pod_sc = pod.get("securityContext") or {}
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if grace <= SERVER_GRACE_SECONDS:
            problems.append(
                f"{name}: terminationGracePeriodSeconds {grace} is not above the server's"
                f" {SERVER_GRACE_SECONDS} s grace"
            )
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: automountServiceAccountToken is not false")
        if (pod_sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append(f"{name}: seccompProfile is not RuntimeDefault")
        tmp_volumes = {v["name"] for v in pod.get("volumes") or [] if "emptyDir" in v}
        for container in pod["containers"]:
            where = f"{name} container {container['name']}"
            for probe in ("readinessProbe", "livenessProbe"):
                spec = container.get(probe)
                if not spec:
                    problems.append(f"{where}: no {probe}")
                elif probe == "readinessProbe" and name in HTTP_READINESS_PORTS:
                    named_port = HTTP_READINESS_PORTS[name]
                    if (spec.get("httpGet") or {}).get("port") != named_port:
                        problems.append(f"{where}: {probe} is not an HTTP probe on {named_port}")
                elif name.removeprefix("Deployment/") in HTTP_PROBE_PORTS:
                    port = HTTP_PROBE_PORTS[name.removeprefix("Deployment/")]
                    if (spec.get("httpGet") or {}).get("port") != port:
                        problems.append(f"{where}: {probe} is not an HTTP probe on {port}")
                elif (spec.get("grpc") or {}).get("port") != HEALTH_PORT:
                    problems.append(f"{where}: {probe} is not a gRPC probe on {HEALTH_PORT}")
            resources = container.get("resources") or {}
            for part in ("requests", "limits"):
                have = resources.get(part) or {}
                missing = [r for r in ("cpu", "memory") if r not in have]
                if missing:
                    problems.append(f"{where}: no resources.{part} for {', '.join(missing)}")
            sc = {**pod_sc, **(container.get("securityContext") or {})}
            if sc.get("runAsNonRoot") is not True:
                problems.append(f"{where}: runAsNonRoot is not true")
            uid = sc.get("runAsUser")
            if not isinstance(uid, int) or uid == 0:
                problems.append(f"{where}: runAsUser is not a non-zero numeric uid")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                problems.append(f"{where}: capabilities do not drop ALL")
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts") or []}
            if mounts.get("/tmp") not in tmp_volumes:
                problems.append(f"{where}: /tmp is not an emptyDir")
    return problems


def _policies_selecting(objects: list[Obj], labels: dict[str, str]) -> list[Obj]:
    """NetworkPolicies whose (non-empty) pod selector picks pods with these labels."""
    return [
        pol
        for pol in _of_kind(objects, "NetworkPolicy")
        if pol["spec"].get("podSelector") and selector_matches(pol["spec"]["podSelector"], labels)
    ]


def _is_dns_rule(rule: Obj) -> bool:
    ports = rule.get("ports") or []
    return bool(ports) and all(p.get("port") == 53 for p in ports)


def check_network_policies(objects: list[Obj]) -> list[str]:
    """Default deny, one policy per service, and the allowed egress of each service."""
    problems: list[str] = []
    if not any(
        pol["spec"].get("podSelector") == {}
        and set(pol["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
        and not pol["spec"].get("ingress")
        and not pol["spec"].get("egress")
        for pol in _of_kind(objects, "NetworkPolicy")
    ):
        problems.append("no default-deny NetworkPolicy (empty podSelector, Ingress and Egress)")
    workloads = {
        obj["metadata"]["name"]: _pod_labels(obj)
        for obj in objects
        if obj.get("kind") in ("Deployment", "StatefulSet")
    }
    for dep in _of_kind(objects, "Deployment"):
        service = dep["metadata"]["name"]
        policies = _policies_selecting(objects, _pod_labels(dep))
        if not policies:
            problems.append(f"no NetworkPolicy selects {_name(dep)}")
            continue
        allowed = ALLOWED_EGRESS.get(service, frozenset())
        if service in SERVICES:
            allowed |= {COLLECTOR}
        for pol in policies:
            for rule in pol["spec"].get("egress") or []:
                for peer in rule.get("to") or [{}]:
                    namespace = (peer.get("namespaceSelector") or {}).get("matchLabels") or {}
                    if (
                        "podSelector" not in peer
                        and namespace.get("kubernetes.io/metadata.name")
                        == ALLOWED_NAMESPACE_EGRESS.get(service)
                        and len(namespace) == 1
                    ):
                        continue
                    if "ipBlock" in peer or (
                        "namespaceSelector" in peer and not _is_dns_rule(rule)
                    ):
                        problems.append(f"{_name(pol)}: {service} may leave the namespace")
                        continue
                    if "podSelector" not in peer:
                        problems.append(f"{_name(pol)}: {service} egress to any destination")
                        continue
                    if _is_dns_rule(rule):
                        continue
                    reached = {
                        name
                        for name, labels in workloads.items()
                        if selector_matches(peer["podSelector"], labels)
                    }
                    for extra in sorted(reached - allowed):
                        problems.append(f"{_name(pol)}: {service} may reach {extra}")
    return problems


def check_exposure(objects: list[Obj]) -> list[str]:
    """Only the gateway is reachable from outside the cluster."""
    problems: list[str] = []
    for svc in _of_kind(objects, "Service"):
        kind = svc["spec"].get("type", "ClusterIP")
        if kind != "ClusterIP":
            problems.append(f"{_name(svc)} is of type {kind}")
    ingresses = list(_of_kind(objects, "Ingress"))
    if not ingresses:
        problems.append(f"no Ingress exposes the {EXPOSED_SERVICE}")
    for ing in ingresses:
        backends = [
            path["backend"]
            for rule in ing["spec"].get("rules") or []
            for path in (rule.get("http") or {}).get("paths") or []
        ]
        if "defaultBackend" in ing["spec"]:
            backends.append(ing["spec"]["defaultBackend"])
        for backend in backends:
            target = (backend.get("service") or {}).get("name")
            if target != EXPOSED_SERVICE:
                problems.append(f"{_name(ing)} exposes {target or backend}")
    return problems


def check_disruption_budgets(objects: list[Obj]) -> list[str]:
    """Every Deployment is covered by a PodDisruptionBudget."""
    budgets = list(_of_kind(objects, "PodDisruptionBudget"))
    return [
        f"no PodDisruptionBudget covers {_name(dep)}"
        for dep in _of_kind(objects, "Deployment")
        if not any(
            selector_matches(pdb["spec"].get("selector"), _pod_labels(dep)) for pdb in budgets
        )
    ]


def check_autoscaling(
    objects: list[Obj], services: Iterable[str] = ("registry", "gateway")
) -> list[str]:
    """The stateless services have an autoscaling/v2 HorizontalPodAutoscaler."""
    targets = {
        hpa["spec"]["scaleTargetRef"]["name"]
        for hpa in _of_kind(objects, "HorizontalPodAutoscaler")
        if hpa["apiVersion"] == "autoscaling/v2"
    }
    return [
        f"no HorizontalPodAutoscaler scales Deployment/{s}" for s in services if s not in targets
    ]


def check_no_plaintext_secrets(objects: list[Obj]) -> list[str]:
    """No Secret carries a value: committed manifests only name Secrets, never fill them."""
    return [
        f"{_name(obj)} has plaintext {field}"
        for obj in _of_kind(objects, "Secret")
        for field in ("data", "stringData")
        if obj.get(field)
    ]


def check_all(objects: list[Obj]) -> list[str]:
    """Every check that holds for every overlay."""
    return [
        *check_deployments(objects),
        *check_network_policies(objects),
        *check_exposure(objects),
        *check_disruption_budgets(objects),
    ]
