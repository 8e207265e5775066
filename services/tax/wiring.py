"""Build the tax service from its settings: database, cipher, registry client, outbox relay."""

from __future__ import annotations

import grpc
from mynumber.exchange.v1 import exchange_pb2_grpc
from mynumber.tax.v1 import tax_pb2_grpc

from mynumber_core.infra import DomainInfra
from mynumber_core.outbox import OutboxRelay, hub_publisher
from mynumber_core.provider import ProviderServicer
from mynumber_core.server import GrpcApp
from mynumber_core.settings import ServiceSettings
from services.tax.access import ACCESS
from services.tax.domain import PayoutPolicy
from services.tax.models import CIPHER, OutboxEvent, ProcessedEvent
from services.tax.servicer import TaxServicer
from services.tax.usecases import TaxService


def build_app(settings: ServiceSettings) -> GrpcApp:
    """The tax service's gRPC application, with its outbox relay."""
    infra = DomainInfra.from_settings(settings, CIPHER)
    db, registry = infra.db, infra.registry
    outbox = OutboxRelay("tax", db, OutboxEvent, hub_publisher(registry, ["portal"]))
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
        infra.close()

    outbox.start()
    return GrpcApp(
        name="tax",
        service_names=["mynumber.tax.v1.Tax", "mynumber.exchange.v1.Provider"],
        register=register,
        access=ACCESS,
        on_stop=stop,
    )
