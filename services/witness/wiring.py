"""Wiring of a log witness: its key from its own keyring, its own database, the logs it follows.

Settings (``MYNUMBER_*``): ``WITNESS_NAME`` (its cosigner key name, a schema-less URL),
``TRUSTED_LOGS`` (a JSON list of the C2SP verifier keys of the logs it follows; each log's
origin is its key name) and ``INSTANCE_NAME`` (its name in logs and metrics).
"""

from __future__ import annotations

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mynumber.witness.v1 import witness_pb2_grpc
from pydantic import Field

from mynumber_core.db import Database
from mynumber_core.keyring import Keyring
from mynumber_core.server import GrpcApp
from mynumber_core.settings import ServiceSettings
from services.witness.access import ACCESS, SERVICE_NAME
from services.witness.domain import TrustedLog
from services.witness.servicer import WitnessServicer
from services.witness.usecases import LogWitness

KEYSET = "witness-signing"
"""The keyring keyset holding the witness's Ed25519 cosigning key (32-byte seed)."""


class WitnessSettings(ServiceSettings):
    """Witness settings beyond the shared ones."""

    witness_name: str = Field("witness.mynumber.local", min_length=1)
    trusted_logs: list[str] = Field(default_factory=list)
    # Which instance this is, for logs and metrics (``witness-1`` and ``witness-2`` in dev).
    instance_name: str = Field("witness", min_length=1)


SETTINGS_CLASS = WitnessSettings


def witness_settings(settings: ServiceSettings) -> WitnessSettings:
    """The witness's settings (run_service hands over plain ServiceSettings; the witness's own
    fields then come from the environment)."""
    if isinstance(settings, WitnessSettings):
        return settings
    return WitnessSettings(**settings.model_dump())


def build_witness(settings: ServiceSettings) -> LogWitness:
    """The witness use case wired to its key and database."""
    settings = witness_settings(settings)
    if not settings.trusted_logs:
        raise RuntimeError(
            "MYNUMBER_TRUSTED_LOGS is empty: give the JSON list of the verifier keys of the "
            'logs this witness follows, e.g. ["mynumber.local/exchange-log+1a2b3c4d+AaBb..."]'
        )
    logs = {log.origin: log for log in map(TrustedLog.from_vkey, settings.trusted_logs)}
    key = Ed25519PrivateKey.from_private_bytes(
        Keyring.load(settings.keyring_path).keyset(KEYSET).active_key
    )
    db = Database.from_url(
        settings.effective_database_url(),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    return LogWitness(db, settings.witness_name, key, logs)


def build_app(settings: ServiceSettings) -> GrpcApp:
    """Build the witness's gRPC application."""
    witness = build_witness(settings)
    instance = witness_settings(settings).instance_name

    def register(server: grpc.Server) -> None:
        witness_pb2_grpc.add_WitnessServicer_to_server(WitnessServicer(witness), server)

    return GrpcApp(
        name=instance,
        service_names=(SERVICE_NAME,),
        register=register,
        access=ACCESS,
        on_stop=witness.close,
    )
