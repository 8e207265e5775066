"""Builds the municipality: database, cipher, blind index, registry client, outbox relay."""

from __future__ import annotations

from typing import Any

import grpc
from mynumber.exchange.v1 import exchange_pb2_grpc
from mynumber.municipality.v1 import municipality_pb2_grpc

from mynumber_core.channels import Channels
from mynumber_core.db import Database
from mynumber_core.keyring import BlindIndex, FieldCipher, Keyring
from mynumber_core.outbox import OutboxRelay, OutboxRow
from mynumber_core.provider import ProviderServicer
from mynumber_core.registry_client import RegistryClient
from mynumber_core.server import GrpcApp
from mynumber_core.settings import ServiceSettings
from mynumber_core.tls import TlsMaterial
from services.municipality.access import ACCESS
from services.municipality.models import OutboxEvent, ProcessedEvent, cipher
from services.municipality.registry_port import GrpcRegistry, RegistryPort
from services.municipality.servicer import MunicipalityServicer
from services.municipality.usecases import DOMAIN, EVENT_AUDIENCE, Register

SERVICE_NAMES = ("mynumber.municipality.v1.Municipality", "mynumber.exchange.v1.Provider")


def outbox_deliverer(registry: RegistryPort) -> Any:
    """The relay's delivery function: publish through the hub under the row's procedure."""

    def deliver(row: OutboxRow, payload: dict[str, Any]) -> None:
        registry.publish(
            row.token,
            row.event_type,
            row.id,
            payload,
            procedure=row.procedure,
            audience=EVENT_AUDIENCE.get(row.event_type, ()),
        )

    return deliver


def build_app(settings: ServiceSettings) -> GrpcApp:
    """Wire the municipality service from its settings."""
    keyring = Keyring.load(settings.keyring_path)
    cipher.bind(FieldCipher(keyring))
    db = Database.from_url(
        settings.effective_database_url(),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    channels = Channels(
        TlsMaterial(settings.tls_dir),
        settings.endpoints,
        default_timeout=settings.rpc_timeout_seconds,
    )
    registry = GrpcRegistry(RegistryClient(channels))
    relay = OutboxRelay(DOMAIN, db, OutboxEvent, outbox_deliverer(registry))
    register = Register(db, registry, BlindIndex(keyring), wake_relay=relay.wake)
    provider = ProviderServicer(
        DOMAIN,
        db,
        ProcessedEvent,
        items={
            "basic_facts": register.provide_basic_facts,
            "household": register.provide_household,
            "ltc_certification": register.provide_ltc,
        },
        events={"application.move_out": register.on_move_out_application},
    )
    api = MunicipalityServicer(register)

    def add(server: grpc.Server) -> None:
        municipality_pb2_grpc.add_MunicipalityServicer_to_server(api, server)
        exchange_pb2_grpc.add_ProviderServicer_to_server(provider, server)

    def stop() -> None:
        relay.stop()
        channels.close()
        db.dispose()

    relay.start()
    return GrpcApp(
        name=DOMAIN,
        service_names=SERVICE_NAMES,
        register=add,
        access=ACCESS,
        on_stop=stop,
    )
