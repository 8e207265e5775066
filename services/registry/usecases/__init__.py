"""The registry's operations: issuance, linking, tokens, reissue, rotation, locks, and the
exchange hub (query, batch, publish) with its log.

Every method takes the caller's mTLS identity; nothing trusts a domain named in a request.
One module per feature: ``residents`` (issuance, links, tokens, reissue, locks, claim PINs),
``hub`` (query and batch, log reads), ``events`` (key directory, publish); ``base`` holds
the shared dependencies and lookups, ``records`` the value types. ``Registry`` composes them.
"""

from __future__ import annotations

from mynumber_core.mynumber import InvalidMyNumber
from services.registry.usecases.base import RegistryBase
from services.registry.usecases.events import Events
from services.registry.usecases.hub import Hub
from services.registry.usecases.records import (
    MAX_BATCH,
    MAX_PARAMS_BYTES,
    NUMBER_PURPOSE,
    BatchAnswer,
    BatchItemArgs,
    DeliverFn,
    Issued,
    ProvideBatchFn,
    ProvideFn,
    ProviderAnswer,
    QueryArgs,
    QueryResult,
    Resolved,
    require_domain,
)
from services.registry.usecases.residents import Residents


class Registry(Residents, Hub, Events):
    """All registry use cases over one database."""


__all__ = [
    "MAX_BATCH",
    "MAX_PARAMS_BYTES",
    "NUMBER_PURPOSE",
    "BatchAnswer",
    "BatchItemArgs",
    "DeliverFn",
    "InvalidMyNumber",
    "Issued",
    "ProvideBatchFn",
    "ProvideFn",
    "ProviderAnswer",
    "QueryArgs",
    "QueryResult",
    "Registry",
    "RegistryBase",
    "Resolved",
    "require_domain",
]
