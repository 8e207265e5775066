"""SQLAlchemy models of the pension service (one ``Base``, one ``CipherSlot``).

The person is known only by the registry's pension token; the address (for letters) and the
payout account of a claim are personal data and live in encrypted columns. Contribution
months are stored one row per month so every unpaid month has a stable payable-item id.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mynumber_core.alerts import AlertMixin
from mynumber_core.columns import CipherSlot, EncryptedText
from mynumber_core.outbox import OutboxMixin
from mynumber_core.provider import ProcessedEventMixin

CIPHER = CipherSlot("pension")


class Base(DeclarativeBase):
    """Declarative base of the pension database."""


class Enrolment(Base):
    """One insured person (被保険者)."""

    __tablename__ = "enrolments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    basic_pension_number: Mapped[str] = mapped_column(String(11), unique=True)
    token: Mapped[str] = mapped_column(String(128), unique=True)
    category: Mapped[int] = mapped_column(Integer)
    enrolled_on: Mapped[dt.date] = mapped_column(Date)
    address: Mapped[str] = mapped_column(EncryptedText(CIPHER, "enrolments.address"))
    address_changed_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    """When an ``address_changed`` event last arrived (payments are held after it)."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ContributionMonth(Base):
    """One month of national pension contributions that was paid."""

    __tablename__ = "contribution_months"
    __table_args__ = (UniqueConstraint("enrolment_id", "fiscal_year", "month_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolments.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    month_index: Mapped[int] = mapped_column(Integer)  # 1 = April … 12 = March
    amount: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))  # "counter" or "portal"
    reference: Mapped[str] = mapped_column(String(64), index=True)  # receipt or event id
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Receipt(Base):
    """A counter receipt already recorded (idempotency of RecordContribution)."""

    __tablename__ = "receipts"

    receipt_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolments.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    months: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ExemptionApplication(Base):
    """An exemption application and its decision."""

    __tablename__ = "exemption_applications"

    application_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enrolment_id: Mapped[str | None] = mapped_column(
        ForeignKey("enrolments.id"), index=True, nullable=True
    )
    fiscal_year: Mapped[int] = mapped_column(Integer)
    income_year: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(16))
    rejected: Mapped[bool] = mapped_column(Boolean, default=False)
    income: Mapped[int] = mapped_column(BigInteger)
    dependents: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Claim(Base):
    """A claim for the old-age basic pension and its decision."""

    __tablename__ = "claims"

    claim_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolments.id"), index=True)
    approved: Mapped[bool] = mapped_column(Boolean)
    contribution_months: Mapped[int] = mapped_column(Integer)
    age: Mapped[int] = mapped_column(Integer)
    annual_amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    account_reference: Mapped[str] = mapped_column(
        EncryptedText(CIPHER, "claims.account_reference")
    )
    filed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(String(16), default="counter")
    payout_status: Mapped[str] = mapped_column(String(16), default="")
    """"" (not approved), "released" or "held" (by the payout policy)."""
    hold_reason: Mapped[str] = mapped_column(String(200), default="")
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class OrphanRecord(Base):
    """A contribution record that belongs to no enrolled person (宙に浮いた年金記録), kept as
    written: the identifying facts encrypted, the employer, period and months paid in clear.

    ``status``: ``pool`` (unmatched), ``proposed`` (one likely candidate), ``review``
    (several close candidates: the operator review queue), ``merged``. A
    rejected candidate puts it back in the pool and leaves nothing in anyone's record.
    """

    __tablename__ = "orphan_records"

    record_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_kana: Mapped[str] = mapped_column(EncryptedText(CIPHER, "orphan_records.name_kana"))
    name_kanji: Mapped[str] = mapped_column(EncryptedText(CIPHER, "orphan_records.name_kanji"))
    """Empty when the record has no kanji."""
    birth_date_written: Mapped[str] = mapped_column(
        EncryptedText(CIPHER, "orphan_records.birth_date_written")
    )
    sex: Mapped[str] = mapped_column(EncryptedText(CIPHER, "orphan_records.sex"))
    prefecture: Mapped[str] = mapped_column(String(8), default="")
    employer: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    period_end: Mapped[str] = mapped_column(String(7))
    months: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pool", index=True)
    merged_into: Mapped[str | None] = mapped_column(
        ForeignKey("enrolments.id"), index=True, nullable=True
    )
    merged_token: Mapped[str | None] = mapped_column(String(128), index=True, nullable=True)
    """The pension token of the resident who confirmed the record (counted in their record
    from then on, also when they enrol later)."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class OrphanCandidate(Base):
    """A candidate the registry proposed for an orphan record: pension's own token, or the
    registry's "notify the resident" reference when the person has not linked pension yet.
    Never the candidate's name, birth date or address (pension is never sent them)."""

    __tablename__ = "orphan_candidates"
    __table_args__ = (UniqueConstraint("record_id", "candidate_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("orphan_records.record_id"), index=True)
    candidate_ref: Mapped[str] = mapped_column(String(128), index=True)
    """The pension token, or ``notify:<reference>`` until the registry delivered the notice
    and answered pension's token for the resident."""
    probability: Mapped[float] = mapped_column(Float)
    agreeing: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    """``open`` (to notify), ``notified``, ``review`` (several close candidates), ``confirmed``,
    ``rejected`` (by the resident), ``dismissed`` (by an operator) or ``closed`` (another
    candidate was chosen). A rejected or dismissed candidate is not proposed again."""
    request_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """``resident`` or the operator id who decided."""


class UsedClaimNonce(Base):
    """A card-signed claim nonce already spent: each (card serial, nonce) is usable once, so a
    recorded signature cannot be replayed at the counter."""

    __tablename__ = "used_claim_nonces"
    __table_args__ = (UniqueConstraint("card_serial", "nonce"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    card_serial: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(80))
    claim_id: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Alert(AlertMixin, Base):
    """Something for the pension service's operators to look at (a payment held because the
    account is shared by unrelated residents). Basic pension number and masked account only."""

    __tablename__ = "alerts"

    basic_pension_number: Mapped[str] = mapped_column(String(11))
    detail: Mapped[str] = mapped_column(EncryptedText(CIPHER, "alerts.detail"))
    approved_account: Mapped[str | None] = mapped_column(
        EncryptedText(CIPHER, "alerts.approved_account"), nullable=True
    )
    """The masked account the operator reviewed: the approval releases payouts to it only."""


class OutboxEvent(OutboxMixin, Base):
    """Events to publish through the registry (inbox documents for the portal)."""

    __tablename__ = "outbox_events"

    payload: Mapped[str] = mapped_column(EncryptedText(CIPHER, "outbox_events.payload"))


class PendingApplication(OutboxMixin, Base):
    """Applications that arrived from the portal, decided by a background worker.

    Deciding needs queries through the registry, so it is not done inside the registry's
    Deliver call; the same relay machinery as the outbox retries it with back-off.
    """

    __tablename__ = "pending_applications"

    payload: Mapped[str] = mapped_column(EncryptedText(CIPHER, "pending_applications.payload"))


class ProcessedEvent(ProcessedEventMixin, Base):
    """Events from the registry already applied (idempotent consumer)."""

    __tablename__ = "processed_events"
