"""Build the tax service from its settings: database, cipher, registry client, outbox relay."""

from __future__ import annotations

import datetime as dt

import grpc
from mynumber.exchange.v1 import exchange_pb2_grpc
from mynumber.tax.v1 import tax_pb2_grpc
from pydantic import Field

from mynumber_core.infra import DomainInfra
from mynumber_core.outbox import OutboxRelay, hub_publisher
from mynumber_core.payout import DEFAULT_COOLING_OFF, PayoutPolicy, ReleaseJob
from mynumber_core.provider import ProviderServicer
from mynumber_core.server import GrpcApp
from mynumber_core.settings import ServiceSettings
from services.tax.access import ACCESS
from services.tax.models import CIPHER, OutboxEvent, ProcessedEvent
from services.tax.servicer import TaxServicer
from services.tax.usecases import TaxContext, bootstrap


class TaxSettings(ServiceSettings):
    """Tax settings: the payout cooling-off period (fraud countermeasure)."""

    payout_cooling_off_days: float = Field(
        DEFAULT_COOLING_OFF.days,
        ge=0,
        description="days a refund is held after an account or address change (unconfirmed)",
    )
    payout_release_interval_seconds: float = Field(3600.0, gt=0)


SETTINGS_CLASS = TaxSettings


def build_app(settings: ServiceSettings) -> GrpcApp:
    """The tax service's gRPC application, with its outbox relay and release job."""
    cfg = settings if isinstance(settings, TaxSettings) else TaxSettings(**settings.model_dump())
    infra = DomainInfra.from_settings(settings, CIPHER)
    db, registry = infra.db, infra.registry
    outbox = OutboxRelay("tax", db, OutboxEvent, hub_publisher(registry, ["portal"]))
    policy = PayoutPolicy(dt.timedelta(days=cfg.payout_cooling_off_days))
    service = bootstrap(TaxContext(db, registry, wake_outbox=outbox.wake, payout_policy=policy))
    releases = ReleaseJob(
        "tax-refund-release",
        service.release_held_refunds,
        interval=cfg.payout_release_interval_seconds,
    )
    provider = ProviderServicer(
        "tax",
        db,
        ProcessedEvent,
        items={
            "income": service.provide_income,
            "tax_summary": service.provide_tax_summary,
            "amounts_due": service.provide_amounts_due,
        },
        events={
            "address_changed": service.on_address_changed,
            "payment": service.on_payment,
            "payout_confirmed": lambda session, event: releases.wake(),
        },
        keys=infra.keys,
        batch_items={"income": service.taxpayers.provide_income_batch},
    )

    def register(server: grpc.Server) -> None:
        tax_pb2_grpc.add_TaxServicer_to_server(TaxServicer(service), server)
        exchange_pb2_grpc.add_ProviderServicer_to_server(provider, server)

    def stop() -> None:
        releases.stop()
        outbox.stop()
        infra.close()

    outbox.start()
    releases.start()
    return GrpcApp(
        name="tax",
        service_names=["mynumber.tax.v1.Tax", "mynumber.exchange.v1.Provider"],
        register=register,
        access=ACCESS,
        on_stop=stop,
    )
