"""Generate the development Secrets' source files under deploy/overlays/dev/secrets/.

Development only: production Secrets come from the operator's KMS through the External Secrets
Operator (deploy/overlays/prod/external-secrets.yaml). The files written here are git-ignored
and read by the dev overlay's secretGenerator:

- secrets/tls/<service>/{ca.pem,tls.crt,tls.key} and secrets/keys/<service>/keyring.json: the
  dev CA, the per-service certificates (SPIFFE URI SAN) and keyrings, made by the project's own
  ``mynumber_dev.keys`` exactly as ``make keys`` makes them under var/;
- secrets/postgres/{superuser,<service>}-password: random PostgreSQL passwords;
- secrets/db/<service>-url: the postgresql+psycopg URL of the service's own database.

Existing files are kept, so re-running rotates nothing; delete secrets/ to start afresh.
Run from the repository root with the project's virtualenv:

    .venv/bin/python deploy/overlays/dev/generate_secrets.py
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

from mynumber_core.settings import SERVICE_NAMES
from mynumber_dev.keys import ensure_dev_keys


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
    for service in SERVICE_NAMES:
        password = _write_once(out / "postgres" / f"{service}-password", secrets.token_urlsafe(24))
        url = f"postgresql+psycopg://{service}:{password}@postgres:5432/{service}"
        _write_once(out / "db" / f"{service}-url", url)


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
