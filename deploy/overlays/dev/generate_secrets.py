"""Generate the development Secrets' source files under deploy/overlays/dev/secrets/.

Development only: production Secrets come from the operator's KMS through the External Secrets
Operator (deploy/overlays/prod/external-secrets.yaml). The files written here are git-ignored
and read by the dev overlay's secretGenerator:

- secrets/tls/<service>/{ca.pem,tls.crt,tls.key} and secrets/keys/<service>/keyring.json: the
  dev CA, the per-service certificates (SPIFFE URI SAN) and keyrings, made by the project's own
  ``mynumber_dev.keys`` exactly as ``make keys`` makes them under var/;
- secrets/postgres/{superuser,<service>}-password: random PostgreSQL passwords;
- secrets/db/<service>-url: the postgresql+psycopg URL of the service's own database;
- the witness's certificate (identity ``witness``) and keyring (keyset ``witness-signing``), and
  secrets/witness.env with the dev registry's checkpoint verifier key for it to follow.

Existing files are kept, so re-running rotates nothing; delete secrets/ to start afresh.
Run from the repository root with the project's virtualenv:

    .venv/bin/python deploy/overlays/dev/generate_secrets.py
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

from mynumber_core.keyring import Keyring
from mynumber_core.settings import SERVICE_NAMES, WITNESS_SERVICE
from mynumber_core.tls import issue_service_cert, write_service_material
from mynumber_dev.keys import ensure_dev_keys, keyring_path, tls_dir
from mynumber_dev.witnesses import log_vkey


def _write_once(path: Path, text: str) -> str:
    """Write ``text`` unless the file exists; return the file's content."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o600)
    return path.read_text()


def generate(out: Path) -> None:
    """Write every file the dev overlay's secretGenerator reads into ``out``."""
    ensure_dev_keys(out)
    _write_once(out / "postgres" / "superuser-password", secrets.token_urlsafe(24))
    _witness_material(out)
    for service in (*SERVICE_NAMES, WITNESS_SERVICE):
        password = _write_once(out / "postgres" / f"{service}-password", secrets.token_urlsafe(24))
        url = f"postgresql+psycopg://{service}:{password}@postgres:5432/{service}"
        _write_once(out / "db" / f"{service}-url", url)


def _witness_material(out: Path) -> None:
    """The cluster's one witness: certificate, keyring, and the log it follows."""
    if not (tls_dir(out, WITNESS_SERVICE) / "tls.crt").exists():
        ca_pem, ca_key = (
            (out / "tls" / "ca.pem").read_bytes(),
            (out / "tls" / "ca.key").read_bytes(),
        )
        cert, key = issue_service_cert(ca_pem, ca_key, WITNESS_SERVICE)
        write_service_material(tls_dir(out, WITNESS_SERVICE), ca_pem, cert, key)
    if not keyring_path(out, WITNESS_SERVICE).exists():
        Keyring.generate(["witness-signing"]).save(keyring_path(out, WITNESS_SERVICE))
    _write_once(out / "witness.env", f'MYNUMBER_TRUSTED_LOGS=["{log_vkey(out)}"]\n')


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Generate the dev overlay's secret files.")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "secrets",
        help="output directory (default: secrets/ beside this script)",
    )
    args = parser.parse_args(argv)
    generate(args.out)
    print(f"development secrets are in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
