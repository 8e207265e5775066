"""The requester's and publisher's side of sealed exchanges, for :class:`RegistryClient`.

A requester opens each answer the hub relays with its own HPKE key and the metadata *it*
asked with (never the hub's word for it), so an answer that was tampered with, sealed to
another key, or moved from another exchange fails here with a clear error — and the failure
is reported to the hub, which records it in the exchange log. A publisher seals each event
to every receiving domain's key from the registry's signed key directory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
from mynumber.exchange.v1 import exchange_pb2
from mynumber.registry.v1 import registry_pb2, registry_pb2_grpc

from mynumber_core import errors
from mynumber_core.rpc_errors import as_domain_error
from mynumber_core.sealing import (
    BatchMember,
    DomainKeys,
    SealedBox,
    SealingError,
    SealingKey,
    answer_context,
    batch_context,
    event_context,
    params_digest,
    seal_json,
    verify_directory,
)
from mynumber_core.structs import from_struct, to_struct

log = structlog.get_logger(__name__)

DIRECTORY_TTL_SECONDS = 60.0
"""How long a verified key directory is reused before it is fetched again."""


def _box(message: exchange_pb2.Sealed) -> SealedBox:
    return SealedBox(message.key_id, message.suite, bytes(message.ciphertext))


def _members(messages: Sequence[registry_pb2.BatchMember]) -> list[BatchMember]:
    return [(m.request_id, m.item, m.procedure, m.params_sha256) for m in messages]


@dataclass(frozen=True)
class AskedQuery:
    """What the requester asked (the metadata its answer must be bound to)."""

    provider: str
    item: str
    procedure: str
    request_id: str
    params: Mapping[str, Any]

    def member(self) -> BatchMember:
        """This query as one member of a batch-sealed answer."""
        return (self.request_id, self.item, self.procedure, params_digest(self.params))


def _normalised(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Params as the provider will see them after the Struct round trip."""
    return from_struct(to_struct(params))


class SealedExchanges:
    """Opens answers and seals events for one domain."""

    def __init__(self, hub: registry_pb2_grpc.HubStub, keys: DomainKeys | None) -> None:
        self._hub = hub
        self._keys = keys
        self._lock = threading.Lock()
        self._directory: tuple[float, dict[str, SealingKey]] | None = None
        self._pinned_vkey: str | None = None

    @property
    def keys(self) -> DomainKeys:
        """This domain's keys; a clear error for a client built without them."""
        if self._keys is None:
            raise errors.FailedPrecondition(
                "this registry client has no HPKE keys, so it can neither open answers nor "
                "seal events; build it with the domain's keyring (DomainKeys)"
            )
        return self._keys

    def asked(
        self,
        provider: str,
        item: str,
        procedure: str,
        request_id: str,
        params: Mapping[str, Any] | None,
    ) -> AskedQuery:
        """The metadata of a query about to be sent."""
        return AskedQuery(provider, item, procedure, request_id, _normalised(params))

    def reply_to(self) -> exchange_pb2.SealingKey:
        """This domain's current public key, named in each query so the provider seals the
        answer to it."""
        key = self.keys.public_key()
        return exchange_pb2.SealingKey(
            domain=key.domain, key_id=key.key_id, suite=key.suite, public_key=key.public_key
        )

    def _report(self, request_id: str, error: SealingError) -> None:
        """Tell the hub (best effort) so the failure is in the exchange log."""
        try:
            self._hub.ReportUnopenable(
                registry_pb2.ReportUnopenableRequest(
                    request_id=request_id, reason=error.message[:500]
                )
            )
        except grpc.RpcError as exc:
            log.warning("unopenable answer not reported", code=exc.code().name)

    def open_answer(
        self, asked: AskedQuery, response: registry_pb2.QueryResponse
    ) -> dict[str, Any]:
        """Open one Query answer (sealed for it alone, or for the batch it was part of)."""
        try:
            if not response.HasField("sealed"):
                raise SealingError(
                    "the hub returned no sealed answer; answers must be sealed by the provider"
                )
            if response.batch:
                members = _members(response.batch)
                return self._open_batch(asked.provider, members, _box(response.sealed), [asked])[
                    asked.request_id
                ]
            context = answer_context(
                request_id=asked.request_id,
                requester=self.keys.domain,
                provider=asked.provider,
                item=asked.item,
                procedure=asked.procedure,
                params=asked.params,
            )
            return self.keys.open_json(_box(response.sealed), context)
        except SealingError as exc:
            self._report(asked.request_id, exc)
            raise

    def _open_batch(
        self,
        provider: str,
        members: list[BatchMember],
        box: SealedBox,
        asked: Sequence[AskedQuery],
    ) -> dict[str, dict[str, Any]]:
        """Open a batch-sealed answer; every query it covers must be one this requester asked
        with exactly that metadata, else the box was moved or the metadata changed."""
        mine = {q.request_id: q.member() for q in asked}
        for member in members:
            if member[0] in mine and mine[member[0]] != member:
                raise SealingError(
                    f"the hub's metadata for exchange {member[0][:128]!r} differs from what "
                    "was asked; the sealed answer was not opened"
                )
        context = batch_context(requester=self.keys.domain, provider=provider, members=members)
        answers = self.keys.open_json(box, context).get("answers")
        if not isinstance(answers, list) or len(answers) != len(members):
            raise SealingError("the sealed batch answer does not match the exchanges it covers")
        return {m[0]: a for m, a in zip(members, answers, strict=True) if isinstance(a, dict)}

    def open_batch(
        self,
        asked: Sequence[AskedQuery],
        response: registry_pb2.BatchQueryResponse,
    ) -> list[tuple[dict[str, Any] | None, SealingError | None]]:
        """Data (or the opening failure) for each result of a BatchQuery, in order."""
        by_id = {q.request_id: q for q in asked}
        opened: dict[int, dict[str, dict[str, Any]] | SealingError] = {}
        out: list[tuple[dict[str, Any] | None, SealingError | None]] = []
        for n, result in enumerate(response.results):
            if result.code != 0:
                out.append((None, None))
                continue
            query = by_id.get(result.request_id)
            try:
                if query is None:
                    raise SealingError("the hub answered a request id that was not asked")
                if not result.HasField("sealed") and result.sealed_ref == n:
                    raise SealingError("the hub returned no sealed answer")
                if result.sealed_ref in response.members:
                    ref = result.sealed_ref
                    if ref not in opened:
                        carrier = response.results[ref] if ref < len(response.results) else None
                        if carrier is None or not carrier.HasField("sealed"):
                            raise SealingError("the hub's batch answer names no sealed box")
                        try:
                            opened[ref] = self._open_batch(
                                result.provider,
                                _members(response.members[ref].items),
                                _box(carrier.sealed),
                                asked,
                            )
                        except SealingError as exc:
                            opened[ref] = exc
                    got = opened[ref]
                    if isinstance(got, SealingError):
                        raise got
                    if query.request_id not in got:
                        raise SealingError("the sealed batch answer does not cover this query")
                    out.append((got[query.request_id], None))
                else:
                    context = answer_context(
                        request_id=query.request_id,
                        requester=self.keys.domain,
                        provider=query.provider,
                        item=query.item,
                        procedure=query.procedure,
                        params=query.params,
                    )
                    out.append((self.keys.open_json(_box(result.sealed), context), None))
            except SealingError as exc:
                self._report(result.request_id, exc)
                out.append((None, exc))
        return out

    # ------------------------------------------------------------------------ events

    def directory(self) -> dict[str, SealingKey]:
        """The registry's signed key directory, verified (cached for a minute).

        The verifier key is pinned on first use for the life of the process, and this
        domain's own entry must be its own public key: a directory that hands out another
        key for it (a substituted key the hub could open) is refused.
        """
        with self._lock:
            cached = self._directory
            if cached is not None and time.monotonic() - cached[0] < DIRECTORY_TTL_SECONDS:
                return cached[1]
        try:
            response = self._hub.GetKeyDirectory(registry_pb2.GetKeyDirectoryRequest())
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        with self._lock:
            if self._pinned_vkey is None:
                self._pinned_vkey = response.verifier_key
            vkey = self._pinned_vkey
        keys = verify_directory(response.directory, vkey)
        listed = keys.get(self.keys.domain)
        if listed is not None and not self.keys.holds(listed):
            raise SealingError(
                f"the key directory lists a key for {self.keys.domain} that is not one of its "
                "own: refusing a directory with a substituted key"
            )
        with self._lock:
            self._directory = (time.monotonic(), keys)
        return keys

    def seal_event(
        self,
        payload: Mapping[str, Any],
        *,
        event_type: str,
        event_id: str,
        procedure: str,
        audience: Sequence[str],
    ) -> dict[str, exchange_pb2.Sealed]:
        """The payload sealed to each possible receiver (the audience, else every domain in
        the directory but this one)."""
        directory = self.directory()
        publisher = self.keys.domain
        receivers = [d for d in (audience or sorted(directory)) if d != publisher]
        sealed: dict[str, exchange_pb2.Sealed] = {}
        for receiver in receivers:
            key = directory.get(receiver)
            if key is None:
                continue  # the hub reports that receiver's delivery as failed, to retry
            box = seal_json(
                key,
                payload,
                event_context(
                    event_id=event_id,
                    publisher=publisher,
                    receiver=receiver,
                    event_type=event_type,
                    procedure=procedure,
                ),
            )
            sealed[receiver] = exchange_pb2.Sealed(
                key_id=box.key_id, suite=box.suite, ciphertext=box.ciphertext
            )
        return sealed
