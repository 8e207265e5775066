"""The registry's value types and small shared rules: what a registration, a token
lookup and a query return, the provider-call signatures wiring supplies, the caller's
token domain, and the size limits.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mynumber_core import errors
from mynumber_core.sealing import (
    BatchMember,
    SealedBox,
    SealingKey,
    params_digest,
)
from services.registry import domain
from services.registry.exchange_log import NewEntry

MAX_PARAMS_BYTES = 8 * 1024
MAX_BATCH = 10_000
"""Most residents or queries one BulkRegister or BatchQuery call may carry."""
NUMBER_PURPOSE = "my-number"
_ERROR_BY_NUMBER = {cls.grpc_status.value[0]: cls for cls in errors.ERROR_TYPES}
"""The domain error a provider's per-item status code stands for."""


@dataclass(frozen=True)
class Issued:
    """Result of a registration or reissue."""

    my_number: str
    token: str
    key_version: int


@dataclass(frozen=True)
class Resolved:
    """A token's status for its own domain."""

    found: bool
    status: str = ""
    reissued: bool = False
    key_version: int = 0


@dataclass(frozen=True)
class ProviderAnswer:
    """What a provider returned (sealed to the requester), or how it failed."""

    sealed: SealedBox | None
    error: errors.DomainError | None = None


@dataclass(frozen=True)
class BatchAnswer:
    """A provider's answer to a batch: one sealed box for all, and a status per item."""

    sealed: SealedBox | None
    statuses: Sequence[tuple[int, str]]
    error: errors.DomainError | None = None


@dataclass(frozen=True)
class QueryResult:
    """The sealed answer relayed to a requester, and the log entry recording it.

    The hub cannot open ``sealed``. For an answer sealed for a whole batch, ``members`` is
    the metadata of every exchange it covers and ``position`` this one's place (the requester
    rebuilds the associated data from them and checks its own).
    """

    sealed: SealedBox
    log_index: int
    provider: str = ""
    members: Sequence[BatchMember] | None = None
    position: int | None = None


@dataclass(frozen=True)
class _Planned:
    """An authorised query, translated for its provider, not yet fetched."""

    requester: str
    provider: str
    item: str
    procedure: str
    request_id: str
    params: Mapping[str, Any]
    params_json: str
    """``params`` as sorted JSON (what the size check and the fingerprint read)."""
    fingerprint: str
    tag: str
    provider_token: str
    checked_below: int | None = None
    """The log was searched below this index for a recorded answer to this request id (see
    ``Append.checked_below``)."""

    def entry(
        self,
        outcome: str,
        reason: str,
        answer: SealedBox | None = None,
        code: int = 0,
        *,
        digest: str | None = None,
        position: int | None = None,
    ) -> NewEntry:
        """The log entry recording this query with an outcome (and the digest of the sealed
        answer, never its content)."""
        return NewEntry(
            self.requester,
            self.provider,
            self.item,
            self.procedure,
            outcome,
            reason,
            self.request_id,
            self.tag,
            self.fingerprint,
            answer,
            code,
            answer_digest=digest or (answer.digest() if answer is not None else None),
            answer_position=position,
        )

    def member(self) -> BatchMember:
        """This query as one member of a batch-sealed answer."""
        return (self.request_id, self.item, self.procedure, _params_digest_of(self.params_json))


QueryArgs = tuple[str, str, str, str, str, Mapping[str, Any]]
"""(token, provider, item, procedure, request_id, params) of one query in a batch."""

ProvideFn = Callable[[str, str, str, str, str, str, Mapping[str, Any], SealingKey], ProviderAnswer]
"""(service, token, item, procedure, request_id, requester, params, recipient) → answer."""
BatchItemArgs = tuple[str, str, str, str, Mapping[str, Any]]
"""(token, item, procedure, request_id, params) of one item of a ProvideBatch."""
ProvideBatchFn = Callable[[str, str, SealingKey, Sequence[BatchItemArgs]], BatchAnswer]
"""(service, requester, recipient, items) → the batch's sealed answer and statuses."""
DeliverFn = Callable[[str, str, str, str, str, str, SealedBox], errors.DomainError | None]
"""(service, token, event_type, event_id, publisher, procedure, sealed payload) → error."""


@functools.lru_cache(maxsize=4096)
def _params_digest_of(params_json: str) -> str:
    """:func:`params_digest` of the params whose sorted JSON this is. Parameters come from a
    Struct (JSON values only), so they read back from that JSON unchanged; a batch repeats the
    same few (a fiscal year), so each is digested once, not once per query."""
    return params_digest(json.loads(params_json))


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def require_domain(identity: str | None) -> str:
    """The caller's token domain; PERMISSION_DENIED for identities without one."""
    dom = domain.domain_of(identity)
    if dom is None:
        raise errors.PermissionDenied("this identity has no token domain and cannot hold tokens")
    return dom
