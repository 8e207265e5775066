"""The kustomize base and overlays render, validate against the Kubernetes schemas, and comply.

Also proves that the policy checker catches what it claims to: each mutation test breaks one
thing in the rendered objects and expects exactly that violation.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tests.deploy import manifests, policy
from tests.deploy.manifests import Obj, find

KUBERNETES_VERSION = "1.33.0"
# Custom resources the overlays use; kubernetes-validate only knows the built-in kinds, so these
# are checked against the subset of their CRD schema that the manifests rely on.
EXTERNAL_SECRET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "external-secrets.io/v1"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["secretStoreRef", "target", "data"],
            "additionalProperties": False,
            "properties": {
                "refreshInterval": {"type": "string"},
                "secretStoreRef": {
                    "type": "object",
                    "required": ["kind", "name"],
                    "additionalProperties": False,
                    "properties": {
                        "kind": {"enum": ["SecretStore", "ClusterSecretStore"]},
                        "name": {"type": "string"},
                    },
                },
                "target": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "creationPolicy": {"enum": ["Owner", "Orphan", "Merge", "None"]},
                        "deletionPolicy": {"enum": ["Delete", "Merge", "Retain"]},
                    },
                },
                "data": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["secretKey", "remoteRef"],
                        "additionalProperties": False,
                        "properties": {
                            "secretKey": {"type": "string"},
                            "remoteRef": {
                                "type": "object",
                                "required": ["key"],
                                "properties": {
                                    "key": {"type": "string"},
                                    "property": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
_METADATA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}, "labels": _LABELS},
}
# The Prometheus Operator's CRDs (monitoring.coreos.com/v1), the part the monitoring component
# (deploy/components/monitoring) uses; unknown fields are errors, as in the CRD's schema.
SERVICE_MONITOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "jobLabel": {"type": "string"},
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "matchLabels": _LABELS,
                        "matchExpressions": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["key", "operator"],
                                "additionalProperties": False,
                                "properties": {
                                    "key": {"type": "string"},
                                    "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                                    "values": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                        },
                    },
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["port"],
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                            "scrapeTimeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                            "relabelings": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "sourceLabels": {
                                            "type": "array",
                                            "items": {"type": "string"},
                                        },
                                        "targetLabel": {"type": "string"},
                                        "action": {"type": "string"},
                                        "regex": {"type": "string"},
                                        "replacement": {"type": "string"},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}
PROMETHEUS_RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "required": ["groups"],
            "additionalProperties": False,
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["name", "rules"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string"},
                            "interval": {"type": "string"},
                            "rules": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["alert", "expr"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "alert": {"type": "string", "pattern": "^[A-Za-z]\\w*$"},
                                        "expr": {"type": "string", "minLength": 1},
                                        "for": {"type": "string", "pattern": "^[0-9]+(s|m|h)$"},
                                        "labels": _LABELS,
                                        "annotations": _LABELS,
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}
CUSTOM_SCHEMAS = {
    ("external-secrets.io/v1", "ExternalSecret"): EXTERNAL_SECRET_SCHEMA,
    ("monitoring.coreos.com/v1", "ServiceMonitor"): SERVICE_MONITOR_SCHEMA,
    ("monitoring.coreos.com/v1", "PrometheusRule"): PROMETHEUS_RULE_SCHEMA,
}


@pytest.fixture(scope="module", autouse=True)
def _needs_kubectl() -> None:
    problem = manifests.kubectl_problem()
    if problem is not None:
        pytest.skip(problem)


def validate(obj: Obj) -> None:
    """Schema-validate one object (strict: unknown fields are errors)."""
    custom = CUSTOM_SCHEMAS.get((obj["apiVersion"], obj["kind"]))
    if custom is not None:
        jsonschema.Draft202012Validator(custom).validate(obj)
    else:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("target", manifests.TARGETS)
def test_renders_and_validates(target: str) -> None:
    objects = manifests.render(target)
    assert objects
    errors = []
    for obj in objects:
        try:
            validate(obj)
        except (kubernetes_validate.ValidationError, jsonschema.ValidationError) as exc:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc}")
    assert errors == []


def test_schema_validation_catches_a_misspelt_field() -> None:
    dep = find(manifests.render("base"), "Deployment", "registry")
    dep["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"grpc": {"port": 8081}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(dep)


@pytest.mark.parametrize("target", manifests.TARGETS)
def test_policy_holds(target: str) -> None:
    assert policy.check_all(manifests.render(target)) == []


@pytest.mark.parametrize("target", ["base", "overlays/prod"])
def test_committed_secrets_hold_no_values(target: str) -> None:
    assert policy.check_no_plaintext_secrets(manifests.render(target)) == []


@pytest.mark.parametrize("target", ["base", "overlays/prod"])
def test_stateless_services_autoscale(target: str) -> None:
    assert policy.check_autoscaling(manifests.render(target)) == []


def test_every_service_and_its_migration_job() -> None:
    objects = manifests.render("base")
    config = next(o for o in objects if o["metadata"]["name"].startswith("mynumber-config"))
    endpoints = json.loads(config["data"]["MYNUMBER_ENDPOINTS"])
    assert endpoints == {name: f"{name}:50051" for name in policy.SERVICES}
    assert config["data"]["MYNUMBER_GRACE_SECONDS"] == "10"
    for name in policy.SERVICES:
        pod = find(objects, "Deployment", name)["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["command"] == ["python", "-m", f"services.{name}"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        expected = {"grpc": 50051, "health": 8081, "metrics": 9090}
        if name == "gateway":
            expected["http"] = 8080
        assert ports == expected
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/etc/mynumber/tls", "/etc/mynumber/keyring", "/tmp"} <= mounts
        assert find(objects, "ServiceAccount", name)["automountServiceAccountToken"] is False
        job = find(objects, "Job", f"{name}-migrate")["spec"]["template"]["spec"]
        assert job["containers"][0]["command"] == [
            "python",
            "-m",
            "mynumber_core.migrations",
            name,
            "upgrade",
        ]


def test_overlay_sizes() -> None:
    dev, prod = manifests.render("overlays/dev"), manifests.render("overlays/prod")
    for name in policy.SERVICES:
        assert find(dev, "Deployment", name)["spec"]["replicas"] == 1
        assert find(prod, "Deployment", name)["spec"]["replicas"] >= 3
    assert not [o for o in dev if o["kind"] == "HorizontalPodAutoscaler"]
    ingress = find(prod, "Ingress", "gateway")["spec"]
    assert ingress["tls"][0]["hosts"] == [ingress["rules"][0]["host"]]


def test_dev_secrets_are_generated_not_committed() -> None:
    secrets = [o for o in manifests.render("overlays/dev") if o["kind"] == "Secret"]
    assert len(secrets) == 3 * len(policy.SERVICES) + 1
    assert (manifests.DEPLOY / "overlays" / "dev" / ".gitignore").read_text().split() == [
        "secrets/"
    ]


# --- the checker can fail -------------------------------------------------------------------


def _pod(objects: list[Obj], name: str) -> Obj:
    spec: Obj = find(objects, "Deployment", name)["spec"]["template"]["spec"]
    return spec


def _drop_readiness(objs: list[Obj]) -> None:
    del _pod(objs, "registry")["containers"][0]["readinessProbe"]


def _drop_liveness(objs: list[Obj]) -> None:
    del _pod(objs, "gateway")["containers"][0]["livenessProbe"]


def _drop_limit(objs: list[Obj]) -> None:
    del _pod(objs, "tax")["containers"][0]["resources"]["limits"]["memory"]


def _drop_requests(objs: list[Obj]) -> None:
    del _pod(objs, "health")["containers"][0]["resources"]["requests"]


def _run_as_root(objs: list[Obj]) -> None:
    pod = _pod(objs, "pension")
    pod["securityContext"]["runAsUser"] = 0
    pod["containers"][0]["securityContext"]["runAsUser"] = 0


def _writable_root(objs: list[Obj]) -> None:
    _pod(objs, "municipality")["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False


def _short_grace(objs: list[Obj]) -> None:
    _pod(objs, "registry")["terminationGracePeriodSeconds"] = 10


def _drop_network_policy(objs: list[Obj]) -> None:
    objs.remove(find(objs, "NetworkPolicy", "pension"))


def _drop_default_deny(objs: list[Obj]) -> None:
    objs.remove(find(objs, "NetworkPolicy", "default-deny"))


def _agency_reaches_agency(objs: list[Obj]) -> None:
    rule = find(objs, "NetworkPolicy", "tax")["spec"]["egress"][0]
    rule["to"][0]["podSelector"]["matchExpressions"][0]["values"].append("health")


def _expose_registry(objs: list[Obj]) -> None:
    rules = find(objs, "Ingress", "gateway")["spec"]["rules"]
    backend = copy.deepcopy(rules[0]["http"]["paths"][0])
    backend["path"] = "/registry"
    backend["backend"]["service"]["name"] = "registry"
    rules[0]["http"]["paths"].append(backend)


def _load_balancer(objs: list[Obj]) -> None:
    find(objs, "Service", "registry")["spec"]["type"] = "LoadBalancer"


def _drop_pdb(objs: list[Obj]) -> None:
    objs.remove(find(objs, "PodDisruptionBudget", "tax"))


MUTATIONS: list[tuple[Callable[[list[Obj]], None], str]] = [
    (_drop_readiness, "Deployment/registry container registry: no readinessProbe"),
    (_drop_liveness, "Deployment/gateway container gateway: no livenessProbe"),
    (_drop_limit, "Deployment/tax container tax: no resources.limits for memory"),
    (_drop_requests, "Deployment/health container health: no resources.requests for cpu, memory"),
    (_run_as_root, "Deployment/pension container pension: runAsUser is not a non-zero numeric uid"),
    (
        _writable_root,
        "Deployment/municipality container municipality: readOnlyRootFilesystem is not true",
    ),
    (
        _short_grace,
        "Deployment/registry: terminationGracePeriodSeconds 10 "
        "is not above the server's 10 s grace",
    ),
    (_drop_network_policy, "no NetworkPolicy selects Deployment/pension"),
    (_drop_default_deny, "no default-deny NetworkPolicy (empty podSelector, Ingress and Egress)"),
    (_agency_reaches_agency, "NetworkPolicy/tax: tax may reach health"),
    (_expose_registry, "Ingress/gateway exposes registry"),
    (_load_balancer, "Service/registry is of type LoadBalancer"),
    (_drop_pdb, "no PodDisruptionBudget covers Deployment/tax"),
]


@pytest.mark.parametrize(("mutate", "violation"), MUTATIONS, ids=[m.__name__ for m, _ in MUTATIONS])
def test_checker_reports_the_violation(mutate: Callable[[list[Obj]], None], violation: str) -> None:
    objects = manifests.render("base")
    mutate(objects)
    assert policy.check_all(objects) == [violation]


def test_checker_reports_a_plaintext_secret() -> None:
    objects = manifests.render("base")
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "leak"},
            "stringData": {"url": "postgresql+psycopg://registry:hunter2@postgres/registry"},
        }
    )
    assert policy.check_no_plaintext_secrets(objects) == ["Secret/leak has plaintext stringData"]


def test_checker_reports_a_missing_autoscaler() -> None:
    objects = manifests.render("overlays/prod")
    objects.remove(find(objects, "HorizontalPodAutoscaler", "registry"))
    assert policy.check_autoscaling(objects) == [
        "no HorizontalPodAutoscaler scales Deployment/registry"
    ]


# --- the optional OpenTelemetry Collector (prod) ----------------------------------------------


def _config(objects: list[Obj]) -> dict[str, str]:
    maps = [o for o in objects if o["kind"] == "ConfigMap"]
    (config,) = [m for m in maps if m["metadata"]["name"].startswith("mynumber-config")]
    data: dict[str, str] = config["data"]
    return data


def test_prod_exports_traces_to_the_collector_and_only_prod() -> None:
    prod = manifests.render("overlays/prod")
    assert _config(prod)["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317"
    service = find(prod, "Service", "otel-collector")
    assert [p["port"] for p in service["spec"]["ports"]] == [4317]
    export = find(prod, "NetworkPolicy", "otel-export")
    for name in policy.SERVICES:
        labels = find(prod, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert policy.selector_matches(export["spec"]["podSelector"], labels), name
    for target in ("base", "overlays/dev"):
        objects = manifests.render(target)
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in _config(objects)
        assert not [o for o in objects if o["metadata"]["name"].startswith("otel-")]


def test_checker_keeps_the_collector_in_bounds() -> None:
    objects = manifests.render("overlays/prod")
    collector = find(objects, "NetworkPolicy", "otel-collector")
    selector = collector["spec"]["egress"][0]["to"][0]["namespaceSelector"]["matchLabels"]
    selector["kubernetes.io/metadata.name"] = "kube-system"
    del _pod(objects, "otel-collector")["containers"][0]["readinessProbe"]["httpGet"]
    assert policy.check_all(objects) == [
        "Deployment/otel-collector container otel-collector: readinessProbe is not an HTTP "
        "probe on 13133",
        "NetworkPolicy/otel-collector: otel-collector may leave the namespace",
    ]


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_every_pod_at_its_most_replicas_fits_in_postgres_connections(overlay: str) -> None:
    """Σ over the Deployments reading the shared config of (replicas, or the autoscaler's
    maximum) × (pool + overflow) stays below the PostgreSQL server's ``max_connections``."""
    objects = manifests.render(f"overlays/{overlay}")
    maps = [o for o in objects if o["kind"] == "ConfigMap"]
    (config,) = [m for m in maps if m["metadata"]["name"].startswith("mynumber-config")]
    per_pod = int(config["data"]["MYNUMBER_DB_POOL_SIZE"]) + int(
        config["data"]["MYNUMBER_DB_MAX_OVERFLOW"]
    )
    most = {
        o["spec"]["scaleTargetRef"]["name"]: o["spec"]["maxReplicas"]
        for o in objects
        if o["kind"] == "HorizontalPodAutoscaler"
    }
    pods = 0
    for o in objects:
        if o["kind"] != "Deployment":
            continue
        (container,) = o["spec"]["template"]["spec"]["containers"]
        sources = [ref.get("configMapRef", {}).get("name") for ref in container.get("envFrom", [])]
        if config["metadata"]["name"] in sources:
            pods += most.get(o["metadata"]["name"], o["spec"].get("replicas", 1))
    args = find(objects, "StatefulSet", "postgres")["spec"]["template"]["spec"]["containers"][0]
    limit = int(next(a.split("=", 1)[1] for a in args["args"] if a.startswith("max_connections")))
    assert pods > 0 and per_pod > 0
    assert pods * per_pod < limit, f"{pods} pods × {per_pod} connections ≥ {limit}"
