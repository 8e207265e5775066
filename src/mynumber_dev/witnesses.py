"""The dev setup's two log witnesses: names, settings, and the trust file clients pin.

Each witness (``witness-1``, ``witness-2``) is a ``python -m services.witness`` process with
its own certificate, keyring (keyset ``witness-signing``) and database. The launcher gives it
the registry's log verifier key to follow; the registry is told which witnesses to ask.
:func:`write_trust_file` writes ``var/log-trust.json``, the keys a resident's CLI pins.
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mynumber_core.checkpoint import verifier_key
from mynumber_core.cosignature import cosigner_vkey
from mynumber_core.keyring import Keyring
from mynumber_dev.keys import DEV_WITNESSES, keyring_path

LOG_ORIGIN = "mynumber.local/exchange-log"
"""The exchange log's origin and key name (services.registry.exchange_log.CHECKPOINT_ORIGIN)."""

BASE_PORTS = {"witness-1": 50057, "witness-2": 50058}
TRUST_FILE = "log-trust.json"


def module_of(service: str) -> str:
    """The ``services.<module>`` a platform process runs (every witness runs ``witness``)."""
    return "witness" if service in DEV_WITNESSES else service


def key_name(witness: str) -> str:
    """The cosigner key name of a dev witness."""
    return f"{witness}.mynumber.local"


def log_vkey(var: Path) -> str:
    """The registry's checkpoint verifier key, from its dev keyring."""
    seed = Keyring.load(keyring_path(var, "registry")).keyset("log-signing").active_key
    return verifier_key(LOG_ORIGIN, Ed25519PrivateKey.from_private_bytes(seed).public_key())


def witness_vkey(var: Path, witness: str) -> str:
    """A dev witness's cosigner verifier key, from its dev keyring."""
    seed = Keyring.load(keyring_path(var, witness)).keyset("witness-signing").active_key
    return cosigner_vkey(key_name(witness), Ed25519PrivateKey.from_private_bytes(seed).public_key())


def witness_env(var: Path, witness: str) -> dict[str, str]:
    """The extra environment of one witness process."""
    return {
        "MYNUMBER_WITNESS_NAME": key_name(witness),
        "MYNUMBER_INSTANCE_NAME": witness,
        "MYNUMBER_TRUSTED_LOGS": json.dumps([log_vkey(var)]),
    }


def write_trust_file(var: Path, witnesses: list[str]) -> Path:
    """Write ``var/log-trust.json``: the log key, the witness keys and the quorum (all)."""
    path = var / TRUST_FILE
    trust = {
        "log": log_vkey(var),
        "witnesses": [witness_vkey(var, w) for w in witnesses],
        "quorum": len(witnesses),
    }
    path.write_text(json.dumps(trust, indent=2) + "\n")
    return path
