"""Invariant 7 at the registry: every peer is authenticated by mutual TLS, and the identity in
its certificate decides which methods it may call (deny by default).

Each refused call is proven never to reach the handler twice over: a counter wrapped around
the registry's use case stays at zero, and no registry table changes. The health port answers
grpc.health.v1 in plaintext for probes and serves nothing else; reflection works on the API
port for platform peers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_core.tls import generate_ca, issue_service_cert
from services.registry.usecases import Registry
from tests.integration.registry.conftest import RegistryEnv, new_facts

REGISTRY_SERVICES = {
    "mynumber.registry.v1.Registry",
    "mynumber.registry.v1.Hub",
    "mynumber.registry.v1.ExchangeLog",
}


@pytest.fixture
def calls(env: RegistryEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Names of registry use cases that actually ran during the test."""
    register = env.stack.apps["registry"].register
    [registry] = [
        cell.cell_contents
        for cell in register.__closure__ or ()
        if isinstance(cell.cell_contents, Registry)
    ]
    ran: list[str] = []

    def counting(name: str) -> Callable[..., Any]:
        original = getattr(registry, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ran.append(name)
            return original(*args, **kwargs)

        return wrapper

    for name in ("register", "link", "query", "rotate_key"):
        monkeypatch.setattr(registry, name, counting(name))
    yield ran


def _pem(var: Path, name: str) -> bytes:
    return (var / "tls" / name).read_bytes()


def _channel(
    env: RegistryEnv, credentials: grpc.ChannelCredentials, name: str = "registry"
) -> grpc.Channel:
    return grpc.secure_channel(
        env.stack.endpoints["registry"],
        credentials,
        options=[("grpc.ssl_target_name_override", name)],
    )


def _cert_without_identity(ca_pem: bytes, ca_key_pem: bytes) -> tuple[bytes, bytes]:
    """Signed by the platform CA, but with no SPIFFE service identity in it."""
    ca = x509.load_pem_x509_certificate(ca_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "municipality")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("municipality")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _register_with(channel: grpc.Channel) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        pb_grpc.RegistryStub(channel).RegisterResident(
            pb.RegisterResidentRequest(facts=new_facts()), timeout=5
        )
    return info.value


def test_a_client_without_a_certificate_is_rejected(env: RegistryEnv, calls: list[str]) -> None:
    before = env.snapshot()
    credentials = grpc.ssl_channel_credentials(root_certificates=_pem(env.stack.var, "ca.pem"))
    with _channel(env, credentials) as channel:
        error = _register_with(channel)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert calls == [] and env.snapshot() == before


def test_a_certificate_from_another_ca_is_rejected(env: RegistryEnv, calls: list[str]) -> None:
    before = env.snapshot()
    other_ca, other_key = generate_ca("somebody else's CA")
    cert, key = issue_service_cert(other_ca, other_key, "municipality")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_pem(env.stack.var, "ca.pem"), private_key=key, certificate_chain=cert
    )
    with _channel(env, credentials) as channel:
        error = _register_with(channel)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert calls == [] and env.snapshot() == before


def test_a_platform_certificate_without_an_identity_is_unauthenticated(
    env: RegistryEnv, calls: list[str]
) -> None:
    before = env.snapshot()
    var = env.stack.var
    cert, key = _cert_without_identity(_pem(var, "ca.pem"), _pem(var, "ca.key"))
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_pem(var, "ca.pem"), private_key=key, certificate_chain=cert
    )
    with _channel(env, credentials) as channel:
        error = _register_with(channel)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "certificate" in error.details()
    assert calls == [] and env.snapshot() == before


@pytest.mark.parametrize(
    ("identity", "method"),
    [
        ("pension", "RegisterResident"),
        ("gateway", "RegisterResident"),
        ("police", "RegisterResident"),  # a valid platform certificate for an unknown service
        ("operator", "Link"),
        ("operator", "Query"),
        ("tax", "RotateTokenKey"),
        ("pension", "ListEntries"),
    ],
)
def test_a_valid_certificate_with_the_wrong_identity_is_denied(
    env: RegistryEnv, calls: list[str], identity: str, method: str
) -> None:
    resident = env.linked("pension")
    calls.clear()
    before = env.snapshot()
    var = env.stack.var
    if identity == "police":
        cert, key = issue_service_cert(_pem(var, "ca.pem"), _pem(var, "ca.key"), "police")
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_pem(var, "ca.pem"), private_key=key, certificate_chain=cert
        )
        channel = _channel(env, credentials)
    else:
        channel = env.stack.channel("registry", as_identity=identity)
    requests = {
        "RegisterResident": lambda: pb_grpc.RegistryStub(channel).RegisterResident(
            pb.RegisterResidentRequest(facts=new_facts())
        ),
        "Link": lambda: pb_grpc.RegistryStub(channel).Link(
            pb.LinkRequest(my_number=resident.my_number, facts=resident.facts)
        ),
        "Query": lambda: pb_grpc.HubStub(channel).Query(
            pb.QueryRequest(
                token=resident.tokens["pension"],
                provider="tax",
                item="income",
                procedure="pension.exemption",
                request_id="mtls-1",
            )
        ),
        "RotateTokenKey": lambda: pb_grpc.RegistryStub(channel).RotateTokenKey(
            pb.RotateTokenKeyRequest(domain="tax")
        ),
        "ListEntries": lambda: pb_grpc.ExchangeLogStub(channel).ListEntries(
            pb.ListEntriesRequest(token=resident.tokens["pension"])
        ),
    }
    with pytest.raises(grpc.RpcError) as info:
        requests[method]()
    error: grpc.RpcError = info.value
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert f"identity {identity!r} may not call /mynumber.registry.v1." in error.details()
    assert calls == [] and env.snapshot() == before


def test_the_right_identity_does_reach_the_handler(env: RegistryEnv, calls: list[str]) -> None:
    """Control for the tests above: the same call with the right certificate runs and writes."""
    before = env.snapshot()
    env.register()
    assert calls == ["register"]
    assert len(env.snapshot()["persons"]) == len(before["persons"]) + 1


def test_plaintext_to_the_api_port_fails(env: RegistryEnv, calls: list[str]) -> None:
    before = env.snapshot()
    with grpc.insecure_channel(env.stack.endpoints["registry"]) as channel:
        error = _register_with(channel)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert calls == [] and env.snapshot() == before


def test_the_client_checks_the_servers_identity(env: RegistryEnv, calls: list[str]) -> None:
    # A client that dials "tax" must not accept the registry's certificate (and vice versa).
    var = env.stack.var
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_pem(var, "ca.pem"),
        private_key=_pem(var, "municipality/tls.key"),
        certificate_chain=_pem(var, "municipality/tls.crt"),
    )
    with _channel(env, credentials, name="tax") as channel:
        error = _register_with(channel)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert calls == []


def test_the_health_port_answers_probes_in_plaintext_and_nothing_else(
    env: RegistryEnv, calls: list[str]
) -> None:
    health_port = env.stack.servers["registry"].health_port
    with grpc.insecure_channel(f"127.0.0.1:{health_port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", *sorted(REGISTRY_SERVICES)):
            response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert response.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as unknown:
            health.Check(health_pb2.HealthCheckRequest(service="mynumber.tax.v1.Tax"), timeout=5)
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
        before = env.snapshot()
        error = _register_with(channel)
        assert error.code() == grpc.StatusCode.UNIMPLEMENTED
        with pytest.raises(grpc.RpcError) as reflection:
            list(
                reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                    iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
                )
            )
        assert reflection.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert calls == [] and env.snapshot() == before


def test_reflection_lists_the_registry_services(env: RegistryEnv) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(
        env.stack.channel("registry", as_identity="pension")
    )
    [response] = list(
        stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    )
    names = {s.name for s in response.list_services_response.service}
    assert names >= REGISTRY_SERVICES
    assert "grpc.reflection.v1alpha.ServerReflection" in names
    # Reflection also describes the methods, e.g. for grpcurl.
    [described] = list(
        stub.ServerReflectionInfo(
            iter(
                [
                    reflection_pb2.ServerReflectionRequest(
                        file_containing_symbol="mynumber.registry.v1.Hub"
                    )
                ]
            )
        )
    )
    assert described.file_descriptor_response.file_descriptor_proto
