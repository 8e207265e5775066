"""The municipality's tables: residents, households, care certifications, disasters, outbox.

Personal data lives only in ``EncryptedText`` columns. The registry's token (a pseudonym) is
stored in the clear so Provide/Deliver can find the resident; the My Number is never stored.
Area lookups for disasters go through keyed blind indexes of the prefecture, city and ward.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mynumber_core.columns import CipherSlot, EncryptedText
from mynumber_core.outbox import OutboxMixin
from mynumber_core.provider import ProcessedEventMixin

cipher = CipherSlot("municipality")


class Base(DeclarativeBase):
    """Declarative base of the municipality's database."""


class Household(Base):
    """A household (世帯); members point at it."""

    __tablename__ = "households"

    household_id: Mapped[str] = mapped_column(String(9), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Resident(Base):
    """One entry of the resident register (住民票)."""

    __tablename__ = "residents"

    address_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    token: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    household_id: Mapped[str] = mapped_column(ForeignKey("households.household_id"), index=True)
    relationship: Mapped[str] = mapped_column(EncryptedText(cipher, "residents.relationship"))
    name: Mapped[str] = mapped_column(EncryptedText(cipher, "residents.name"))
    name_kana: Mapped[str] = mapped_column(EncryptedText(cipher, "residents.name_kana"))
    birth_date: Mapped[str] = mapped_column(EncryptedText(cipher, "residents.birth_date"))
    sex: Mapped[str] = mapped_column(EncryptedText(cipher, "residents.sex"))
    address: Mapped[str] = mapped_column(EncryptedText(cipher, "residents.address"))
    resident_type: Mapped[str] = mapped_column(EncryptedText(cipher, "residents.resident_type"))
    foreign_details: Mapped[str | None] = mapped_column(
        EncryptedText(cipher, "residents.foreign_details"), nullable=True
    )
    area_prefecture_idx: Mapped[str] = mapped_column(String(80), index=True)
    area_city_idx: Mapped[str] = mapped_column(String(80), index=True)
    area_ward_idx: Mapped[str | None] = mapped_column(String(80), index=True, nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    status_date: Mapped[str | None] = mapped_column(
        EncryptedText(cipher, "residents.status_date"), nullable=True
    )
    move_out_destination: Mapped[str | None] = mapped_column(
        EncryptedText(cipher, "residents.move_out_destination"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class CareCertificationRow(Base):
    """A long-term care certification decision (要介護認定); history is kept."""

    __tablename__ = "care_certifications"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    address_number: Mapped[str] = mapped_column(ForeignKey("residents.address_number"), index=True)
    details: Mapped[str] = mapped_column(EncryptedText(cipher, "care_certifications.details"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Disaster(Base):
    """A declared disaster (災害救助法・被災者生活再建支援法の適用); no personal data."""

    __tablename__ = "disasters"

    disaster_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    area: Mapped[str] = mapped_column(String(60))
    declared_on: Mapped[dt.date] = mapped_column()
    assumed_damage: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class MoveOutNotice(Base):
    """A move-out notice (転出届) received from the portal, waiting for the clerk."""

    __tablename__ = "move_out_notices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    address_number: Mapped[str] = mapped_column(ForeignKey("residents.address_number"), index=True)
    details: Mapped[str] = mapped_column(EncryptedText(cipher, "move_out_notices.details"))
    status: Mapped[str] = mapped_column(String(16), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Letter(Base):
    """A letter to a resident's old address after an address change (anti-fraud notice)."""

    __tablename__ = "letters"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    address_number: Mapped[str] = mapped_column(ForeignKey("residents.address_number"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(EncryptedText(cipher, "letters.address"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Operation(Base):
    """An idempotency record: a retried write with the same key returns the first result."""

    __tablename__ = "operations"

    idempotency_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    operation: Mapped[str] = mapped_column(String(40))
    fingerprint: Mapped[str] = mapped_column(String(80))
    result: Mapped[str] = mapped_column(Text)
    """JSON of identifiers only (address numbers, event ids); never a number or a name."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class OutboxEvent(OutboxMixin, Base):
    """Events waiting for the relay (address_changed, number_reissued, notice)."""

    __tablename__ = "outbox"

    payload: Mapped[str] = mapped_column(EncryptedText(cipher, "outbox.payload"))


class ProcessedEvent(ProcessedEventMixin, Base):
    """Events from other domains applied already (idempotent consumer)."""

    __tablename__ = "processed_events"
