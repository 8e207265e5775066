"""Development key material: one keyring and one mTLS certificate per service.

In production the operator's KMS provides these (see deploy/README.md); ``make run`` and the
tests generate them here with :mod:`cryptography`. Layout under ``var/``::

    var/tls/ca.pem, ca.key              the private CA (dev only)
    var/tls/<identity>/{ca.pem,tls.crt,tls.key}
    var/keys/<service>/keyring.json
"""

from __future__ import annotations

from pathlib import Path

from mynumber_core.keyring import Keyring
from mynumber_core.settings import SERVICE_NAMES
from mynumber_core.tls import generate_ca, issue_service_cert, write_service_material

DEV_WITNESSES = ("witness-1", "witness-2")
"""The dev setup's two log witnesses: each its own process, identity, keyring and database."""

IDENTITIES = (*SERVICE_NAMES, *DEV_WITNESSES, "operator", "auditor")
"""mTLS identities: every service, the witnesses, the operator's admin CLI and the auditor's
log monitor."""

KEYSETS: dict[str, list[str]] = {
    "registry": [
        "data",
        "blind",
        "person",
        "token",
        "tag",
        "log-signing",
        "card-ca",
        "directory-signing",
    ],
    "municipality": ["data", "blind", "hpke"],
    "pension": ["data", "blind", "hpke"],
    "tax": ["data", "blind", "hpke"],
    "health": ["data", "blind", "hpke"],
    "gateway": ["data", "blind", "session", "hpke"],
}
"""Keysets per service. Each data domain's ``hpke`` keyset seals and opens exchange answers
(:mod:`mynumber_core.sealing`); the registry holds none, only the directory's signing key."""

KEYSETS.update({witness: ["witness-signing"] for witness in DEV_WITNESSES})


def ensure_dev_keys(var: Path) -> bool:
    """Create missing CA, certificates and keyrings under ``var``; True if anything was made."""
    made = False
    tls_root = var / "tls"
    ca_cert_path, ca_key_path = tls_root / "ca.pem", tls_root / "ca.key"
    if not ca_cert_path.exists():
        tls_root.mkdir(parents=True, exist_ok=True)
        ca_pem, ca_key = generate_ca()
        ca_cert_path.write_bytes(ca_pem)
        ca_key_path.write_bytes(ca_key)
        ca_key_path.chmod(0o600)
        made = True
    ca_pem, ca_key = ca_cert_path.read_bytes(), ca_key_path.read_bytes()
    for identity in IDENTITIES:
        directory = tls_root / identity
        if not (directory / "tls.crt").exists():
            cert, key = issue_service_cert(ca_pem, ca_key, identity)
            write_service_material(directory, ca_pem, cert, key)
            made = True
    for service, names in KEYSETS.items():
        path = keyring_path(var, service)
        if not path.exists():
            Keyring.generate(names).save(path)
            made = True
        else:
            keyring = Keyring.load(path)
            if keyring.add_missing(names):  # a keyset added since this folder was made
                keyring.save(path)
                made = True
    return made


def keyring_path(var: Path, service: str) -> Path:
    """Where a service's dev keyring lives."""
    return var / "keys" / service / "keyring.json"


def tls_dir(var: Path, identity: str) -> Path:
    """Where an identity's dev certificate lives."""
    return var / "tls" / identity
