"""The registry's tables. Numbers and facts are AES-GCM encrypted; numbers are found by
blind index; the person key is random and never leaves this database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mynumber_core.columns import CipherSlot, EncryptedText

cipher = CipherSlot("registry")


class Base(DeclarativeBase):
    """Declarative base of the registry database."""


class Person(Base):
    """A registered resident."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_key: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    number: Mapped[str] = mapped_column(EncryptedText(cipher, "persons.number"))
    # The current number's blind index. Unique through issued_numbers (its primary key holds
    # every number ever issued); no index of its own (migration 0015).
    number_index: Mapped[str] = mapped_column(String(80))
    facts: Mapped[str] = mapped_column(EncryptedText(cipher, "persons.facts"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    reissued: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class IssuedNumber(Base):
    """Every number ever issued (current and retired), so none is ever given out twice."""

    __tablename__ = "issued_numbers"

    number_index: Mapped[str] = mapped_column(String(80), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Registration(Base):
    """Idempotency record of RegisterResident / ReissueNumber calls."""

    __tablename__ = "registrations"
    __table_args__ = (UniqueConstraint("caller", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    caller: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))


class DomainLink(Base):
    """A domain has linked a person; the token key version it was given."""

    __tablename__ = "links"
    # The unique (person_id, domain) index also serves lookups by person_id alone; a second
    # index on person_id cost every bulk enrolment one more insertion per link (0014).
    __table_args__ = (UniqueConstraint("person_id", "domain"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    domain: Mapped[str] = mapped_column(String(32))
    key_version: Mapped[int] = mapped_column(Integer)
    linked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class DomainKey(Base):
    """The active token-key version of each domain."""

    __tablename__ = "domain_keys"

    domain: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    rotated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class PersonLock(Base):
    """A lock the resident has set."""

    __tablename__ = "person_locks"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    lock: Mapped[str] = mapped_column(String(32), primary_key=True)
    set_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class LogEntry(Base):
    """One leaf of the exchange log (append-only)."""

    __tablename__ = "log_entries"
    __table_args__ = (
        # The request id first: it is what tells entries apart (there are a handful of
        # requesters), so a plan through this index always probes by request id, with or
        # without statistics (migration 0013).
        Index("ix_log_entries_request", "request_id", "requester", "provider"),
        Index("ix_log_entries_citizen_index", "citizen_tag", "index"),
    )

    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    leaf: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    citizen_tag: Mapped[str] = mapped_column(String(64), index=True)
    requester: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str] = mapped_column(String(160))
    fingerprint: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    # Formerly the answer in plaintext under the hub's key: migration 0007 emptied it and
    # nothing writes it any more (the column goes once no reader is left).
    result: Mapped[str | None] = mapped_column(
        EncryptedText(cipher, "log_entries.result"), nullable=True
    )
    # The provider's answer exactly as relayed: HPKE ciphertext sealed to the requester (the
    # hub cannot open it), kept only for idempotent replay. A batch's one ciphertext lives in
    # ``sealed_answers`` (by digest) and each entry names its position in it.
    answer: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    answer_key_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    answer_suite: Mapped[str | None] = mapped_column(String(64), nullable=True)
    answer_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    answer_position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status_code: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SealedAnswer(Base):
    """One provider's sealed answer to a batch, shared by the entries it covers (by digest).

    ``members`` is the metadata bound into its associated data (JSON list of [request_id,
    item, procedure, params digest]): no answer content, which only the requester can open.
    """

    __tablename__ = "sealed_answers"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    requester: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(32))
    key_id: Mapped[str] = mapped_column(String(64))
    suite: Mapped[str] = mapped_column(String(64))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    members: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class LogHead(Base):
    """A single row holding the log size; locked to serialise appends across replicas."""

    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)


class LogCheckpoint(Base):
    """A signed checkpoint of the exchange log (C2SP signed note), one per tree size.

    Produced off the exchange path by :class:`services.registry.checkpoints.Checkpointer`;
    entries at or beyond the newest one's size are pending inclusion.
    """

    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
