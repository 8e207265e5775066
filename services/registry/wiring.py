"""Build the registry from its settings: database, keys, vault, log, hub and servicers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mynumber.exchange.v1 import exchange_pb2, exchange_pb2_grpc
from mynumber.registry.v1 import registry_pb2_grpc
from pydantic import Field

from mynumber_core import errors
from mynumber_core.channels import Channels
from mynumber_core.db import Database
from mynumber_core.keyring import BlindIndex, FieldCipher, Keyring
from mynumber_core.rpc_errors import as_domain_error
from mynumber_core.server import GrpcApp
from mynumber_core.settings import ServiceSettings
from mynumber_core.structs import from_struct, to_struct
from mynumber_core.tls import TlsMaterial
from services.registry import models
from services.registry.abuse import (
    AbuseInterceptor,
    AbuseLimits,
    LinkGuard,
    QueryRateMonitor,
    SecurityLog,
    SecurityServicer,
    denial_recorder,
)
from services.registry.access import ACCESS
from services.registry.cards import CardAuthority, CardService
from services.registry.cards_servicer import CardsServicer
from services.registry.domain import AccessRights
from services.registry.exchange_log import ExchangeLogStore
from services.registry.servicer import ExchangeLogServicer, HubServicer, RegistryServicer
from services.registry.tokens import TokenVault
from services.registry.usecases import ProviderAnswer, Registry

DEFAULT_ACCESS_RIGHTS = Path(__file__).with_name("access_rights.toml")


class RegistrySettings(ServiceSettings):
    """Registry settings beyond the shared ones."""

    access_rights_path: Path = DEFAULT_ACCESS_RIGHTS
    # Abuse resistance (services/registry/abuse.py): failed-Link limits and query-rate alerts.
    link_failures_per_number: int = Field(5, ge=1)
    link_number_window_seconds: float = Field(3600.0, gt=0)
    link_failures_per_domain: int = Field(100, ge=1)
    link_domain_window_seconds: float = Field(60.0, gt=0)
    query_rate_bucket_seconds: int = Field(60, ge=1)
    query_rate_baseline_buckets: int = Field(60, ge=1)
    query_rate_factor: float = Field(5.0, gt=0)
    query_rate_floor: int = Field(100, ge=1)

    def abuse_limits(self) -> AbuseLimits:
        """The abuse-resistance limits as one value."""
        return AbuseLimits(
            **{name: getattr(self, name) for name in AbuseLimits.__dataclass_fields__}
        )


SETTINGS_CLASS = RegistrySettings


class ProviderCalls:
    """Outgoing Provide/Deliver calls to the domains, over mTLS with deadlines propagated."""

    def __init__(self, channels: Channels) -> None:
        self._channels = channels

    def _stub(self, service: str) -> Any:
        try:
            return exchange_pb2_grpc.ProviderStub(self._channels.channel(service))
        except RuntimeError:  # no endpoint configured for that domain's service
            raise errors.Unavailable(f"{service} is not reachable from the registry") from None

    def provide(
        self,
        service: str,
        token: str,
        item: str,
        procedure: str,
        request_id: str,
        requester: str,
        params: Mapping[str, Any],
    ) -> ProviderAnswer:
        """Ask one provider for one item."""
        try:
            response = self._stub(service).Provide(
                exchange_pb2.ProvideRequest(
                    token=token,
                    item=item,
                    procedure=procedure,
                    request_id=request_id,
                    requester=requester,
                    params=to_struct(params),
                )
            )
        except grpc.RpcError as exc:
            return ProviderAnswer(None, as_domain_error(exc, service))
        except errors.DomainError as exc:  # e.g. the deadline passed before the call
            return ProviderAnswer(None, exc)
        return ProviderAnswer(from_struct(response.data))

    def deliver(
        self,
        service: str,
        token: str,
        event_type: str,
        event_id: str,
        publisher: str,
        payload: Mapping[str, Any],
    ) -> errors.DomainError | None:
        """Deliver one event; None on success."""
        try:
            self._stub(service).Deliver(
                exchange_pb2.DeliverRequest(
                    token=token,
                    event_type=event_type,
                    event_id=event_id,
                    publisher=publisher,
                    payload=to_struct(payload),
                )
            )
        except grpc.RpcError as exc:
            return as_domain_error(exc, service)
        except errors.DomainError as exc:
            return exc
        return None


def build_registry(
    settings: ServiceSettings, *, log_store: ExchangeLogStore | None = None
) -> Registry:
    """The registry use cases, wired to real storage and peers."""
    keyring = Keyring.load(settings.keyring_path)
    models.cipher.bind(FieldCipher(keyring))
    db = Database.from_url(
        settings.effective_database_url(),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    access_path = getattr(settings, "access_rights_path", DEFAULT_ACCESS_RIGHTS)
    signing = Ed25519PrivateKey.from_private_bytes(keyring.keyset("log-signing").active_key)
    calls = ProviderCalls(
        Channels(
            TlsMaterial(settings.tls_dir),
            settings.endpoints,
            default_timeout=settings.rpc_timeout_seconds,
        )
    )
    return Registry(
        db=db,
        vault=TokenVault(keyring.keyset("token").active_key, keyring.keyset("tag").active_key),
        blind=BlindIndex(keyring),
        access=AccessRights.load(access_path),
        log=log_store or ExchangeLogStore(db, signing),
        provide=calls.provide,
        deliver=calls.deliver,
    )


def build_app(settings: ServiceSettings) -> GrpcApp:
    """The registry's gRPC application."""
    registry = build_registry(settings)
    cards = CardService(registry, CardAuthority.from_keyring(Keyring.load(settings.keyring_path)))
    limits = settings.abuse_limits() if isinstance(settings, RegistrySettings) else AbuseLimits()
    events = SecurityLog(registry.db)
    abuse = AbuseInterceptor(
        LinkGuard(registry.db, registry.blind, limits),
        QueryRateMonitor(registry.db, events, limits),
        events,
    )

    def register(server: grpc.Server) -> None:
        registry_pb2_grpc.add_RegistryServicer_to_server(RegistryServicer(registry), server)
        registry_pb2_grpc.add_HubServicer_to_server(HubServicer(registry), server)
        registry_pb2_grpc.add_ExchangeLogServicer_to_server(ExchangeLogServicer(registry), server)
        registry_pb2_grpc.add_CardsServicer_to_server(CardsServicer(cards), server)
        registry_pb2_grpc.add_SecurityServicer_to_server(SecurityServicer(events), server)

    return GrpcApp(
        name="registry",
        service_names=[
            "mynumber.registry.v1.Registry",
            "mynumber.registry.v1.Hub",
            "mynumber.registry.v1.ExchangeLog",
            "mynumber.registry.v1.Cards",
            "mynumber.registry.v1.Security",
        ],
        register=register,
        access=ACCESS,
        on_denied=denial_recorder(events),
        extra_interceptors=[abuse],
        on_stop=registry.db.dispose,
    )
