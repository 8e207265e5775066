"""Build the pension service from its settings: database, cipher, registry client, relays."""

from __future__ import annotations

from typing import Any

import grpc
from mynumber.exchange.v1 import exchange_pb2_grpc
from mynumber.pension.v1 import pension_pb2_grpc

from mynumber_core.channels import Channels
from mynumber_core.db import Database
from mynumber_core.keyring import FieldCipher, Keyring
from mynumber_core.outbox import OutboxRelay, OutboxRow
from mynumber_core.provider import ProviderServicer
from mynumber_core.registry_client import RegistryClient
from mynumber_core.server import GrpcApp
from mynumber_core.settings import ServiceSettings
from mynumber_core.tls import TlsMaterial
from services.pension.access import ACCESS
from services.pension.models import CIPHER, OutboxEvent, PendingApplication, ProcessedEvent
from services.pension.servicer import PensionServicer
from services.pension.usecases import PensionService


def build_app(settings: ServiceSettings) -> GrpcApp:
    """The pension service's gRPC application, with its outbox and application relays."""
    CIPHER.bind(FieldCipher(Keyring.load(settings.keyring_path)))
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

    def publish(row: OutboxRow, payload: dict[str, Any]) -> None:
        registry.publish(
            row.token, row.event_type, row.id, payload, procedure=row.procedure, audience=["portal"]
        )

    outbox = OutboxRelay("pension", db, OutboxEvent, publish)
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
        channels.close()
        db.dispose()

    outbox.start()
    applications.start()
    return GrpcApp(
        name="pension",
        service_names=["mynumber.pension.v1.Pension", "mynumber.exchange.v1.Provider"],
        register=register,
        access=ACCESS,
        on_stop=stop,
    )
