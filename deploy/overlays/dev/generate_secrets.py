"""Generate the development Secrets' source files under deploy/overlays/dev/secrets/.

Development only: production Secrets come from the operator's KMS through the External Secrets
Operator (deploy/overlays/prod/external-secrets.yaml). The files written here are git-ignored
and read by the dev overlay's secretGenerator:

- secrets/postgres/{superuser,<service>}-password: random PostgreSQL passwords;
- secrets/<service>/database-url: postgresql+psycopg URL of the service's own database;
- secrets/<service>/{ca.pem,tls.crt,tls.key}: a throw-away private CA and one certificate per
  service with the SPIFFE identity spiffe://mynumber.local/service/<service> (URI SAN) and the
  service's in-cluster DNS names, usable as both server and client certificate (mutual TLS);
- secrets/<service>/keyring.json: a copy of the keyring given with --keyring (generate one
  with the project's dev tooling; this script does not invent key material for it).

Existing files are kept unless --force is given, so re-running does not rotate anything.
"""

from __future__ import annotations

import argparse
import datetime
import secrets
import shutil
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVICES = ("registry", "municipality", "pension", "tax", "health", "gateway")
TRUST_DOMAIN = "mynumber.local"
VALIDITY = datetime.timedelta(days=90)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _make_ca(now: datetime.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mynumber dev CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_leaf(
    service: str,
    namespace: str,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    now: datetime.datetime,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(f"spiffe://{TRUST_DOMAIN}/service/{service}"),
        x509.DNSName(service),
        x509.DNSName(f"{service}.{namespace}.svc"),
        x509.DNSName(f"{service}.{namespace}.svc.cluster.local"),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, service)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _write(path: Path, data: bytes, force: bool) -> None:
    if path.exists() and not force:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o600)


def generate(out: Path, keyring: Path, namespace: str, force: bool = False) -> None:
    """Write every file the dev overlay's secretGenerator reads into ``out``."""
    keyring_bytes = keyring.read_bytes()
    now = datetime.datetime.now(datetime.UTC)
    ca_key, ca_cert = _make_ca(now)
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    _write(out / "postgres" / "superuser-password", secrets.token_urlsafe(24).encode(), force)
    for service in SERVICES:
        password_file = out / "postgres" / f"{service}-password"
        _write(password_file, secrets.token_urlsafe(24).encode(), force)
        password = password_file.read_text()
        url = f"postgresql+psycopg://{service}:{password}@postgres:5432/{service}"
        _write(out / service / "database-url", url.encode(), force)
        key, cert = _make_leaf(service, namespace, ca_key, ca_cert, now)
        _write(out / service / "ca.pem", ca_pem, force)
        _write(out / service / "tls.crt", cert.public_bytes(serialization.Encoding.PEM), force)
        _write(out / service / "tls.key", _pem_key(key), force)
        _write(out / service / "keyring.json", keyring_bytes, force)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keyring", type=Path, required=True, help="dev keyring JSON to copy")
    parser.add_argument("--namespace", default="mynumber-dev", help="for the certificates' DNS names")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "secrets",
        help="output directory (default: secrets/ beside this script)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    args = parser.parse_args(argv)
    if args.force and args.out.exists():
        shutil.rmtree(args.out)
    generate(args.out, args.keyring, args.namespace, force=args.force)
    print(f"wrote development secrets to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
