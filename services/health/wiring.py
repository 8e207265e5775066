"""Wiring of the health service: settings in, a ready :class:`GrpcApp` out.

Builds the database, the field cipher and blind index from the keyring, the registry client,
the use cases, the Provider servicer (items and events) and the outbox relay that publishes
vaccination notices; the relay stops with the server.
"""

from __future__ import annotations

import grpc
from mynumber.exchange.v1 import exchange_pb2_grpc
from mynumber.healthinsurance.v1 import health_insurance_pb2_grpc

from mynumber_core.channels import Channels
from mynumber_core.db import Database
from mynumber_core.keyring import BlindIndex, FieldCipher, Keyring
from mynumber_core.outbox import OutboxRelay
from mynumber_core.provider import ProviderServicer
from mynumber_core.registry_client import RegistryClient
from mynumber_core.server import GrpcApp
from mynumber_core.settings import ServiceSettings
from mynumber_core.tls import TlsMaterial
from services.health.access import ACCESS, PROVIDER_SERVICE, SERVICE_NAME
from services.health.models import CIPHER, OutboxEvent, ProcessedEvent
from services.health.servicer import HealthInsuranceServicer
from services.health.usecases import HealthInsurer, make_notice_publisher

DOMAIN = "health"


def build_app(settings: ServiceSettings) -> GrpcApp:
    """Build every dependency of the health service."""
    keyring = Keyring.load(settings.keyring_path)
    CIPHER.bind(FieldCipher(keyring))
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
    registry = RegistryClient(channels)
    relay = OutboxRelay(DOMAIN, db, OutboxEvent, make_notice_publisher(registry))
    insurer = HealthInsurer(db, BlindIndex(keyring), registry, wake_relay=relay.wake)
    provider = ProviderServicer(
        DOMAIN,
        db,
        ProcessedEvent,
        items={
            "coverage": insurer.item_coverage,
            "medical_expenses": insurer.item_medical_expenses,
            "care_flags": insurer.item_care_flags,
            "vaccinations": insurer.item_vaccinations,
        },
        events={"address_changed": insurer.on_address_changed},
    )

    def register(server: grpc.Server) -> None:
        health_insurance_pb2_grpc.add_HealthInsuranceServicer_to_server(
            HealthInsuranceServicer(insurer), server
        )
        exchange_pb2_grpc.add_ProviderServicer_to_server(provider, server)

    def on_stop() -> None:
        relay.stop()
        channels.close()
        db.dispose()

    relay.start()
    return GrpcApp(
        name=DOMAIN,
        service_names=(SERVICE_NAME, PROVIDER_SERVICE),
        register=register,
        access=ACCESS,
        on_stop=on_stop,
    )
