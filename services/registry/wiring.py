"""Build the registry from its settings: database, keys, vault, log, hub and servicers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mynumber.exchange.v1 import exchange_pb2, exchange_pb2_grpc
from mynumber.registry.v1 import (
    log_audit_pb2_grpc,
    reconcile_pb2_grpc,
    registry_pb2_grpc,
    resident_pb2_grpc,
)
from pydantic import Field

from mynumber_core import errors
from mynumber_core.channels import Channels
from mynumber_core.db import Database
from mynumber_core.keyring import BlindIndex, FieldCipher, Keyring
from mynumber_core.provider import (
    box_from_proto,
    box_to_proto,
    sealing_key_from_proto,
    sealing_key_to_proto,
)
from mynumber_core.rpc_errors import as_domain_error
from mynumber_core.sealing import SealedBox, SealingKey
from mynumber_core.server import GrpcApp
from mynumber_core.settings import ServiceSettings
from mynumber_core.structs import to_struct
from mynumber_core.tls import TlsMaterial
from services.registry import domain, models
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
from services.registry.bulk import BulkEnroller, KeyMaterial
from services.registry.card_pins import CardPins
from services.registry.cards import CardAuthority, CardService
from services.registry.cards_servicer import CardsServicer
from services.registry.domain import AccessRights
from services.registry.exchange_log import ExchangeLogStore
from services.registry.key_directory import KeyDirectory
from services.registry.log_audit import LogAuditServicer, LogLeaves
from services.registry.passkey_grants import PasskeyGrants
from services.registry.reconcile import Reconciler, TrainedModel
from services.registry.reconcile_servicer import ReconciliationServicer
from services.registry.resident_acts import (
    PortalPublishInterceptor,
    ResidentActs,
    ResidentActsServicer,
)
from services.registry.resident_authority import ResidentAuthority, ResidentAuthorityInterceptor
from services.registry.servicer import ExchangeLogServicer, HubServicer, RegistryServicer
from services.registry.tokens import TokenVault
from services.registry.usecases import BatchAnswer, BatchItemArgs, ProviderAnswer, Registry
from services.registry.usecases.link_batch import BulkLinks
from services.registry.witnessing import Witnessing

DEFAULT_ACCESS_RIGHTS = Path(__file__).with_name("access_rights.toml")


class RegistrySettings(ServiceSettings):
    """Registry settings beyond the shared ones."""

    access_rights_path: Path = DEFAULT_ACCESS_RIGHTS
    # Abuse resistance (services/registry/abuse.py): failed-Link limits and query-rate alerts.
    link_failures_per_number: int = Field(5, ge=1)
    link_number_window_seconds: float = Field(3600.0, gt=0)
    link_failures_per_domain: int = Field(100, ge=1)
    link_alert_agencies: int = Field(2, ge=2)
    link_domain_window_seconds: float = Field(60.0, gt=0)
    query_rate_bucket_seconds: int = Field(60, ge=1)
    query_rate_baseline_buckets: int = Field(60, ge=1)
    query_rate_factor: float = Field(5.0, gt=0)
    query_rate_floor: int = Field(100, ge=1)
    # The exchange log: a new signed checkpoint when the log has grown, at most this often
    # (entries newer than the newest checkpoint show as pending inclusion until then).
    checkpoint_interval_ms: int = Field(200, ge=10, le=500)
    # Log witnesses (names in MYNUMBER_ENDPOINTS) asked to cosign each new checkpoint.
    witnesses: list[str] = Field(default_factory=list)

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
        recipient: SealingKey,
    ) -> ProviderAnswer:
        """Ask one provider for one item, sealed to the requester's key."""
        try:
            response = self._stub(service).Provide(
                exchange_pb2.ProvideRequest(
                    token=token,
                    item=item,
                    procedure=procedure,
                    request_id=request_id,
                    requester=requester,
                    params=to_struct(params),
                    recipient=sealing_key_to_proto(recipient),
                )
            )
        except grpc.RpcError as exc:
            return ProviderAnswer(None, as_domain_error(exc, service))
        except errors.DomainError as exc:  # e.g. the deadline passed before the call
            return ProviderAnswer(None, exc)
        if not response.HasField("sealed"):
            return ProviderAnswer(None, errors.Unavailable(f"{service} sent no sealed answer"))
        return ProviderAnswer(box_from_proto(response.sealed))

    def provide_batch(
        self,
        service: str,
        requester: str,
        recipient: SealingKey,
        items: Sequence[BatchItemArgs],
    ) -> BatchAnswer:
        """Ask one provider for many items in one ProvideBatch call."""
        try:
            response = self._stub(service).ProvideBatch(
                exchange_pb2.ProvideBatchRequest(
                    requester=requester,
                    recipient=sealing_key_to_proto(recipient),
                    items=[
                        exchange_pb2.BatchItem(
                            token=token,
                            item=item,
                            procedure=procedure,
                            request_id=request_id,
                            params=to_struct(params),
                        )
                        for token, item, procedure, request_id, params in items
                    ],
                )
            )
        except grpc.RpcError as exc:
            return BatchAnswer(None, [], as_domain_error(exc, service))
        except errors.DomainError as exc:
            return BatchAnswer(None, [], exc)
        if not response.HasField("sealed"):
            return BatchAnswer(None, [], errors.Unavailable(f"{service} sent no sealed answer"))
        return BatchAnswer(
            box_from_proto(response.sealed), [(a.code, a.message) for a in response.answers]
        )

    def sealing_key(self, domain_name: str) -> SealingKey:
        """A domain's current HPKE public key, from the domain itself over mTLS."""
        service = domain.service_of(domain_name)
        try:
            response = self._stub(service).GetSealingKey(exchange_pb2.GetSealingKeyRequest())
        except grpc.RpcError as exc:
            raise as_domain_error(exc, service) from None
        return sealing_key_from_proto(response)

    def deliver(
        self,
        service: str,
        token: str,
        event_type: str,
        event_id: str,
        publisher: str,
        procedure: str,
        sealed: SealedBox,
    ) -> errors.DomainError | None:
        """Deliver one event (its payload sealed to the receiver); None on success."""
        try:
            self._stub(service).Deliver(
                exchange_pb2.DeliverRequest(
                    token=token,
                    event_type=event_type,
                    event_id=event_id,
                    publisher=publisher,
                    procedure=procedure,
                    sealed_payload=box_to_proto(sealed),
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
    interval = getattr(settings, "checkpoint_interval_ms", 200) / 1000
    registry = Registry(
        db=db,
        vault=TokenVault(keyring.keyset("token").active_key, keyring.keyset("tag").active_key),
        blind=BlindIndex(keyring),
        access=AccessRights.load(access_path),
        log=log_store or ExchangeLogStore(db, signing, checkpoint_interval=interval),
        provide=calls.provide,
        deliver=calls.deliver,
        keys=KeyDirectory(
            calls.sealing_key,
            Ed25519PrivateKey.from_private_bytes(keyring.keyset("directory-signing").active_key),
        ),
        provide_batch=calls.provide_batch,
    )
    # Bulk enrolment prepares large batches in worker processes (both cores for the crypto).
    registry.bulk = BulkEnroller(
        registry.vault,
        registry.blind,
        KeyMaterial(
            keyring.keyset("data"),
            keyring.keyset("blind"),
            keyring.keyset("token").active_key,
            keyring.keyset("tag").active_key,
        ),
    )
    # run_service builds plain ServiceSettings; the registry's own fields come from the env.
    extra = settings if isinstance(settings, RegistrySettings) else None
    witnesses = (extra or RegistrySettings(**settings.model_dump())).witnesses
    if witnesses and registry.log.witnessing is None:
        channels = Channels(TlsMaterial(settings.tls_dir), settings.endpoints)
        registry.log.witnessing = Witnessing(channels, witnesses, registry.log.consistency_proof)
    return registry


def build_app(settings: ServiceSettings) -> GrpcApp:
    """The registry's gRPC application."""
    registry = build_registry(settings)
    registry.log.checkpoints.start()
    keyring = Keyring.load(settings.keyring_path)
    cards = CardService(registry, CardAuthority.from_keyring(keyring))
    limits = settings.abuse_limits() if isinstance(settings, RegistrySettings) else AbuseLimits()
    events = SecurityLog(registry.db)
    pins = CardPins(registry, keyring, events=events)
    guard = LinkGuard(registry.db, registry.blind, limits, events=events)
    abuse = AbuseInterceptor(guard, QueryRateMonitor(registry.db, events, limits), events)
    bulk_links = BulkLinks(registry, guard, limits, events)

    resident_authority = ResidentAuthority(registry)
    resident_acts = ResidentActs(registry, resident_authority)

    def stop() -> None:
        registry.log.checkpoints.stop()
        registry.db.dispose()

    def register(server: grpc.Server) -> None:
        registry_pb2_grpc.add_RegistryServicer_to_server(
            RegistryServicer(registry, bulk_links), server
        )
        registry_pb2_grpc.add_HubServicer_to_server(HubServicer(registry), server)
        registry_pb2_grpc.add_ExchangeLogServicer_to_server(ExchangeLogServicer(registry), server)
        registry_pb2_grpc.add_CardsServicer_to_server(CardsServicer(cards, pins), server)
        registry_pb2_grpc.add_SecurityServicer_to_server(SecurityServicer(events), server)
        resident_pb2_grpc.add_ResidentAuthorityServicer_to_server(
            ResidentActsServicer(
                resident_authority, resident_acts, PasskeyGrants(registry, resident_authority)
            ),
            server,
        )
        log_audit_pb2_grpc.add_LogAuditServicer_to_server(
            LogAuditServicer(LogLeaves(registry.db, registry.log.size)), server
        )
        reconcile_pb2_grpc.add_ReconciliationServicer_to_server(
            ReconciliationServicer(Reconciler(registry, TrainedModel.load())), server
        )

    return GrpcApp(
        name="registry",
        service_names=[
            "mynumber.registry.v1.Registry",
            "mynumber.registry.v1.Hub",
            "mynumber.registry.v1.ExchangeLog",
            "mynumber.registry.v1.Cards",
            "mynumber.registry.v1.Security",
            "mynumber.registry.v1.LogAudit",
            "mynumber.registry.v1.ResidentAuthority",
            "mynumber.registry.v1.Reconciliation",
        ],
        register=register,
        access=ACCESS,
        on_denied=denial_recorder(events),
        extra_interceptors=[
            abuse,
            ResidentAuthorityInterceptor(resident_authority),
            PortalPublishInterceptor(resident_acts),
        ],
        on_stop=stop,
    )
