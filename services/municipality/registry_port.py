"""The registry as the municipality uses it: issue, link, update facts, reissue, query, publish.

A thin adapter over :class:`~mynumber_core.registry_client.RegistryClient` so the use cases
depend on a small protocol that unit tests can fake. Failed calls become domain errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import grpc
from mynumber.registry.v1 import registry_pb2

from mynumber_core.facts import BasicFacts
from mynumber_core.registry_client import BatchOutcome, QuerySpec, RegistryClient, facts_to_proto
from mynumber_core.rpc_errors import as_domain_error


class RegistryPort(Protocol):
    """What the municipality needs from the registry."""

    def register(self, facts: BasicFacts, idempotency_key: str) -> tuple[str, str]:
        """Issue a number: returns (my_number, municipality token)."""
        ...

    def link(self, my_number: str, facts: BasicFacts) -> str:
        """Exchange a number and the four facts for the municipality's token."""
        ...

    def update_facts(self, token: str, facts: BasicFacts, *, deceased: bool = False) -> None:
        """Make the registry's facts follow the register."""
        ...

    def reissue(self, token: str, reason: str, idempotency_key: str) -> str:
        """Issue a new number for a compromised one; returns the new number."""
        ...

    def batch_query(self, queries: Sequence[QuerySpec]) -> list[BatchOutcome]:
        """Many hub queries in one call."""
        ...

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
        """Publish an event about a person through the hub."""
        ...


class GrpcRegistry:
    """:class:`RegistryPort` over the real registry."""

    def __init__(self, client: RegistryClient) -> None:
        self._client = client

    def register(self, facts: BasicFacts, idempotency_key: str) -> tuple[str, str]:
        """Registry.RegisterResident."""
        try:
            response = self._client.registry.RegisterResident(
                registry_pb2.RegisterResidentRequest(
                    facts=facts_to_proto(facts), idempotency_key=idempotency_key
                )
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        return str(response.my_number), str(response.token)

    def link(self, my_number: str, facts: BasicFacts) -> str:
        """Registry.Link."""
        return self._client.link(my_number, facts)

    def update_facts(self, token: str, facts: BasicFacts, *, deceased: bool = False) -> None:
        """Registry.UpdateFacts."""
        try:
            self._client.registry.UpdateFacts(
                registry_pb2.UpdateFactsRequest(
                    token=token, facts=facts_to_proto(facts), deceased=deceased
                )
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None

    def reissue(self, token: str, reason: str, idempotency_key: str) -> str:
        """Registry.ReissueNumber."""
        try:
            response = self._client.registry.ReissueNumber(
                registry_pb2.ReissueNumberRequest(
                    token=token, reason=reason, idempotency_key=idempotency_key
                )
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        return str(response.my_number)

    def batch_query(self, queries: Sequence[QuerySpec]) -> list[BatchOutcome]:
        """Hub.BatchQuery."""
        return self._client.batch_query(queries)

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
        """Hub.Publish."""
        return self._client.publish(
            token, event_type, event_id, payload, procedure=procedure, audience=audience
        )
