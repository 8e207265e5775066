"""The client every domain uses to talk to the registry: link, query, publish, resolve.

Failed calls come back as domain exceptions with the registry's message, so a domain's own
callers see the right status code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from mynumber.registry.v1 import registry_pb2, registry_pb2_grpc

from mynumber_core.channels import Channels
from mynumber_core.facts import BasicFacts
from mynumber_core.rpc_errors import as_domain_error
from mynumber_core.structs import from_struct, to_struct

_SEX = {"male": registry_pb2.SEX_MALE, "female": registry_pb2.SEX_FEMALE}


def facts_to_proto(facts: BasicFacts) -> registry_pb2.BasicFacts:
    """Protobuf form of validated facts."""
    return registry_pb2.BasicFacts(
        name=facts.name,
        birth_date=facts.birth_date.isoformat(),
        sex=_SEX[facts.sex],
        address=facts.address,
    )


@dataclass(frozen=True)
class QuerySpec:
    """One query of a batch."""

    token: str
    provider: str
    item: str
    procedure: str
    request_id: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchOutcome:
    """The result of one query in a batch: data, or a status code and message."""

    request_id: str
    code: int
    message: str
    data: dict[str, Any]
    log_index: int


class RegistryClient:
    """Typed wrapper over the registry's Registry, Hub and ExchangeLog services."""

    def __init__(self, channels: Channels) -> None:
        channel = channels.channel("registry")
        self.registry = registry_pb2_grpc.RegistryStub(channel)
        self.hub = registry_pb2_grpc.HubStub(channel)
        self.log = registry_pb2_grpc.ExchangeLogStub(channel)
        self.cards = registry_pb2_grpc.CardsStub(channel)

    def link(self, my_number: str, facts: BasicFacts) -> str:
        """Exchange a number plus the four facts for this domain's token."""
        try:
            response = self.registry.Link(
                registry_pb2.LinkRequest(my_number=my_number, facts=facts_to_proto(facts))
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        return str(response.token)

    def register(self, facts: BasicFacts, idempotency_key: str) -> tuple[str, str]:
        """Registry.RegisterResident (municipality): returns (my_number, token)."""
        try:
            response = self.registry.RegisterResident(
                registry_pb2.RegisterResidentRequest(
                    facts=facts_to_proto(facts), idempotency_key=idempotency_key
                )
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        return str(response.my_number), str(response.token)

    def update_facts(self, token: str, facts: BasicFacts, *, deceased: bool = False) -> None:
        """Registry.UpdateFacts (municipality)."""
        try:
            self.registry.UpdateFacts(
                registry_pb2.UpdateFactsRequest(
                    token=token, facts=facts_to_proto(facts), deceased=deceased
                )
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None

    def reissue(self, token: str, reason: str, idempotency_key: str) -> str:
        """Registry.ReissueNumber: the new number, for the new notification."""
        try:
            response = self.registry.ReissueNumber(
                registry_pb2.ReissueNumberRequest(
                    token=token, reason=reason, idempotency_key=idempotency_key
                )
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        return str(response.my_number)

    def query(
        self,
        token: str,
        provider: str,
        item: str,
        procedure: str,
        request_id: str,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Ask another domain for one item through the hub."""
        try:
            response = self.hub.Query(
                registry_pb2.QueryRequest(
                    token=token,
                    provider=provider,
                    item=item,
                    procedure=procedure,
                    request_id=request_id,
                    params=to_struct(params),
                )
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        return from_struct(response.data)

    def batch_query(self, queries: Sequence[QuerySpec]) -> list[BatchOutcome]:
        """Many queries in one call; each result carries its own status."""
        request = registry_pb2.BatchQueryRequest(
            queries=[
                registry_pb2.QueryRequest(
                    token=q.token,
                    provider=q.provider,
                    item=q.item,
                    procedure=q.procedure,
                    request_id=q.request_id,
                    params=to_struct(q.params),
                )
                for q in queries
            ]
        )
        try:
            response = self.hub.BatchQuery(request)
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        return [
            BatchOutcome(r.request_id, r.code, r.message, from_struct(r.data), r.log_index)
            for r in response.results
        ]

    def publish(
        self,
        token: str,
        event_type: str,
        event_id: str,
        payload: Mapping[str, Any],
        *,
        procedure: str,
        audience: Sequence[str] = (),
    ) -> list[str]:
        """Publish an event about a person to the domains that know them."""
        try:
            response = self.hub.Publish(
                registry_pb2.PublishRequest(
                    token=token,
                    event_type=event_type,
                    event_id=event_id,
                    payload=to_struct(payload),
                    audience=list(audience),
                    procedure=procedure,
                )
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        return list(response.delivered_to)
