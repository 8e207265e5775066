"""The registry's resident-authority tables (services/registry/resident_authority.py).

``resident_challenges``: single-use challenges the resident's card signs (a login, or one
sensitive action bound to a grant). ``resident_grants``: the grants opened by a card login,
bound to the card and its holder. ``payout_attestations``: per person, a salted commitment to
the payout account their card last approved (never the account). ``resident_event_grants``:
events the portal may publish in a resident's name, each authorised under a live grant and a
fresh step-up. ``resident_passkeys``: passkey public keys a resident registered with a card
step-up, which can open a grant too. None holds personal data: random nonces and ids, hashes,
public keys, internal person ids, card serials, event types, procedures and times.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.models import Base

__all__ = [
    "Base",
    "PayoutAttestation",
    "ResidentChallenge",
    "ResidentEventGrant",
    "ResidentGrant",
    "ResidentPasskey",
]


class ResidentGrant(Base):
    """A short-lived grant a card login opened for the portal to act for its holder."""

    __tablename__ = "resident_grants"
    __table_args__ = (Index("ix_resident_grants_expires_at", "expires_at"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 of the grant secret (the secret itself is never stored)."""
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    serial: Mapped[str] = mapped_column(String(40), index=True)
    """The card that signed the login; revoking it ends the grant."""
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ResidentChallenge(Base):
    """A challenge for the resident's card; it works once, until it expires."""

    __tablename__ = "resident_challenges"
    __table_args__ = (Index("ix_resident_challenges_expires_at", "expires_at"),)

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    """``login`` or ``action``."""
    action: Mapped[str | None] = mapped_column(String(64), nullable=True)
    audience: Mapped[str | None] = mapped_column(String(200), nullable=True)
    grant_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    issued_at: Mapped[int] = mapped_column(BigInteger)
    """Unix seconds, as signed."""
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PayoutAttestation(Base):
    """The payout account a person's card last approved, as a salted commitment only."""

    __tablename__ = "payout_attestations"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    commitment: Mapped[str] = mapped_column(String(64))
    """hex SHA-256(salt || canonical JSON of the account fields the card signed)."""
    serial: Mapped[str] = mapped_column(String(40))
    """The card whose step-up recorded it."""
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    """The last card confirmation: the change itself, or a later ``confirm_payout``."""


class ResidentEventGrant(Base):
    """One event the portal may publish in a resident's name (authorised under a grant)."""

    __tablename__ = "resident_event_grants"
    __table_args__ = (Index("ix_resident_event_grants_expires_at", "expires_at"),)

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    procedure: Mapped[str] = mapped_column(String(64))
    grant_hash: Mapped[str] = mapped_column(String(64))
    authorised_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ResidentPasskey(Base):
    """A passkey (WebAuthn credential) the resident registered at the registry."""

    __tablename__ = "resident_passkeys"

    credential_id: Mapped[str] = mapped_column(String(1400), primary_key=True)
    """base64url, as the browser reports it."""
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    serial: Mapped[str] = mapped_column(String(40), index=True)
    """The card whose grant and step-up registered it; revoking the card ends its grants."""
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    """COSE public key."""
    rp_id: Mapped[str] = mapped_column(String(253))
    sign_count: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
