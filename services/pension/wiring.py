"""Build the pension service from its settings: database, cipher, registry client, relays."""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
from mynumber.exchange.v1 import exchange_pb2_grpc
from mynumber.pension.v1 import pension_pb2_grpc
from pydantic import Field

from mynumber_core.infra import DomainInfra
from mynumber_core.outbox import OutboxRelay, hub_publisher
from mynumber_core.payout import DEFAULT_COOLING_OFF, PayoutPolicy, ReleaseJob
from mynumber_core.provider import ProviderServicer
from mynumber_core.server import GrpcApp
from mynumber_core.settings import ServiceSettings
from services.pension.access import ACCESS
from services.pension.cards import RegistryClaimCards
from services.pension.models import CIPHER, OutboxEvent, PendingApplication, ProcessedEvent
from services.pension.orphans_servicer import OrphanRecordsServicer
from services.pension.reconcile_port import GrpcReconcilePort
from services.pension.servicer import PensionServicer
from services.pension.usecases import PensionContext, bootstrap
from services.pension.usecases.orphans import OrphanPool
from services.pension.usecases.record_matches import CandidateDelivery, queue_notices


class PensionSettings(ServiceSettings):
    """Pension settings: the payout cooling-off period (fraud countermeasure)."""

    payout_cooling_off_days: float = Field(
        DEFAULT_COOLING_OFF.days,
        ge=0,
        description="days a claim payment is held after an account or address change",
    )
    payout_release_interval_seconds: float = Field(3600.0, gt=0)
    crl_cache_seconds: float = Field(
        30.0, ge=0, description="how long the card CA's revocation list is reused (as the portal)"
    )


SETTINGS_CLASS = PensionSettings


def build_app(settings: ServiceSettings) -> GrpcApp:
    """The pension service's gRPC application, with its outbox and application relays."""
    cfg = (
        settings
        if isinstance(settings, PensionSettings)
        else PensionSettings(**settings.model_dump())
    )
    infra = DomainInfra.from_settings(settings, CIPHER)
    db, registry = infra.db, infra.registry
    outbox = OutboxRelay(
        "pension",
        db,
        OutboxEvent,
        CandidateDelivery(db, registry, hub_publisher(registry, ["portal"])),
    )
    wakers: dict[str, Any] = {}
    service = bootstrap(
        PensionContext(
            db,
            registry,
            wake_outbox=outbox.wake,
            wake_applications=lambda: wakers["applications"](),
            cards=RegistryClaimCards(registry, cache_seconds=cfg.crl_cache_seconds),
            payout_policy=PayoutPolicy(dt.timedelta(days=cfg.payout_cooling_off_days)),
        )
    )
    releases = ReleaseJob(
        "pension-payment-release",
        service.release_held_payments,
        interval=cfg.payout_release_interval_seconds,
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
            "candidate_records": service.record_matches.provide_candidate_records,
        },
        events={
            "application.pension_exemption": service.accept_portal_application,
            "application.pension_claim": service.accept_portal_claim,
            "payout_confirmed": lambda session, event: releases.wake(),
            "address_changed": service.on_address_changed,
            "payment": service.on_payment,
            "pension_record.decision": service.record_matches.on_decision,
        },
        keys=infra.keys,
    )

    def register(server: grpc.Server) -> None:
        pension_pb2_grpc.add_PensionServicer_to_server(PensionServicer(service), server)
        pension_pb2_grpc.add_OrphanRecordsServicer_to_server(
            OrphanRecordsServicer(
                OrphanPool(db, on_proposed=queue_notices, wake=outbox.wake),
                GrpcReconcilePort(infra.channels.channel("registry")),
                service.record_matches,
            ),
            server,
        )
        exchange_pb2_grpc.add_ProviderServicer_to_server(provider, server)

    def stop() -> None:
        releases.stop()
        outbox.stop()
        applications.stop()
        infra.close()

    outbox.start()
    applications.start()
    releases.start()
    return GrpcApp(
        name="pension",
        service_names=[
            "mynumber.pension.v1.Pension",
            "mynumber.pension.v1.OrphanRecords",
            "mynumber.exchange.v1.Provider",
        ],
        register=register,
        access=ACCESS,
        on_stop=stop,
    )
