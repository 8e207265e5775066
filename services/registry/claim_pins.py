"""The resident's claim PIN (like the IRS Identity Protection PIN): tables and rules.

While the ``protect_claims`` lock is on, the hub refuses refund and claim procedures unless
the claimant gave this year's 6-digit PIN and the agency (or the portal, for a claim filed
there) verified it with ``Registry.VerifyClaimPin``. A verified PIN records a short-lived
*allowance* for that person and procedure; the hub's lock check consults it.

The PIN is issued through the portal (``Registry.IssueClaimPin``, portal only), returned once
and stored only as a salted scrypt hash. A new PIN is issued for each calendar year (JST);
last year's stops working on 1 January. Every attempt is recorded (``claim_pin_attempts``) and
limited per person: each one is reserved in the person's attempt counter *before* the PIN is
compared, so after ``MAX_FAILURES`` wrong PINs within ``FAILURE_WINDOW`` every further try is
refused (RATE_LIMITED) until the window passes, however many calls race; a right PIN gives
its slot back. The million PINs cannot be walked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from mynumber_core import errors
from mynumber_core.calendar import date_in_japan
from mynumber_core.clock import aware
from services.registry.abuse import AttemptCounters
from services.registry.models import Base

PIN_DIGITS = 6
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(hours=24)
ALLOWANCE_TTL = dt.timedelta(minutes=30)
"""How long a verified PIN lets the claim's exchanges through (the claim's queries follow
the verification within seconds; a queued portal claim within minutes)."""
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_PIN_RE = re.compile(r"[0-9]{6}")


class ClaimPin(Base):
    """This year's claim PIN of one person: salted scrypt hash only."""

    __tablename__ = "claim_pins"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    salt: Mapped[str] = mapped_column(String(32))
    pin_hash: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ClaimPinAttempt(Base):
    """One verification attempt (right or wrong), by which agency, for which procedure."""

    __tablename__ = "claim_pin_attempts"
    __table_args__ = (Index("ix_claim_pin_attempts_person_at", "person_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    requester: Mapped[str] = mapped_column(String(32))
    procedure: Mapped[str] = mapped_column(String(80))
    ok: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ClaimAllowance(Base):
    """A verified PIN lets one procedure's exchanges about one person through until expiry."""

    __tablename__ = "claim_allowances"
    __table_args__ = (Index("ix_claim_allowances_person", "person_id", "procedure"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    procedure: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def year_of(now: dt.datetime) -> int:
    """The PIN year: the calendar year in Japan."""
    return date_in_japan(now).year


def parse_pin(value: str) -> str:
    """Exactly six ASCII digits (never echoed back)."""
    if not isinstance(value, str) or not _PIN_RE.fullmatch(value):
        raise errors.InvalidInput("pin must be the 6-digit claim PIN issued through the portal")
    return value


def _hash(pin: str, salt: str) -> str:
    return hashlib.scrypt(
        pin.encode(), salt=bytes.fromhex(salt), n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    ).hex()


def issue(session: Session, person_id: int, now: dt.datetime) -> tuple[str, int]:
    """A fresh PIN for this year (replacing any earlier one); returned once."""
    pin = f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"
    salt = secrets.token_hex(16)
    row = session.get(ClaimPin, person_id)
    if row is None:
        row = ClaimPin(person_id=person_id)
        session.add(row)
    row.year, row.salt, row.pin_hash, row.issued_at = year_of(now), salt, _hash(pin, salt), now
    return pin, row.year


def failures(session: Session, person_id: int, now: dt.datetime) -> int:
    """Wrong PINs for this person within the failure window."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(ClaimPinAttempt)
            .where(
                ClaimPinAttempt.person_id == person_id,
                ClaimPinAttempt.ok.is_(False),
                ClaimPinAttempt.at > now - FAILURE_WINDOW,
            )
        )
        or 0
    )


CLAIM_PIN_SCOPE = "claim-pin"


def reserve(db: Any, person_id: int) -> None:
    """Reserve one PIN attempt for this person *before* the PIN is compared (issue 15).

    One conditional UPDATE of the person's counter row (services/registry/abuse.py): however
    many verifications race, at most ``MAX_FAILURES`` are evaluated in a window; the rest are
    refused with RATE_LIMITED without touching the PIN.
    """
    got = AttemptCounters(db).reserve(
        CLAIM_PIN_SCOPE, str(person_id), MAX_FAILURES, FAILURE_WINDOW.total_seconds()
    )
    if not got.reserved:
        raise errors.RateLimited(
            "too many wrong claim PINs for this person; try again tomorrow or ask the "
            "resident to issue a new PIN on the portal"
        )


def release(db: Any, person_id: int) -> None:
    """Give a reserved attempt back: the PIN was right (or not compared at all)."""
    AttemptCounters(db).release(CLAIM_PIN_SCOPE, str(person_id))


def check(
    session: Session, person_id: int, pin: str, requester: str, procedure: str, now: dt.datetime
) -> bool:
    """Compare a PIN with this year's hash, record the attempt; True when it matches.

    The attempt must have been reserved first (:func:`reserve`). FAILED_PRECONDITION when no
    PIN was issued for this year.
    """
    row = session.get(ClaimPin, person_id)
    if row is None or row.year != year_of(now):
        raise errors.FailedPrecondition(
            "the resident has no claim PIN for this year; they issue one on the portal"
        )
    ok = hmac.compare_digest(_hash(pin, row.salt), row.pin_hash)
    session.add(
        ClaimPinAttempt(
            person_id=person_id, requester=requester, procedure=procedure, ok=ok, at=now
        )
    )
    if ok:
        session.add(
            ClaimAllowance(person_id=person_id, procedure=procedure, expires_at=now + ALLOWANCE_TTL)
        )
    return ok


def allowed(session: Session, person_id: int, procedure: str, now: dt.datetime) -> bool:
    """Whether a verified PIN currently lets this procedure through for the person."""
    rows = session.scalars(
        select(ClaimAllowance.expires_at).where(
            ClaimAllowance.person_id == person_id, ClaimAllowance.procedure == procedure
        )
    )
    return any(aware(expires) > now for expires in rows)
