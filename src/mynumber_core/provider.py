"""The shared implementation of ``mynumber.exchange.v1.Provider`` for every data domain.

A domain registers item handlers (``item name -> function``) and event handlers
(``event type -> function``). The servicer converts protobuf to plain values and back, and
turns an unknown item or event into a clear NOT_FOUND / INVALID_ARGUMENT. Event handlers get
a session and must call :func:`claim_event` first so a redelivered event is applied once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from mynumber.exchange.v1 import exchange_pb2, exchange_pb2_grpc
from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from mynumber_core import errors
from mynumber_core.db import Database
from mynumber_core.structs import from_struct, to_struct


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


class ProviderServicer(exchange_pb2_grpc.ProviderServicer):
    """Dispatches Provide to item handlers and Deliver to event handlers."""

    def __init__(
        self,
        domain: str,
        db: Database,
        processed_model: type[ProcessedEventMixin],
        items: Mapping[str, ItemHandler],
        events: Mapping[str, EventHandler],
    ) -> None:
        self._domain = domain
        self._db = db
        self._processed = processed_model
        self._items = dict(items)
        self._events = dict(events)

    def Provide(  # noqa: N802
        self, request: exchange_pb2.ProvideRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.ProvideResponse:
        handler = self._items.get(request.item)
        if handler is None:
            raise errors.NotFound(
                f"{self._domain} provides no item {request.item!r}; "
                f"known items: {', '.join(sorted(self._items))}"
            )
        call = ProvideCall(
            token=request.token,
            item=request.item,
            procedure=request.procedure,
            requester=request.requester,
            request_id=request.request_id,
            params=from_struct(request.params),
        )
        return exchange_pb2.ProvideResponse(data=to_struct(handler(call)))

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
        event = DeliveredEvent(
            token=request.token,
            event_type=request.event_type,
            event_id=request.event_id,
            publisher=request.publisher,
            payload=from_struct(request.payload),
        )
        with self._db.transaction() as session:
            if not claim_event(session, self._processed, event):
                return exchange_pb2.DeliverResponse(applied=False)
            handler(session, event)
        return exchange_pb2.DeliverResponse(applied=True)
