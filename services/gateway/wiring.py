"""Wiring of the gateway: settings in, the portal use cases, the gRPC app and the HTTP app out.

:func:`bootstrap` wires the use cases (one object per feature) over one
:class:`~services.gateway.usecases.context.PortalContext` (cosmicpython's ``bootstrap()``).
``build_app(settings)`` is what the shared runtime and the test stack call: the Provider for
the ``portal`` token domain. ``build_http_app(settings)`` is the residents' HTTP side (FastAPI:
JSON API and pages). Both sides share one :class:`Gateway` when run together by
``services.gateway.runner``; the test stack may build them separately over the same database.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

import grpc
from mynumber.exchange.v1 import exchange_pb2_grpc
from pydantic import Field

from mynumber_core.channels import Channels
from mynumber_core.db import Database
from mynumber_core.keyring import BlindIndex, FieldCipher, Keyring
from mynumber_core.outbox import OutboxRelay
from mynumber_core.provider import ProviderServicer
from mynumber_core.registry_client import RegistryClient
from mynumber_core.sealing import DomainKeys
from mynumber_core.server import GrpcApp
from mynumber_core.settings import ServiceSettings
from mynumber_core.tls import TlsMaterial
from services.gateway.access import ACCESS, PROVIDER_SERVICE
from services.gateway.cards import RegistryCardAuthority
from services.gateway.models import CIPHER, OutboxEvent, ProcessedEvent
from services.gateway.usecases import (
    Applications,
    Auth,
    Businesses,
    Events,
    ExchangeLog,
    Inbox,
    Information,
    Locks,
    Number,
    Payments,
    Payouts,
    Portal,
    PortalContext,
)
from services.gateway.usecases.events import publish_outbox_row
from services.gateway.witness_keys import WitnessKeys

DOMAIN = "portal"


class GatewaySettings(ServiceSettings):
    """Gateway settings beyond the shared ones (``MYNUMBER_HTTP_PORT`` and so on)."""

    service_name: str = "gateway"
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    cookie_secure: bool = False
    """Always mark the session cookie Secure (it is also Secure when the request came over
    HTTPS, e.g. behind a TLS-terminating proxy that sets X-Forwarded-Proto)."""
    session_ttl_seconds: int = Field(900, ge=30, le=86_400)
    public_origin: str = ""
    """The portal's public origin, which login challenges name as their audience (default:
    http://<http_host>:<http_port>)."""
    crl_cache_seconds: float = Field(30.0, ge=0)
    # Front-door rate limits (services/gateway/web/guard.py), "N per minute" etc., per replica.
    rate_per_ip: str = "1200 per minute"
    rate_login_per_ip: str = "120 per minute"
    rate_per_session: str = "600 per minute"
    witnesses: list[str] = Field(default_factory=list)
    """The log witnesses (names in MYNUMBER_ENDPOINTS) whose keys the portal publishes."""


SETTINGS_CLASS = GatewaySettings


@dataclass
class Gateway:
    """Everything the two servers share."""

    settings: GatewaySettings
    portal: Portal
    db: Database
    channels: Channels
    relay: OutboxRelay

    def stop(self) -> None:
        """Stop the relay, close channels and the pool."""
        self.relay.stop()
        self.channels.close()
        self.db.dispose()


def _gateway_settings(settings: ServiceSettings) -> GatewaySettings:
    if isinstance(settings, GatewaySettings):
        return settings
    return GatewaySettings(**settings.model_dump())


def bootstrap(ctx: PortalContext) -> Portal:
    """The portal's use cases, one per feature, wired over one context."""
    auth = Auth(ctx)
    locks = Locks(ctx, auth)
    return Portal(
        ctx=ctx,
        auth=auth,
        information=Information(ctx),
        log=ExchangeLog(ctx),
        inbox=Inbox(ctx),
        payouts=Payouts(ctx, auth, locks),
        payments=Payments(ctx, auth),
        applications=Applications(ctx, auth, locks),
        businesses=Businesses(ctx, auth),
        locks=locks,
        number=Number(ctx, auth),
        events=Events(ctx),
    )


def build_gateway(settings: ServiceSettings) -> Gateway:
    """Build the database, cipher, registry client, card authority and use cases."""
    gs = _gateway_settings(settings)
    keyring = Keyring.load(gs.keyring_path)
    CIPHER.bind(FieldCipher(keyring))
    db = Database.from_url(
        gs.effective_database_url(), pool_size=gs.db_pool_size, max_overflow=gs.db_max_overflow
    )
    channels = Channels(
        TlsMaterial(gs.tls_dir), gs.endpoints, default_timeout=gs.rpc_timeout_seconds
    )
    registry = RegistryClient(channels, DomainKeys(keyring, DOMAIN))
    relay = OutboxRelay(DOMAIN, db, OutboxEvent, functools.partial(publish_outbox_row, registry))
    portal = bootstrap(
        PortalContext(
            db=db,
            blind=BlindIndex(keyring),
            registry=registry,
            cards=RegistryCardAuthority(registry, cache_seconds=gs.crl_cache_seconds),
            audience=gs.public_origin or f"http://{gs.http_host}:{gs.http_port}",
            session_ttl=dt.timedelta(seconds=gs.session_ttl_seconds),
            wake_outbox=relay.wake,
        )
    )
    portal.log.witness_keys = WitnessKeys(channels, gs.witnesses)
    return Gateway(gs, portal, db, channels, relay)


def grpc_app(gateway: Gateway, *, stop_gateway: bool = True) -> GrpcApp:
    """The Provider for the portal domain, over the gateway's use cases."""
    events = gateway.portal.events
    provider = ProviderServicer(
        DOMAIN,
        gateway.db,
        ProcessedEvent,
        items={"payout_account": events.item_payout_account},
        events={
            "inbox.document": events.on_inbox_document,
            "notice": events.on_notice,
            "address_changed": events.on_address_changed,
            "number_reissued": events.on_number_reissued,
            "card_locked": events.on_card_locked,
        },
        keys=gateway.portal.ctx.registry.keys,
    )

    def register(server: grpc.Server) -> None:
        exchange_pb2_grpc.add_ProviderServicer_to_server(provider, server)

    return GrpcApp(
        name="gateway",
        service_names=(PROVIDER_SERVICE,),
        register=register,
        access=ACCESS,
        on_stop=gateway.stop if stop_gateway else None,
    )


def build_app(settings: ServiceSettings) -> GrpcApp:
    """The gateway's gRPC application (what the runtime and the test stack start)."""
    gateway = build_gateway(settings)
    gateway.relay.start()
    return grpc_app(gateway)


def build_http_app(settings: ServiceSettings, gateway: Gateway | None = None) -> Any:
    """The residents' HTTP application (FastAPI), over ``gateway`` or a fresh one."""
    from services.gateway.web.app import create_app

    if gateway is None:
        gateway = build_gateway(settings)
        gateway.relay.start()
    return create_app(gateway)
