"""SQLAlchemy models of the tax service (one ``Base``, one ``CipherSlot``).

The person is known only by the registry's tax token; the address and the masked payout
account are personal data and live in encrypted columns. Income figures are keyed by the
taxpayer's internal id, never by anything personal.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mynumber_core.alerts import AlertMixin
from mynumber_core.columns import CipherSlot, EncryptedText
from mynumber_core.outbox import OutboxMixin
from mynumber_core.provider import ProcessedEventMixin

CIPHER = CipherSlot("tax")


class Base(DeclarativeBase):
    """Declarative base of the tax database."""


class Taxpayer(Base):
    """One taxpayer (納税者)."""

    __tablename__ = "taxpayers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reference_number: Mapped[str] = mapped_column(String(8), unique=True)
    token: Mapped[str] = mapped_column(String(128), unique=True)
    address: Mapped[str] = mapped_column(EncryptedText(CIPHER, "taxpayers.address"))
    address_changed_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    """When an ``address_changed`` event last arrived (payouts are held after it)."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class IncomeYear(Base):
    """One year's income as declared or reported."""

    __tablename__ = "income_years"
    __table_args__ = (UniqueConstraint("taxpayer_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    taxpayer_id: Mapped[str] = mapped_column(ForeignKey("taxpayers.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    salary: Mapped[int] = mapped_column(BigInteger)
    business: Mapped[int] = mapped_column(BigInteger)
    withholding: Mapped[int] = mapped_column(BigInteger)
    social_insurance: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AssessmentRow(Base):
    """The latest assessment of one year."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("taxpayer_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    taxpayer_id: Mapped[str] = mapped_column(ForeignKey("taxpayers.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    total_income: Mapped[int] = mapped_column(BigInteger)
    basic_deduction: Mapped[int] = mapped_column(BigInteger)
    social_insurance_deduction: Mapped[int] = mapped_column(BigInteger)
    medical_expenses: Mapped[int] = mapped_column(BigInteger)
    medical_deduction: Mapped[int] = mapped_column(BigInteger)
    medical_data_found: Mapped[bool] = mapped_column(Boolean)
    taxable_income: Mapped[int] = mapped_column(BigInteger)
    income_tax: Mapped[int] = mapped_column(BigInteger)
    tax_total: Mapped[int] = mapped_column(BigInteger)
    withholding: Mapped[int] = mapped_column(BigInteger)
    assessed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Payment(Base):
    """A tax payment (from the portal's electronic clearing); one per event."""

    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the event id
    taxpayer_id: Mapped[str] = mapped_column(ForeignKey("taxpayers.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    paid_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RefundRow(Base):
    """A refund: one per taxpayer and year."""

    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("taxpayer_id", "year"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    taxpayer_id: Mapped[str] = mapped_column(ForeignKey("taxpayers.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # "released" or "held"
    hold_reason: Mapped[str] = mapped_column(String(200))
    hold_code: Mapped[str] = mapped_column(String(32), default="")
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    account_reference: Mapped[str] = mapped_column(
        EncryptedText(CIPHER, "refunds.account_reference")
    )
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Alert(AlertMixin, Base):
    """Something for the tax office's operators to look at (e.g. a refund held because the
    account is shared by unrelated residents). No personal data: the taxpayer's reference
    number and the masked account only."""

    __tablename__ = "alerts"

    reference_number: Mapped[str] = mapped_column(String(8))
    detail: Mapped[str] = mapped_column(EncryptedText(CIPHER, "alerts.detail"))
    approved_account: Mapped[str | None] = mapped_column(
        EncryptedText(CIPHER, "alerts.approved_account"), nullable=True
    )
    """The masked account the operator reviewed: the approval releases payouts to it only."""


class OutboxEvent(OutboxMixin, Base):
    """Events to publish through the registry (inbox documents for the portal)."""

    __tablename__ = "outbox_events"

    payload: Mapped[str] = mapped_column(EncryptedText(CIPHER, "outbox_events.payload"))


class ProcessedEvent(ProcessedEventMixin, Base):
    """Events from the registry already applied (idempotent consumer)."""

    __tablename__ = "processed_events"
