"""Wiring of the health service: settings in, a ready :class:`GrpcApp` out.

Builds the database, the field cipher and blind index from the keyring, the registry client,
the use cases, the Provider servicer (items and events) and the outbox relay that publishes
vaccination notices; the relay stops with the server.
"""

from __future__ import annotations

import grpc
from mynumber.exchange.v1 import exchange_pb2_grpc
from mynumber.healthinsurance.v1 import health_insurance_pb2_grpc

from mynumber_core.infra import DomainInfra
from mynumber_core.keyring import BlindIndex
from mynumber_core.outbox import OutboxRelay, hub_publisher
from mynumber_core.provider import ProviderServicer
from mynumber_core.server import GrpcApp
from mynumber_core.settings import ServiceSettings
from services.health.access import ACCESS, PROVIDER_SERVICE, SERVICE_NAME
from services.health.models import CIPHER, OutboxEvent, ProcessedEvent
from services.health.servicer import HealthInsuranceServicer
from services.health.usecases import bootstrap
from services.health.usecases.context import NOTICE_AUDIENCE, Context

DOMAIN = "health"


def build_app(settings: ServiceSettings) -> GrpcApp:
    """Build every dependency of the health service."""
    infra = DomainInfra.from_settings(settings, CIPHER)
    db, registry = infra.db, infra.registry
    relay = OutboxRelay(DOMAIN, db, OutboxEvent, hub_publisher(registry, NOTICE_AUDIENCE))
    usecases = bootstrap(Context(db, BlindIndex(infra.keyring), registry, wake=relay.wake))
    provider = ProviderServicer(
        DOMAIN,
        db,
        ProcessedEvent,
        items={
            "coverage": usecases.provider.item_coverage,
            "medical_expenses": usecases.provider.item_medical_expenses,
            "care_flags": usecases.provider.item_care_flags,
            "vaccinations": usecases.provider.item_vaccinations,
        },
        events={"address_changed": usecases.events.on_address_changed},
        keys=infra.keys,
        batch_items={"care_flags": usecases.provider.items_care_flags},
    )

    def register(server: grpc.Server) -> None:
        health_insurance_pb2_grpc.add_HealthInsuranceServicer_to_server(
            HealthInsuranceServicer(usecases), server
        )
        exchange_pb2_grpc.add_ProviderServicer_to_server(provider, server)

    def on_stop() -> None:
        relay.stop()
        infra.close()

    relay.start()
    return GrpcApp(
        name=DOMAIN,
        service_names=(SERVICE_NAME, PROVIDER_SERVICE),
        register=register,
        access=ACCESS,
        on_stop=on_stop,
    )
