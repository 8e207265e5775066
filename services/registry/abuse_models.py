"""The registry's abuse-resistance tables: Link failure counters, per-minute query counts per
agency, and security events. Shared by every registry replica (the counters live here, not in
memory). None of them holds a My Number, a name or a fact: a number appears only as a blind
index under its own purpose, so these rows cannot be joined to ``persons`` without the key."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.models import Base


class LinkFailure(Base):
    """One failed Link attempt, counted under a scope ("number" or "domain") and a key."""

    __tablename__ = "link_failures"
    __table_args__ = (Index("ix_link_failures_scope_key_at", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(96))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class QueryRateBucket(Base):
    """How many hub queries one agency made in one time bucket."""

    __tablename__ = "query_rate_buckets"

    agency: Mapped[str] = mapped_column(String(32), primary_key=True)
    bucket_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class SecurityEvent(Base):
    """A denied or failed call, a rate limit, or an alert; enough to investigate, no PII."""

    __tablename__ = "security_events"
    __table_args__ = (Index("ix_security_events_kind_at", "kind", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    caller: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str] = mapped_column(String(64))
    number_index: Mapped[str | None] = mapped_column(String(96), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="{}")
    dedup_key: Mapped[str | None] = mapped_column(String(160), unique=True, nullable=True)
    """Set for alerts raised once per window: a second replica's insert fails on it."""


class AttemptCounter(Base):
    """Attempts reserved under one key (a Link target, a claim PIN, a card PIN) in its window.

    An attempt is reserved by one conditional ``UPDATE`` of this row *before* it is evaluated
    (services/registry/abuse.py, :class:`~services.registry.abuse.AttemptCounters`): the row
    lock makes concurrent attempts queue, so no more than the limit are ever evaluated.
    """

    __tablename__ = "attempt_counters"

    scope: Mapped[str] = mapped_column(String(24), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
