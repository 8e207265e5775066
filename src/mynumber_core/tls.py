"""Mutual TLS: the private CA, service certificates with SPIFFE identities, and credentials.

Each service's identity is the URI SAN ``spiffe://mynumber.local/service/<name>`` of its
certificate. Servers require client certificates from the same CA; the server credentials
re-read the certificate files when they change, so certificates rotate without a restart.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mynumber_core.clock import utc_now

TRUST_DOMAIN = "mynumber.local"
SPIFFE_PREFIX = f"spiffe://{TRUST_DOMAIN}/service/"
CA_FILE, CERT_FILE, KEY_FILE = "ca.pem", "tls.crt", "tls.key"


def spiffe_id(service: str) -> str:
    """The SPIFFE URI naming a service."""
    return SPIFFE_PREFIX + service


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def generate_ca(common_name: str = "My Number platform dev CA") -> tuple[bytes, bytes]:
    """A self-signed CA: (certificate PEM, private key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(utc_now() - dt.timedelta(minutes=5))
        .not_valid_after(utc_now() + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


def issue_service_cert(
    ca_cert_pem: bytes, ca_key_pem: bytes, service: str, *, days: int = 365
) -> tuple[bytes, bytes]:
    """A certificate for one service, usable as both TLS server and client."""
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(spiffe_id(service)),
        x509.DNSName(service),
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, service)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(utc_now() - dt.timedelta(minutes=5))
        .not_valid_after(utc_now() + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [x509.ExtendedKeyUsageOID.SERVER_AUTH, x509.ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


def write_service_material(directory: Path, ca_pem: bytes, cert_pem: bytes, key_pem: bytes) -> None:
    """Write ca.pem / tls.crt / tls.key the way a Kubernetes TLS Secret mounts them."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CA_FILE).write_bytes(ca_pem)
    (directory / CERT_FILE).write_bytes(cert_pem)
    key_path = directory / KEY_FILE
    key_path.write_bytes(key_pem)
    key_path.chmod(0o600)


@dataclass(frozen=True)
class TlsMaterial:
    """One service's CA bundle, certificate chain and key, as loaded from its directory."""

    directory: Path

    def read(self) -> tuple[bytes, bytes, bytes]:
        """(ca, cert, key) PEM bytes, read fresh from disk."""
        d = self.directory
        try:
            return (
                (d / CA_FILE).read_bytes(),
                (d / CERT_FILE).read_bytes(),
                (d / KEY_FILE).read_bytes(),
            )
        except FileNotFoundError as exc:
            raise RuntimeError(
                f"TLS material missing in {d} ({exc.filename}); run `make keys` "
                "or set MYNUMBER_TLS_DIR"
            ) from None

    def server_credentials(self) -> grpc.ServerCredentials:
        """mTLS server credentials that reload the files when they change on disk."""
        ca, cert, key = self.read()
        state = {"fingerprint": (ca, cert, key)}

        def fetch() -> grpc.ServerCertificateConfiguration | None:
            try:
                current = self.read()
            except RuntimeError:
                return None  # keep serving with the last good material
            if current == state["fingerprint"]:
                return None
            state["fingerprint"] = current
            new_ca, new_cert, new_key = current
            return grpc.ssl_server_certificate_configuration([(new_key, new_cert)], new_ca)

        initial = grpc.ssl_server_certificate_configuration([(key, cert)], ca)
        return grpc.dynamic_ssl_server_credentials(
            initial, fetch, require_client_authentication=True
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """mTLS client credentials presenting this service's certificate."""
        ca, cert, key = self.read()
        return grpc.ssl_channel_credentials(
            root_certificates=ca, private_key=key, certificate_chain=cert
        )


@lru_cache(maxsize=256)
def _identity_from_pem(pem: bytes) -> str | None:
    cert = x509.load_pem_x509_certificate(pem)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(SPIFFE_PREFIX):
            return uri.removeprefix(SPIFFE_PREFIX)
    return None


def peer_service(context: grpc.ServicerContext) -> str | None:
    """The calling service's name from its verified client certificate, or None."""
    auth = context.auth_context()
    pems = auth.get("x509_pem_cert")
    if not pems:
        return None
    return _identity_from_pem(bytes(pems[0]))
