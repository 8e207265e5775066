"""The registry as the municipality uses it: issue, link, update facts, reissue, query, publish.

The use cases depend on this small protocol so unit tests can fake it; in production it is
:class:`~mynumber_core.registry_client.RegistryClient`, whose failed calls are domain errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from mynumber_core.facts import BasicFacts
from mynumber_core.registry_client import BatchOutcome, QuerySpec


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
