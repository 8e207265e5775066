"""Build the tax service from its settings: database, cipher, registry client, outbox relay."""

from __future__ import annotations

from typing import Any

import grpc
from mynumber.exchange.v1 import exchange_pb2_grpc
from mynumber.tax.v1 import tax_pb2_grpc

from mynumber_core.channels import Channels
from mynumber_core.db import Database
from mynumber_core.keyring import FieldCipher, Keyring
from mynumber_core.outbox import OutboxRelay, OutboxRow
from mynumber_core.provider import ProviderServicer
from mynumber_core.registry_client import RegistryClient
from mynumber_core.server import GrpcApp
from mynumber_core.settings import ServiceSettings
from mynumber_core.tls import TlsMaterial
from services.tax.access import ACCESS
from services.tax.domain import PayoutPolicy
from services.tax.models import CIPHER, OutboxEvent, ProcessedEvent
from services.tax.servicer import TaxServicer
from services.tax.usecases import TaxService


def build_app(settings: ServiceSettings) -> GrpcApp:
    """The tax service's gRPC application, with its outbox relay."""
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

    outbox = OutboxRelay("tax", db, OutboxEvent, publish)
    service = TaxService(db, registry, payout_policy=PayoutPolicy(), wake_outbox=outbox.wake)
    provider = ProviderServicer(
        "tax",
        db,
        ProcessedEvent,
        items={
            "income": service.provide_income,
            "tax_summary": service.provide_tax_summary,
            "amounts_due": service.provide_amounts_due,
        },
        events={"address_changed": service.on_address_changed, "payment": service.on_payment},
    )

    def register(server: grpc.Server) -> None:
        tax_pb2_grpc.add_TaxServicer_to_server(TaxServicer(service), server)
        exchange_pb2_grpc.add_ProviderServicer_to_server(provider, server)

    def stop() -> None:
        outbox.stop()
        channels.close()
        db.dispose()

    outbox.start()
    return GrpcApp(
        name="tax",
        service_names=["mynumber.tax.v1.Tax", "mynumber.exchange.v1.Provider"],
        register=register,
        access=ACCESS,
        on_stop=stop,
    )
