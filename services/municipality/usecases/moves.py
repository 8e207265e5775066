"""Changes that end or move a residence: a move within the municipality (転居, one-stop),
a move out (転出), and a death. The registry's facts change first; agencies learn of an
address change through the outbox, and the old address gets a letter. A retry racing the
first call with the same idempotency key (another replica, at the same moment) gets the first
call's result and changes nothing (the key's row decides which one committed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mynumber_core import errors
from mynumber_core.facts import BasicFacts
from services.municipality import domain
from services.municipality.models import MoveOutNotice
from services.municipality.usecases import records
from services.municipality.usecases.context import Context
from services.municipality.usecases.letters import queue_letter_to_old_address


@dataclass(frozen=True)
class MoveResult:
    """Who moved and which events carry the change."""

    moved: list[str]
    household_id: str
    event_ids: list[str]


def _parse_address(raw: str, field_name: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise errors.InvalidInput(f"{field_name} is required")
    # BasicFacts' rules (length, control characters), then the area must parse.
    address = BasicFacts.parse("-", "2000-01-01", "male", raw).address
    domain.address_area(address)
    return address


class Moves:
    """Record moves, moves out and deaths."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def record_move(
        self,
        address_number: str,
        new_address: str,
        effective_date: str,
        with_household: bool,
        idempotency_key: str,
    ) -> MoveResult:
        """A move within the municipality (転居); agencies learn it through the outbox."""
        ctx = self._ctx
        number = domain.parse_address_number(address_number)
        address = _parse_address(new_address, "new_address")
        effective = domain.parse_date("effective_date", effective_date)
        if effective > ctx.today():
            raise errors.InvalidInput("effective_date is in the future; record a move once done")
        key = domain.parse_idempotency_key(idempotency_key)
        request = {
            "address_number": number,
            "address": address,
            "effective": effective.isoformat(),
            "with_household": with_household,
        }
        with ctx.db.transaction() as session:
            replay = records.replay(ctx, session, key, "move", request)
            if replay is not None:
                return MoveResult(replay["moved"], replay["household_id"], replay["event_ids"])
            row = records.active(session, number)
            if domain.same_address(row.address, address):
                # A concurrent call with this key may have committed between the two reads.
                won = records.replay(ctx, session, key, "move", request)
                if won is not None:
                    return MoveResult(won["moved"], won["household_id"], won["event_ids"])
                raise errors.InvalidInput("new_address is the resident's current address")
            members = records.members(session, row.household_id)
            if with_household:
                if row.relationship != domain.HOUSEHOLDER:
                    raise errors.FailedPrecondition(
                        "only the householder (世帯主) can move the whole household"
                    )
                movers = members
            else:
                if row.relationship == domain.HOUSEHOLDER and len(members) > 1:
                    raise errors.FailedPrecondition(
                        "the householder cannot move alone while others stay; move with the "
                        "household or record a change of householder first"
                    )
                movers = [row]
            new_facts = {
                m.address_number: (m.token, records.facts_of(m, address=address)) for m in movers
            }
        # The registry first: if it refuses, nothing changed here.
        for token, facts in new_facts.values():
            ctx.registry.update_facts(token, facts)
        area_columns = records.area_columns(ctx, domain.address_area(address))
        try:
            with ctx.db.transaction() as session:
                row = records.active(session, number)
                household = row.household_id
                if not with_household and len(records.members(session, household)) > 1:
                    household = records.new_household(ctx, session)  # 世帯分離: a new household
                event_ids: list[str] = []
                for mover_number in new_facts:
                    mover = records.resident(session, mover_number)
                    queue_letter_to_old_address(ctx, session, mover)
                    mover.address = address
                    for column, value in area_columns.items():
                        setattr(mover, column, value)
                    if mover.household_id != household:
                        mover.household_id = household
                        mover.relationship = domain.HOUSEHOLDER
                    mover.updated_at = ctx.clock()
                    session.flush()
                    event_ids.append(
                        records.enqueue_address_changed(session, mover, "move", effective)
                    )
                result = {
                    "moved": list(new_facts),
                    "household_id": household,
                    "event_ids": event_ids,
                }
                records.remember(ctx, session, key, "move", request, result)
        except IntegrityError:
            won = records.replay_winner(ctx, key, "move", request)
            if won is None:
                raise
            return MoveResult(won["moved"], won["household_id"], won["event_ids"])
        ctx.wake()
        return MoveResult(list(new_facts), household, event_ids)

    def record_move_out(
        self,
        address_number: str,
        destination_address: str,
        effective_date: str,
        idempotency_key: str,
    ) -> str:
        """A move out of the municipality (転出); returns the address_changed event id."""
        ctx = self._ctx
        number = domain.parse_address_number(address_number)
        destination = _parse_address(destination_address, "destination_address")
        effective = domain.parse_date("effective_date", effective_date)
        if effective > ctx.today() + dt.timedelta(days=14):
            raise errors.InvalidInput(
                "effective_date is more than 14 days ahead; a move-out notice may be given at "
                "most 14 days in advance"
            )
        key = domain.parse_idempotency_key(idempotency_key)
        request = {
            "address_number": number,
            "destination": destination,
            "effective": effective.isoformat(),
        }
        with ctx.db.transaction() as session:
            replay = records.replay(ctx, session, key, "move_out", request)
            if replay is not None:
                return str(replay["event_id"])
            # Closed by a concurrent call with this key between the two reads?
            row = records.active_or_winner(ctx, session, number, key, "move_out", request)
            if isinstance(row, dict):
                return str(row["event_id"])
            members = records.members(session, row.household_id)
            if row.relationship == domain.HOUSEHOLDER and len(members) > 1:
                raise errors.FailedPrecondition(
                    "the householder cannot move out while others stay; record a change of "
                    "householder first"
                )
            token, facts = row.token, records.facts_of(row, address=destination)
        ctx.registry.update_facts(token, facts)
        try:
            with ctx.db.transaction() as session:
                # A concurrent call with this key may have committed meanwhile (it closed the
                # record, so look for its result before the record).
                won = records.replay(ctx, session, key, "move_out", request)
                if won is not None:
                    return str(won["event_id"])
                row = records.active_or_winner(ctx, session, number, key, "move_out", request)
                if isinstance(row, dict):
                    return str(row["event_id"])
                row.status = domain.ResidentStatus.MOVED_OUT.value
                row.status_date = effective.isoformat()
                row.move_out_destination = destination
                row.updated_at = ctx.clock()
                for notice in session.scalars(
                    select(MoveOutNotice).where(
                        MoveOutNotice.address_number == number, MoveOutNotice.status == "received"
                    )
                ):
                    notice.status = "completed"
                session.flush()
                queue_letter_to_old_address(ctx, session, row)
                event_id = records.enqueue_address_changed(session, row, "move_out", effective)
                records.remember(ctx, session, key, "move_out", request, {"event_id": event_id})
        except IntegrityError:
            won = records.replay_winner(ctx, key, "move_out", request)
            if won is None:
                raise
            return str(won["event_id"])
        ctx.wake()
        return event_id

    def record_death(self, address_number: str, date_of_death: str, idempotency_key: str) -> None:
        """Close the record of a deceased resident; the registry marks the person deceased."""
        ctx = self._ctx
        number = domain.parse_address_number(address_number)
        died = domain.parse_date("date_of_death", date_of_death)
        if died > ctx.today():
            raise errors.InvalidInput("date_of_death is in the future")
        key = domain.parse_idempotency_key(idempotency_key)
        request = {"address_number": number, "died": died.isoformat()}
        with ctx.db.transaction() as session:
            if records.replay(ctx, session, key, "death", request) is not None:
                return
            # Closed by a concurrent call with this key between the two reads?
            row = records.active_or_winner(ctx, session, number, key, "death", request)
            if isinstance(row, dict):
                return
            if died < dt.date.fromisoformat(row.birth_date):
                raise errors.InvalidInput("date_of_death is before the birth date")
            token, facts = row.token, records.facts_of(row)
        ctx.registry.update_facts(token, facts, deceased=True)
        try:
            with ctx.db.transaction() as session:
                if records.replay(ctx, session, key, "death", request) is not None:
                    return  # a concurrent call with this key recorded it meanwhile
                row = records.active_or_winner(ctx, session, number, key, "death", request)
                if isinstance(row, dict):
                    return
                row.status = domain.ResidentStatus.DECEASED.value
                row.status_date = died.isoformat()
                row.updated_at = ctx.clock()
                records.remember(ctx, session, key, "death", request, {})
        except IntegrityError:
            if records.replay_winner(ctx, key, "death", request) is None:
                raise
