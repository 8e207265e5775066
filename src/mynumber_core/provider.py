"""The shared implementation of ``mynumber.exchange.v1.Provider`` for every data domain.

A domain registers item handlers (``item name -> function``) and event handlers
(``event type -> function``). The servicer converts protobuf to plain values and back, and
turns an unknown item or event into a clear NOT_FOUND / INVALID_ARGUMENT. Event handlers get
a session and must call :func:`claim_event` first so a redelivered event is applied once.

Answers leave sealed (HPKE) to the requester's key that the registry names, with the
exchange's metadata as associated data; events arrive sealed to this domain's key and are
opened here (:mod:`mynumber_core.sealing`). The hub in between reads neither.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from mynumber.exchange.v1 import exchange_pb2, exchange_pb2_grpc
from sqlalchemy import DateTime, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from mynumber_core import errors
from mynumber_core.db import Database
from mynumber_core.interceptors import AccessTable, status_code
from mynumber_core.sealing import (
    DomainKeys,
    SealedBox,
    SealingKey,
    answer_context,
    batch_context,
    event_context,
    params_digest,
    seal_json,
)
from mynumber_core.structs import from_struct

PROVIDER_SERVICE = "mynumber.exchange.v1.Provider"
PROVIDER_ACCESS: AccessTable = {
    f"/{PROVIDER_SERVICE}/{method}": frozenset({"registry"})
    for method in ("Provide", "ProvideBatch", "Deliver", "GetSealingKey")
}
"""Only the registry hub calls a domain's Provider interface (every domain's access table)."""


@dataclass(frozen=True)
class ProvideCall:
    """One Provide request, as plain values."""

    token: str
    item: str
    procedure: str
    requester: str
    request_id: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class DeliveredEvent:
    """One Deliver request, as plain values."""

    token: str
    event_type: str
    event_id: str
    publisher: str
    payload: Mapping[str, Any]


ItemHandler = Callable[[ProvideCall], Mapping[str, Any]]
ItemAnswer = Mapping[str, Any] | errors.DomainError
"""One item's answer in a batch: its data, or the error it ended with."""
BatchItemHandler = Callable[[Sequence[ProvideCall]], Sequence[ItemAnswer]]
"""Many calls for one item answered together (one database round trip), in call order."""
EventHandler = Callable[[Session, DeliveredEvent], None]


class ProcessedEventMixin:
    """Columns of a domain's ``processed_events`` table (the idempotent-consumer record)."""

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def claim_event(session: Session, model: type[ProcessedEventMixin], event: DeliveredEvent) -> bool:
    """Record the event as processed; False when it had been processed already."""
    if session.get(model, event.event_id) is not None:
        return False
    session.add(
        model(  # type: ignore[call-arg]
            event_id=event.event_id,
            event_type=event.event_type,
            processed_at=dt.datetime.now(dt.UTC),
        )
    )
    session.flush()
    return True


def sealing_key_from_proto(message: exchange_pb2.SealingKey) -> SealingKey:
    """Plain form of a SealingKey message."""
    return SealingKey(message.domain, message.key_id, message.suite, bytes(message.public_key))


def sealing_key_to_proto(key: SealingKey) -> exchange_pb2.SealingKey:
    """Protobuf form of a sealing key."""
    return exchange_pb2.SealingKey(
        domain=key.domain, key_id=key.key_id, suite=key.suite, public_key=key.public_key
    )


def box_from_proto(message: exchange_pb2.Sealed) -> SealedBox:
    """Plain form of a Sealed message."""
    return SealedBox(message.key_id, message.suite, bytes(message.ciphertext))


def box_to_proto(box: SealedBox) -> exchange_pb2.Sealed:
    """Protobuf form of a sealed box."""
    return exchange_pb2.Sealed(key_id=box.key_id, suite=box.suite, ciphertext=box.ciphertext)


class ProviderServicer(exchange_pb2_grpc.ProviderServicer):
    """Dispatches Provide to item handlers and Deliver to event handlers; seals answers and
    opens events with the domain's HPKE keys."""

    def __init__(
        self,
        domain: str,
        db: Database,
        processed_model: type[ProcessedEventMixin],
        items: Mapping[str, ItemHandler],
        events: Mapping[str, EventHandler],
        *,
        keys: DomainKeys,
        batch_items: Mapping[str, BatchItemHandler] | None = None,
    ) -> None:
        self._domain = domain
        self._db = db
        self._processed = processed_model
        self._items = dict(items)
        self._events = dict(events)
        self._keys = keys
        self._batch_items = dict(batch_items or {})

    def _recipient(self, message: exchange_pb2.SealingKey, requester: str) -> SealingKey:
        if not message.public_key:
            raise errors.InvalidInput(
                "recipient is required: answers are sealed to the requester's key from the "
                "registry's key directory"
            )
        if message.domain != requester:
            raise errors.InvalidInput(
                f"the recipient key belongs to {message.domain[:32]!r}, not to the requester "
                f"{requester[:32]!r}; answers are sealed only to the requester"
            )
        return sealing_key_from_proto(message)

    def _handler(self, item: str) -> ItemHandler:
        handler = self._items.get(item)
        if handler is None:
            raise errors.NotFound(
                f"{self._domain} provides no item {item[:64]!r}; "
                f"known items: {', '.join(sorted(self._items))}"
            )
        return handler

    def Provide(  # noqa: N802
        self, request: exchange_pb2.ProvideRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.ProvideResponse:
        handler = self._handler(request.item)
        call = ProvideCall(
            token=request.token,
            item=request.item,
            procedure=request.procedure,
            requester=request.requester,
            request_id=request.request_id,
            params=from_struct(request.params),
        )
        data = handler(call)
        recipient = self._recipient(request.recipient, request.requester)
        aad = answer_context(
            request_id=call.request_id,
            requester=call.requester,
            provider=self._domain,
            item=call.item,
            procedure=call.procedure,
            params=call.params,
        )
        return exchange_pb2.ProvideResponse(sealed=box_to_proto(seal_json(recipient, data, aad)))

    def ProvideBatch(  # noqa: N802
        self, request: exchange_pb2.ProvideBatchRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.ProvideBatchResponse:
        recipient = self._recipient(request.recipient, request.requester)
        calls = [
            ProvideCall(
                token=i.token,
                item=i.item,
                procedure=i.procedure,
                requester=request.requester,
                request_id=i.request_id,
                params=from_struct(i.params),
            )
            for i in request.items
        ]
        results: list[Mapping[str, Any] | errors.DomainError | None] = [None] * len(calls)
        by_item: dict[str, list[int]] = {}
        for n, call in enumerate(calls):
            by_item.setdefault(call.item, []).append(n)
        for item, positions in by_item.items():
            batch = self._batch_items.get(item)
            if batch is not None:
                answers = batch([calls[n] for n in positions])
                for n, answer in zip(positions, answers, strict=True):
                    results[n] = answer
                continue
            for n in positions:
                try:
                    results[n] = self._handler(item)(calls[n])
                except errors.DomainError as exc:
                    results[n] = exc
        data = [None if isinstance(r, errors.DomainError) else dict(r or {}) for r in results]
        aad = batch_context(
            requester=request.requester,
            provider=self._domain,
            members=[(c.request_id, c.item, c.procedure, params_digest(c.params)) for c in calls],
        )
        sealed = seal_json(recipient, {"answers": data}, aad)
        return exchange_pb2.ProvideBatchResponse(
            answers=[
                exchange_pb2.BatchAnswer(
                    request_id=c.request_id,
                    code=status_code(r) if isinstance(r, errors.DomainError) else 0,
                    message=r.message if isinstance(r, errors.DomainError) else "",
                )
                for c, r in zip(calls, results, strict=True)
            ],
            sealed=box_to_proto(sealed),
        )

    def GetSealingKey(  # noqa: N802
        self, request: exchange_pb2.GetSealingKeyRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.SealingKey:
        return sealing_key_to_proto(self._keys.public_key())

    def Deliver(  # noqa: N802
        self, request: exchange_pb2.DeliverRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.DeliverResponse:
        handler = self._events.get(request.event_type)
        if handler is None:
            raise errors.InvalidInput(
                f"{self._domain} does not handle event type {request.event_type!r}"
            )
        if not request.event_id:
            raise errors.InvalidInput("event_id is required so redelivery is applied once")
        if not request.HasField("sealed_payload"):
            raise errors.InvalidInput(
                "sealed_payload is required: events travel sealed to the receiver's key"
            )
        payload = self._keys.open_json(
            box_from_proto(request.sealed_payload),
            event_context(
                event_id=request.event_id,
                publisher=request.publisher,
                receiver=self._domain,
                event_type=request.event_type,
                procedure=request.procedure,
            ),
            what="event",
        )
        event = DeliveredEvent(
            token=request.token,
            event_type=request.event_type,
            event_id=request.event_id,
            publisher=request.publisher,
            payload=payload,
        )
        try:
            with self._db.transaction() as session:
                if not claim_event(session, self._processed, event):
                    return exchange_pb2.DeliverResponse(applied=False)
                handler(session, event)
        except IntegrityError:
            # Another replica of this service applied the same event at the same moment: its
            # processed_events row won (the primary key), this transaction rolled back whole.
            with self._db.transaction() as session:
                if session.get(self._processed, event.event_id) is not None:
                    return exchange_pb2.DeliverResponse(applied=False)
            raise
        return exchange_pb2.DeliverResponse(applied=True)
