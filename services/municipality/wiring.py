"""Builds the municipality: database, cipher, blind index, registry client, outbox relay."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from mynumber.exchange.v1 import exchange_pb2_grpc
from mynumber.municipality.v1 import municipality_pb2_grpc

from mynumber_core.infra import DomainInfra
from mynumber_core.keyring import BlindIndex
from mynumber_core.outbox import OutboxRelay, OutboxRow, hub_publisher
from mynumber_core.provider import ProviderServicer
from mynumber_core.server import GrpcApp
from mynumber_core.settings import ServiceSettings
from services.municipality.access import ACCESS
from services.municipality.models import OutboxEvent, ProcessedEvent, cipher
from services.municipality.servicer import MunicipalityServicer
from services.municipality.usecases import bootstrap
from services.municipality.usecases.context import DOMAIN, EVENT_AUDIENCE, Context

SERVICE_NAMES = ("mynumber.municipality.v1.Municipality", "mynumber.exchange.v1.Provider")


def event_audience(row: OutboxRow) -> Sequence[str]:
    """Who an outbox event is published to (empty = every domain that linked the person)."""
    return EVENT_AUDIENCE.get(row.event_type, ())


def build_app(settings: ServiceSettings) -> GrpcApp:
    """Wire the municipality service from its settings."""
    infra = DomainInfra.from_settings(settings, cipher)
    db, registry = infra.db, infra.registry
    relay = OutboxRelay(DOMAIN, db, OutboxEvent, hub_publisher(registry, event_audience))
    usecases = bootstrap(Context(db, registry, BlindIndex(infra.keyring), wake=relay.wake))
    provider = ProviderServicer(
        DOMAIN,
        db,
        ProcessedEvent,
        items={
            "basic_facts": usecases.provider.provide_basic_facts,
            "household": usecases.provider.provide_household,
            "ltc_certification": usecases.provider.provide_ltc,
        },
        events={"application.move_out": usecases.provider.on_move_out_application},
        keys=infra.keys,
    )
    api = MunicipalityServicer(usecases)

    def add(server: grpc.Server) -> None:
        municipality_pb2_grpc.add_MunicipalityServicer_to_server(api, server)
        exchange_pb2_grpc.add_ProviderServicer_to_server(provider, server)

    def stop() -> None:
        relay.stop()
        infra.close()

    relay.start()
    return GrpcApp(
        name=DOMAIN,
        service_names=SERVICE_NAMES,
        register=add,
        access=ACCESS,
        on_stop=stop,
    )
