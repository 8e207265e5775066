"""The registry's card table: which person each card certificate serial belongs to.

A card row holds no personal data: the serial, the holder's internal person id, the state of
the card and its certificate (which itself carries no number, name or address), and the public
half of the card file's PIN-less access key. ``card_access_challenges`` are the single-use
nonces that key signs with a PIN evaluation.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, LargeBinary, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.registry.models import Base

__all__ = [
    "Base",
    "CardAccessChallenge",
    "CardPinAttempt",
    "CardRecord",
    "revoke_person_cards",
]


class CardRecord(Base):
    """One issued card certificate."""

    __tablename__ = "cards"
    __table_args__ = (Index("ix_cards_person_status", "person_id", "status"),)

    serial: Mapped[str] = mapped_column(String(40), primary_key=True)
    """Certificate serial, lowercase hex without leading zeros."""
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    status: Mapped[str] = mapped_column(String(16))
    ca_key_id: Mapped[str] = mapped_column(String(64))
    """The ``card-ca`` key version that signed it."""
    certificate_pem: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    access_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """DER SubjectPublicKeyInfo of the card file's access key (None: not registered yet, so
    PIN evaluations need no proof of possession until the file's next successful unlock)."""


def revoke_person_cards(
    session: Session, person_id: int, now: dt.datetime, *, by: str, reason: str
) -> int:
    """Revoke every active card of a person (e.g. on death); returns how many."""
    cards = session.scalars(
        select(CardRecord).where(CardRecord.person_id == person_id, CardRecord.status == "active")
    ).all()
    for card in cards:
        card.status = "revoked"
        card.revoked_at, card.revoked_by, card.revocation_reason = now, by, reason
    return len(cards)


class CardPinAttempt(Base):
    """One online card-PIN evaluation (services/registry/card_pins.py), until confirmed.

    The row holds the attempt's random id, the card serial and when: never the PIN, nor
    anything derived from it (the registry sees only a blinded group element).
    """

    __tablename__ = "card_pin_attempts"
    __table_args__ = (Index("ix_card_pin_attempts_serial", "serial"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    serial: Mapped[str] = mapped_column(ForeignKey("cards.serial"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)


class CardAccessChallenge(Base):
    """A single-use nonce the card file's access key signs with one PIN evaluation."""

    __tablename__ = "card_access_challenges"
    __table_args__ = (Index("ix_card_access_challenges_expires_at", "expires_at"),)

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    serial: Mapped[str] = mapped_column(ForeignKey("cards.serial"))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
