"""Shared by the municipality's use cases: idempotency, register lookups, row ↔ domain helpers.

Every write records its idempotency key in the same transaction as its effect (:func:`remember`);
a retry with the same key and request replays the first result (:func:`replay`). A retry that
races the first call (two replicas at once) loses at the key's primary key and replays the
winner's result (:func:`replay_winner`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.facts import BasicFacts
from mynumber_core.outbox import enqueue
from services.municipality import domain
from services.municipality.models import (
    CareCertificationRow,
    Household,
    Operation,
    OutboxEvent,
    Resident,
)
from services.municipality.usecases.context import PROC_MOVING, Context

# -- idempotency ----------------------------------------------------------------------------


def _fingerprint_input(operation: str, request: Mapping[str, Any]) -> str:
    return operation + "\x00" + json.dumps(dict(request), sort_keys=True, ensure_ascii=False)


def replay(
    ctx: Context, session: Session, key: str, operation: str, request: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The stored result of an earlier call with this key, or None; a different request under
    the same key is a conflict."""
    row = session.get(Operation, key)
    if row is None:
        return None
    text = _fingerprint_input(operation, request)
    if row.operation != operation or row.fingerprint not in ctx.blind.candidates("operation", text):
        raise errors.Conflict(
            "this idempotency_key was used for a different request; use a new key"
        )
    result: dict[str, Any] = json.loads(row.result)
    return result


def replay_winner(
    ctx: Context, key: str, operation: str, request: Mapping[str, Any]
) -> dict[str, Any] | None:
    """After a write under ``key`` failed on a unique constraint: the result a concurrent call
    with the same key committed first (its transaction rolled back whole, so nothing of this
    one happened), or None when the key is not the conflict (the caller re-raises)."""
    with ctx.db.transaction() as session:
        return replay(ctx, session, key, operation, request)


def remember(
    ctx: Context,
    session: Session,
    key: str,
    operation: str,
    request: Mapping[str, Any],
    result: Mapping[str, Any],
) -> None:
    """Store the result of a write under its idempotency key (same transaction as the write)."""
    session.add(
        Operation(
            idempotency_key=key,
            operation=operation,
            fingerprint=ctx.blind.index("operation", _fingerprint_input(operation, request)),
            result=json.dumps(dict(result)),
            created_at=ctx.clock(),
        )
    )


# -- lookups --------------------------------------------------------------------------------


def resident(session: Session, address_number: str) -> Resident:
    """The resident's row, whatever its status."""
    row = session.get(Resident, address_number)
    if row is None:
        raise errors.NotFound("no resident with this address number")
    return row


def active(session: Session, address_number: str) -> Resident:
    """The resident's row, which must still be open (not moved out, not deceased)."""
    row = resident(session, address_number)
    if row.status != domain.ResidentStatus.RESIDENT:
        raise errors.FailedPrecondition(
            f"the resident's record is closed ({row.status}); no further changes apply"
        )
    return row


def active_or_winner(
    ctx: Context,
    session: Session,
    address_number: str,
    key: str,
    operation: str,
    request: Mapping[str, Any],
) -> Resident | dict[str, Any]:
    """The open record (as :func:`active`) or, when it is closed because a concurrent call with
    this key closed it between the caller's reads, that call's stored result. A record closed
    by anything else is the FailedPrecondition of :func:`active`."""
    try:
        return active(session, address_number)
    except errors.FailedPrecondition:
        won = replay(ctx, session, key, operation, request)
        if won is None:
            raise
        return won


def members(session: Session, household_id: str) -> list[Resident]:
    """The household's current members, oldest registration first."""
    return list(
        session.scalars(
            select(Resident)
            .where(
                Resident.household_id == household_id,
                Resident.status == domain.ResidentStatus.RESIDENT.value,
            )
            .order_by(Resident.created_at)
        ).all()
    )


def by_token(session: Session, token: str) -> Resident:
    """The resident behind the municipality's registry token."""
    row = session.scalars(select(Resident).where(Resident.token == token)).first()
    if row is None:
        raise errors.NotFound("the municipality has no resident for this token")
    return row


def area_columns(ctx: Context, area: domain.Area) -> dict[str, str | None]:
    """Blind-index values of an address's prefecture, city and ward (for disaster lists)."""

    def idx(level: domain.AreaLevel) -> str | None:
        key = area.key(level)
        return ctx.blind.index(f"area.{level.value}", key) if key else None

    return {
        "area_prefecture_idx": idx(domain.AreaLevel.PREFECTURE),
        "area_city_idx": idx(domain.AreaLevel.CITY),
        "area_ward_idx": idx(domain.AreaLevel.WARD),
    }


def resident_values(ctx: Context, data: domain.ResidentInput) -> dict[str, str | None]:
    """The register columns a resident's validated facts fill (facts, foreign details, the
    area's blind indexes), for one row or a bulk insert."""
    foreign = None
    if data.foreign is not None:
        foreign = json.dumps(
            {
                "nationality": data.foreign.nationality,
                "residence_status": data.foreign.residence_status,
                "residence_card_number": data.foreign.residence_card_number,
                "period_of_stay_until": (
                    data.foreign.period_of_stay_until.isoformat()
                    if data.foreign.period_of_stay_until
                    else ""
                ),
            },
            ensure_ascii=False,
        )
    return {
        "name": data.facts.name,
        "name_kana": data.name_kana,
        "birth_date": data.facts.birth_date.isoformat(),
        "sex": data.facts.sex,
        "address": data.facts.address,
        "resident_type": data.resident_type.value,
        "foreign_details": foreign,
        **area_columns(ctx, data.area),
    }


def new_household(ctx: Context, session: Session) -> str:
    """Open a new household and return its number."""
    hid = domain.new_household_id(lambda c: session.get(Household, c) is not None)
    session.add(Household(household_id=hid, created_at=ctx.clock()))
    session.flush()
    return hid


def enqueue_address_changed(
    session: Session, row: Resident, reason: str, effective: dt.date
) -> str:
    """Queue the one-stop ``address_changed`` event for every agency that knows the resident."""
    return enqueue(
        session,
        OutboxEvent,
        event_type="address_changed",
        token=row.token,
        procedure=PROC_MOVING,
        payload={
            "address": row.address if reason != "move_out" else row.move_out_destination,
            "effective_date": effective.isoformat(),
            "reason": reason,
        },
    )


# -- row ↔ domain ---------------------------------------------------------------------------


def form_of(row: Resident) -> domain.ResidentForm:
    """The stored facts as a resident form."""
    foreign = json.loads(row.foreign_details) if row.foreign_details else {}
    return domain.ResidentForm(
        name=row.name,
        name_kana=row.name_kana,
        birth_date=row.birth_date,
        sex=row.sex,
        address=row.address,
        resident_type=row.resident_type,
        nationality=foreign.get("nationality", ""),
        residence_status=foreign.get("residence_status", ""),
        residence_card_number=foreign.get("residence_card_number", ""),
        period_of_stay_until=foreign.get("period_of_stay_until", ""),
    )


def facts_of(row: Resident, *, address: str | None = None) -> BasicFacts:
    """The four basic facts of a row (optionally at a new address), with the name's reading,
    for the registry."""
    return BasicFacts.parse(
        row.name, row.birth_date, row.sex, address or row.address, name_kana=row.name_kana
    )


def cert_json(cert: domain.CareCertification) -> str:
    """Stored form of a long-term care certification."""
    return json.dumps(
        {
            "level": int(cert.level),
            "certified_on": cert.certified_on.isoformat(),
            "valid_from": cert.valid_from.isoformat(),
            "valid_until": cert.valid_until.isoformat(),
        }
    )


def _cert_of(row: CareCertificationRow) -> domain.CareCertification:
    doc = json.loads(row.details)
    return domain.CareCertification(
        level=domain.CareLevel(doc["level"]),
        certified_on=dt.date.fromisoformat(doc["certified_on"]),
        valid_from=dt.date.fromisoformat(doc["valid_from"]),
        valid_until=dt.date.fromisoformat(doc["valid_until"]),
    )


def care_history(
    session: Session, address_numbers: Iterable[str]
) -> dict[str, list[domain.CareCertification]]:
    """Every certification of each resident (in chunks of 500 address numbers)."""
    numbers = list(address_numbers)
    history: dict[str, list[domain.CareCertification]] = defaultdict(list)
    if not numbers:
        return history
    for chunk_start in range(0, len(numbers), 500):
        chunk = numbers[chunk_start : chunk_start + 500]
        rows = session.scalars(
            select(CareCertificationRow).where(CareCertificationRow.address_number.in_(chunk))
        ).all()
        for row in rows:
            history[row.address_number].append(_cert_of(row))
    return history
