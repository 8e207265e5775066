"""Build the pension service from its settings: database, cipher, registry client, relays."""

from __future__ import annotations

from typing import Any

import grpc
from mynumber.exchange.v1 import exchange_pb2_grpc
from mynumber.pension.v1 import pension_pb2_grpc

from mynumber_core.infra import DomainInfra
from mynumber_core.outbox import OutboxRelay, hub_publisher
from mynumber_core.provider import ProviderServicer
from mynumber_core.server import GrpcApp
from mynumber_core.settings import ServiceSettings
from services.pension.access import ACCESS
from services.pension.models import CIPHER, OutboxEvent, PendingApplication, ProcessedEvent
from services.pension.servicer import PensionServicer
from services.pension.usecases import PensionService


def build_app(settings: ServiceSettings) -> GrpcApp:
    """The pension service's gRPC application, with its outbox and application relays."""
    infra = DomainInfra.from_settings(settings, CIPHER)
    db, registry = infra.db, infra.registry
    outbox = OutboxRelay("pension", db, OutboxEvent, hub_publisher(registry, ["portal"]))
    wakers: dict[str, Any] = {}
    service = PensionService(
        db,
        registry,
        wake_outbox=outbox.wake,
        wake_applications=lambda: wakers["applications"](),
    )
    applications = OutboxRelay(
        "pension-applications", db, PendingApplication, service.decide_portal_application
    )
    wakers["applications"] = applications.wake
    provider = ProviderServicer(
        "pension",
        db,
        ProcessedEvent,
        items={
            "pension_record": service.provide_pension_record,
            "amounts_due": service.provide_amounts_due,
        },
        events={
            "application.pension_exemption": service.accept_portal_application,
            "address_changed": service.on_address_changed,
            "payment": service.on_payment,
        },
    )

    def register(server: grpc.Server) -> None:
        pension_pb2_grpc.add_PensionServicer_to_server(PensionServicer(service), server)
        exchange_pb2_grpc.add_ProviderServicer_to_server(provider, server)

    def stop() -> None:
        outbox.stop()
        applications.stop()
        infra.close()

    outbox.start()
    applications.start()
    return GrpcApp(
        name="pension",
        service_names=["mynumber.pension.v1.Pension", "mynumber.exchange.v1.Provider"],
        register=register,
        access=ACCESS,
        on_stop=stop,
    )
