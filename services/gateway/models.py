"""SQLAlchemy models of the portal's database.

The portal knows a resident only by its ``portal`` token from the registry; it never stores
a My Number. Secrets (session ids, poll secrets, one-time codes, API keys, delivery tokens)
are stored as SHA-256 hashes only. Personal data (document texts, bank details, application
details) sits in ``EncryptedText`` columns; a shared payout account is found by a blind index.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mynumber_core.columns import CipherSlot, EncryptedText
from mynumber_core.outbox import OutboxMixin
from mynumber_core.provider import ProcessedEventMixin

CIPHER = CipherSlot("portal")


class Base(DeclarativeBase):
    """Declarative base of the gateway."""


class Resident(Base):
    """A resident who logged in or received something, known by the portal token."""

    __tablename__ = "residents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )


class PortalSession(Base):
    """A login session; only the SHA-256 of the cookie value is stored."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), index=True)
    card_serial: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    registry_grant: Mapped[str | None] = mapped_column(
        EncryptedText(CIPHER, "sessions.registry_grant"), nullable=True
    )
    """The registry's grant for this login (the resident's card signed it): every registry
    call in the resident's name carries it."""


class Challenge(Base):
    """A single-use card challenge: a login, or a step-up for one sensitive action.

    ``code_hash`` is set when the challenge is approved with a one-time code through the CLI
    (browser login, step-up in the browser); ``poll_hash`` is the browser's poll secret.
    A code is unique only among *live* (pending) codes — a partial unique index — so an old,
    used or burned code whose row still waits for the cleanup never collides with a new one.
    """

    __tablename__ = "challenges"
    __table_args__ = (
        Index(
            "uq_challenges_live_code_hash",
            "code_hash",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[str] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    poll_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fields: Mapped[str | None] = mapped_column(
        EncryptedText(CIPHER, "challenges.fields"), nullable=True
    )
    session_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    approved_resident_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    approved_serial: Mapped[str | None] = mapped_column(String(64), nullable=True)
    requester_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    requester_device: Mapped[str | None] = mapped_column(String(200), nullable=True)
    match_number: Mapped[str | None] = mapped_column(String(2), nullable=True)
    """Who asked for a code and the number shown to them (the approver must type it)."""
    approved_certificate: Mapped[str | None] = mapped_column(Text, nullable=True)
    approved_signature: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """The card's signature (base64) from a code approval, forwarded to the registry (a
    login opens its grant with it; a step-up is shown to the registry with it)."""
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class InboxDocument(Base):
    """A document in the resident's e-communication box (from an agency or a business)."""

    __tablename__ = "inbox_documents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), index=True)
    source_id: Mapped[str] = mapped_column(String(100), unique=True)
    sender: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(64))
    title_ja: Mapped[str] = mapped_column(EncryptedText(CIPHER, "inbox_documents.title_ja"))
    title_en: Mapped[str] = mapped_column(EncryptedText(CIPHER, "inbox_documents.title_en"))
    body_ja: Mapped[str] = mapped_column(EncryptedText(CIPHER, "inbox_documents.body_ja"))
    body_en: Mapped[str] = mapped_column(EncryptedText(CIPHER, "inbox_documents.body_en"))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Notice(Base):
    """A notice (お知らせ): vaccination due, LTC, pension, address change, reissue."""

    __tablename__ = "notices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), index=True)
    source_id: Mapped[str] = mapped_column(String(100), unique=True)
    sender: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    title_ja: Mapped[str] = mapped_column(EncryptedText(CIPHER, "notices.title_ja"))
    title_en: Mapped[str] = mapped_column(EncryptedText(CIPHER, "notices.title_en"))
    body_ja: Mapped[str] = mapped_column(EncryptedText(CIPHER, "notices.body_ja"))
    body_en: Mapped[str] = mapped_column(EncryptedText(CIPHER, "notices.body_en"))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PayoutAccountRow(Base):
    """The resident's public-funds receipt account (公金受取口座); every detail encrypted."""

    __tablename__ = "payout_accounts"

    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    details: Mapped[str] = mapped_column(EncryptedText(CIPHER, "payout_accounts.details"))
    account_index: Mapped[str] = mapped_column(String(96), index=True)
    confirmed_with_card: Mapped[bool] = mapped_column(Boolean, default=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """When the resident last confirmed payouts to this account with a card signature (the
    change itself, or the ``confirm_payout`` step-up); agencies release held payouts after it."""
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Payment(Base):
    """A payment of an amount due, idempotent per resident and Idempotency-Key."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("resident_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    agency: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[str] = mapped_column(String(64))
    paid_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Application(Base):
    """An online application sent to an agency (pension exemption, move-out notice)."""

    __tablename__ = "applications"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    agency: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(EncryptedText(CIPHER, "applications.details"))
    event_id: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class LockRow(Base):
    """A lock the resident set (mirrored to the registry with SetLocks)."""

    __tablename__ = "locks"

    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    lock: Mapped[str] = mapped_column(String(32), primary_key=True)
    set_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Business(Base):
    """A registered private business that may deliver documents (API key stored hashed)."""

    __tablename__ = "businesses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class BusinessGrant(Base):
    """A resident's permission for one business to deliver to their inbox.

    The business addresses the resident by the delivery token the resident handed it (stored
    hashed); it never sees a My Number or the resident's portal token.
    """

    __tablename__ = "business_grants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), index=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deliveries: Mapped[int] = mapped_column(Integer, default=0)


class ProcessedEvent(Base, ProcessedEventMixin):
    """Events from the hub already applied (idempotent consumer)."""

    __tablename__ = "processed_events"


class OutboxEvent(Base, OutboxMixin):
    """Events the portal publishes (payments, applications), delivered at least once."""

    __tablename__ = "outbox"

    payload: Mapped[str] = mapped_column(EncryptedText(CIPHER, "outbox.payload"))


class Passkey(Base):
    """A WebAuthn passkey a resident registered from a card-login session; it is bound to the
    resident and to the card serial of that login (revoking the card ends passkey sessions)."""

    __tablename__ = "passkeys"

    credential_id: Mapped[str] = mapped_column(String(1400), primary_key=True)
    """The credential id, base64url (no padding)."""
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), index=True)
    card_serial: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(Text)
    """The COSE public key, base64url."""
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PasskeyChallenge(Base):
    """A single-use WebAuthn challenge (registration for a session's resident, or login)."""

    __tablename__ = "passkey_challenges"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    challenge: Mapped[str] = mapped_column(String(128))
    session_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RateCounter(Base):
    """One rate-limit window of the portal's front door (``web/rate_store.py``), shared by
    every gateway replica: the key (what is limited: an address, a session digest), when the
    window started and how many requests it has reserved. No personal data beyond the client
    address the limit is about; rows older than the longest window are deleted."""

    __tablename__ = "rate_counters"
    __table_args__ = (Index("ix_rate_counters_window_start", "window_start"),)

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    count: Mapped[int] = mapped_column(Integer)
