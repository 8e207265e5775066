"""SQLAlchemy models of the health insurer's database.

Only the insurer's registry token identifies a person; no My Number is stored. Personal and
medical data (birth date, address, insured number, provider names, vaccines, care flags,
notice payloads) sit in ``EncryptedText`` columns; the insured number is found by a blind
index. Dates and amounts of expenses stay in clear so a year's total can be selected.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mynumber_core.columns import CipherSlot, EncryptedText
from mynumber_core.outbox import OutboxMixin
from mynumber_core.provider import ProcessedEventMixin

CIPHER = CipherSlot("health")


class Base(DeclarativeBase):
    """Declarative base of the health service."""


class Insured(Base):
    """A person the insurer covers, known by the insurer's token."""

    __tablename__ = "insured"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token: Mapped[str] = mapped_column(String(128), unique=True)
    birth_date: Mapped[str] = mapped_column(EncryptedText(CIPHER, "insured.birth_date"))
    address: Mapped[str] = mapped_column(EncryptedText(CIPHER, "insured.address"))
    address_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Coverage(Base):
    """One period of coverage (資格) under one insurer number and insured number."""

    __tablename__ = "coverage"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    insured_id: Mapped[str] = mapped_column(ForeignKey("insured.id"), index=True)
    insurer_number: Mapped[str] = mapped_column(String(8), index=True)
    plan: Mapped[str] = mapped_column(String(32))
    insured_index: Mapped[str] = mapped_column(String(96), unique=True)
    symbol: Mapped[str] = mapped_column(EncryptedText(CIPHER, "coverage.symbol"))
    number: Mapped[str] = mapped_column(EncryptedText(CIPHER, "coverage.number"))
    branch: Mapped[str] = mapped_column(EncryptedText(CIPHER, "coverage.branch"))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    income_category: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class EligibilityCheck(Base):
    """One online eligibility confirmation (オンライン資格確認) and its answer."""

    __tablename__ = "eligibility_check"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    coverage_id: Mapped[str] = mapped_column(ForeignKey("coverage.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    checked_by: Mapped[str] = mapped_column(String(100))
    on_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    copay_percent: Mapped[int] = mapped_column(Integer)
    checked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class MedicalExpense(Base):
    """A medical expense the insured person paid."""

    __tablename__ = "medical_expense"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    insured_id: Mapped[str] = mapped_column(ForeignKey("insured.id"), index=True)
    service_date: Mapped[dt.date] = mapped_column(Date, index=True)
    provider: Mapped[str] = mapped_column(EncryptedText(CIPHER, "medical_expense.provider"))
    amount_yen: Mapped[int] = mapped_column(BigInteger)
    category: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Vaccination(Base):
    """One vaccine dose given."""

    __tablename__ = "vaccination"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    insured_id: Mapped[str] = mapped_column(ForeignKey("insured.id"), index=True)
    vaccine: Mapped[str] = mapped_column(EncryptedText(CIPHER, "vaccination.vaccine"))
    dose: Mapped[int] = mapped_column(Integer)
    administered_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class CareFlagsRow(Base):
    """The person's care flags, as one encrypted JSON document."""

    __tablename__ = "care_flags"

    insured_id: Mapped[str] = mapped_column(ForeignKey("insured.id"), primary_key=True)
    flags: Mapped[str] = mapped_column(EncryptedText(CIPHER, "care_flags.flags"))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class IdempotencyKey(Base):
    """The result of a write that carried an idempotency key (a retry returns it)."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    result_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ProcessedEvent(Base, ProcessedEventMixin):
    """Events already applied (so a redelivery has no second effect)."""

    __tablename__ = "processed_event"


class OutboxEvent(Base, OutboxMixin):
    """Notices waiting to be published through the registry hub."""

    __tablename__ = "outbox"

    payload: Mapped[str] = mapped_column(EncryptedText(CIPHER, "outbox.payload"))
