"""Transactional outbox: events are written in the same transaction as the change they
describe, and a relay delivers them at least once (receivers apply each event id once).

Every replica of a service runs a relay over the same table; each due event is leased to one
replica at a time (:meth:`OutboxRelay.claim`: ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL
and a conditional UPDATE of ``next_attempt_at`` on both backends), so two replicas never
publish the same event at the same time.

A domain declares ``class OutboxEvent(Base, OutboxMixin)`` plus an encrypted ``payload``
column of its own, writes rows with :func:`enqueue`, and runs an :class:`OutboxRelay`.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import structlog
from sqlalchemy import DateTime, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from mynumber_core import errors, metrics
from mynumber_core.clock import aware, utc_now
from mynumber_core.db import Database

log = structlog.get_logger("mynumber.outbox")

LEASE = dt.timedelta(seconds=30)
"""How long a claimed event stays with the replica that claimed it (longer than a delivery's
deadline); after a crash another replica delivers it once the lease has run out."""


class OutboxMixin:
    """Columns of an outbox table; the subclass adds ``payload`` (usually encrypted)."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(String(128))
    procedure: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class OutboxRow(Protocol):
    """What the relay needs from a row."""

    id: str
    event_type: str
    token: str
    procedure: str
    payload: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    attempts: int
    next_attempt_at: dt.datetime


def enqueue(
    session: Session,
    model: type[Any],
    *,
    event_type: str,
    token: str,
    procedure: str,
    payload: Mapping[str, Any],
    event_id: str | None = None,
) -> str:
    """Add an event to the outbox inside the caller's transaction; returns its id (``event_id``
    when given: the id the registry authorised the event under, e.g. the portal's)."""
    event_id = event_id or uuid.uuid4().hex
    now = utc_now()
    session.add(
        model(
            id=event_id,
            event_type=event_type,
            token=token,
            procedure=procedure,
            payload=json.dumps(dict(payload), ensure_ascii=False, sort_keys=True),
            created_at=now,
            delivered_at=None,
            attempts=0,
            next_attempt_at=now,
        )
    )
    return event_id


class Publisher(Protocol):
    """The part of the registry client the relay needs."""

    def publish(
        self,
        token: str,
        event_type: str,
        event_id: str,
        payload: Mapping[str, Any],
        *,
        procedure: str,
        audience: Sequence[str] = (),
    ) -> list[str]: ...


def hub_publisher(
    registry: Publisher,
    audience: Sequence[str] | Callable[[OutboxRow], Sequence[str]] = (),
) -> Callable[[OutboxRow, dict[str, Any]], None]:
    """A relay delivery function publishing each row through the registry hub, the row id
    being the event id (so redelivery is applied once by every receiver)."""

    def deliver(row: OutboxRow, payload: dict[str, Any]) -> None:
        to = audience(row) if callable(audience) else audience
        registry.publish(
            row.token, row.event_type, row.id, payload, procedure=row.procedure, audience=list(to)
        )

    return deliver


class OutboxRelay:
    """Delivers pending events with exponential back-off, on a background thread."""

    def __init__(
        self,
        domain: str,
        db: Database,
        model: type[Any],
        deliver: Callable[[OutboxRow, dict[str, Any]], None],
        *,
        interval: float = 0.5,
    ) -> None:
        self._domain = domain
        self._db = db
        self._model = model
        self._deliver = deliver
        self._interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the relay thread."""
        self._thread = threading.Thread(
            target=self._run, name=f"{self._domain}-outbox", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        """Deliver now instead of at the next tick (called after enqueueing)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop after the current batch."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.drain()
            except Exception as exc:  # keep the relay alive; the next tick retries
                log.error("outbox relay error", error_type=type(exc).__name__)
            self._wake.wait(self._interval)
            self._wake.clear()

    def claim(self, limit: int = 100) -> list[Any]:
        """Lease up to ``limit`` due events to this replica and return them.

        Several replicas share the table. On PostgreSQL the due rows are selected ``FOR UPDATE
        SKIP LOCKED``, so concurrent relays pick disjoint rows without waiting on each other;
        on both backends each row is then taken by a conditional UPDATE (still undelivered and
        due), which moves its ``next_attempt_at`` past :data:`LEASE`: no other replica sees it
        as due until the lease runs out (this one crashed) or it is rescheduled or delivered.
        """
        model = self._model
        now = utc_now()
        lease_until = now + LEASE
        with self._db.transaction() as session:
            candidates = session.scalars(
                select(model)
                .where(model.delivered_at.is_(None), model.next_attempt_at <= now)
                .order_by(model.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            claimed = []
            for row in candidates:
                taken = session.execute(
                    update(model)
                    .where(
                        model.id == row.id,
                        model.delivered_at.is_(None),
                        model.next_attempt_at <= now,
                    )
                    .values(next_attempt_at=lease_until)
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(row)
        return claimed

    def drain(self, limit: int = 100) -> int:
        """Try every due event once (those this replica could lease); returns how many were
        delivered."""
        model = self._model
        rows = self.claim(limit)
        delivered = 0
        for row in rows:
            try:
                self._deliver(row, json.loads(row.payload))
            except errors.DomainError as exc:
                self._reschedule(row.id, row.attempts + 1, type(exc).__name__)
                continue
            with self._db.transaction() as session:
                fresh = session.get(model, row.id)
                if fresh is not None and fresh.delivered_at is None:
                    fresh.delivered_at = fresh.next_attempt_at = utc_now()  # lease released
                    fresh.attempts = row.attempts + 1
            delivered += 1
        self._update_lag()
        return delivered

    def _reschedule(self, event_id: str, attempts: int, reason: str) -> None:
        delay = min(60.0, 0.5 * 2 ** min(attempts, 7))
        with self._db.transaction() as session:
            fresh = session.get(self._model, event_id)
            if fresh is not None:
                fresh.attempts = attempts
                fresh.next_attempt_at = utc_now() + dt.timedelta(seconds=delay)
        log.warning("outbox delivery failed", event_id=event_id, attempts=attempts, reason=reason)

    def _update_lag(self) -> None:
        model = self._model
        with self._db.transaction() as session:
            oldest = session.scalars(
                select(model.created_at)
                .where(model.delivered_at.is_(None))
                .order_by(model.created_at)
                .limit(1)
            ).first()
            pending = len(
                session.scalars(select(model.id).where(model.delivered_at.is_(None))).all()
            )
        lag = (utc_now() - aware(oldest)).total_seconds() if oldest else 0.0
        metrics.OUTBOX_LAG.labels(self._domain).set(lag)
        metrics.OUTBOX_PENDING.labels(self._domain).set(pending)
