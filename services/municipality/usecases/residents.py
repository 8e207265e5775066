"""Residents and households: registration (birth, first entry), enrolment (転入), reads.

Every write validates all of its input first (a bad request changes nothing), calls the
registry before committing locally (so a registry refusal leaves no local trace), and records
its idempotency key in the same transaction as its effect and its outbox events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mynumber_core import errors, mynumber
from mynumber_core.facts import BasicFacts
from services.municipality import domain
from services.municipality.models import Household, MoveOutNotice, Resident
from services.municipality.usecases import records
from services.municipality.usecases.context import Context


class _AlreadyOnRegister(Exception):
    """The registry's token is already on the register (see :meth:`register_resident`)."""


@dataclass(frozen=True)
class ResidentView:
    """A resident as shown to the clerk."""

    address_number: str
    household_id: str
    relationship: str
    form: domain.ResidentForm
    status: domain.ResidentStatus
    status_date: str
    care: domain.CareCertification | None
    pending_move_out_notices: int


@dataclass(frozen=True)
class MemberView:
    """One household member as shown to the clerk."""

    address_number: str
    name: str
    relationship: str
    birth_date: str


@dataclass(frozen=True)
class HouseholdView:
    """A household as shown to the clerk."""

    household_id: str
    householder_address_number: str
    address: str
    members: list[MemberView]


@dataclass(frozen=True)
class Registration:
    """The result of a registration; ``my_number`` is for the notification card only."""

    address_number: str
    household_id: str
    my_number: str = field(repr=False)


class Residents:
    """Register, enrol and look up residents and households."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def _check_household(
        self, session: Session, household_id: str, relationship: str, address: str
    ) -> None:
        if session.get(Household, household_id) is None:
            raise errors.NotFound("no household with this household number")
        current = records.members(session, household_id)
        if not current:
            raise errors.FailedPrecondition("the household has no current members")
        if relationship == domain.HOUSEHOLDER:
            raise errors.InvalidInput(
                "the household already has a 世帯主; give the relationship to the householder"
            )
        if not domain.same_address(current[0].address, address):
            raise errors.InvalidInput(
                "a household lives at one address; register at the household's address or "
                "start a new household"
            )

    @staticmethod
    def _household_args(household_id: str, relationship: str) -> tuple[str | None, str]:
        if household_id.strip():
            hid = domain.parse_household_id(household_id)
            if not relationship.strip():
                raise errors.InvalidInput("relationship to the householder is required")
            return hid, domain.parse_relationship(relationship)
        if relationship.strip() and domain.parse_relationship(relationship) != domain.HOUSEHOLDER:
            raise errors.InvalidInput(
                "a resident who starts a new household is its 世帯主; give household_id to join"
            )
        return None, domain.HOUSEHOLDER

    def _write_resident(
        self,
        session: Session,
        row: Resident | None,
        *,
        token: str,
        data: domain.ResidentInput,
        household_id: str,
        relationship: str,
    ) -> Resident:
        now = self._ctx.clock()
        if row is None:
            number = domain.new_address_number(lambda c: session.get(Resident, c) is not None)
            row = Resident(address_number=number, token=token, created_at=now)
            session.add(row)
        row.household_id = household_id
        row.relationship = relationship
        for column, value in records.resident_values(self._ctx, data).items():
            setattr(row, column, value)
        row.status = domain.ResidentStatus.RESIDENT.value
        row.status_date = None
        row.move_out_destination = None
        row.updated_at = now
        session.flush()
        return row

    def register_resident(
        self,
        form: domain.ResidentForm,
        household_id: str,
        relationship: str,
        idempotency_key: str,
    ) -> Registration:
        """Register a new resident; the registry issues the number (returned, not stored)."""
        ctx = self._ctx
        data = form.parse(ctx.today())
        hid, rel = self._household_args(household_id, relationship)
        key = domain.parse_idempotency_key(idempotency_key)
        request = {"form": form.__dict__, "household_id": hid, "relationship": rel}
        with ctx.db.transaction() as session:
            replay = records.replay(ctx, session, key, "register", request)
            if replay is None and hid is not None:
                self._check_household(session, hid, rel, data.facts.address)
        # The registry's own idempotency returns the first result for a retried key.
        my_number, token = ctx.registry.register(data.facts, f"mun-register:{key}")
        if replay is not None:
            return Registration(replay["address_number"], replay["household_id"], my_number)
        try:
            with ctx.db.transaction() as session:
                # A concurrent call with this key (another replica) may have committed meanwhile.
                won = records.replay(ctx, session, key, "register", request)
                if won is not None:
                    return Registration(won["address_number"], won["household_id"], my_number)
                if session.scalars(
                    select(Resident.address_number).where(Resident.token == token)
                ).first():
                    raise _AlreadyOnRegister
                household = hid if hid is not None else records.new_household(ctx, session)
                row = self._write_resident(
                    session, None, token=token, data=data, household_id=household, relationship=rel
                )
                result = {"address_number": row.address_number, "household_id": household}
                records.remember(ctx, session, key, "register", request, result)
        except _AlreadyOnRegister:
            # Either a concurrent call with this key committed its resident between the two
            # reads above (read committed: each statement sees the latest commit), and its
            # result is stored now; or the registry really answered someone already here.
            won = records.replay_winner(ctx, key, "register", request)
            if won is None:
                raise errors.AlreadyExists(
                    "the registry returned a resident already registered"
                ) from None
            return Registration(won["address_number"], won["household_id"], my_number)
        except IntegrityError:
            won = records.replay_winner(ctx, key, "register", request)
            if won is None:
                raise
            return Registration(won["address_number"], won["household_id"], my_number)
        return Registration(row.address_number, household, my_number)

    def enrol_resident(
        self,
        my_number: str,
        form: domain.ResidentForm,
        household_id: str,
        relationship: str,
        idempotency_key: str,
        previous_address: str = "",
    ) -> tuple[str, str]:
        """Enrol a resident who already has a number (転入); returns (address no., household)."""
        ctx = self._ctx
        number = mynumber.validate(my_number)
        data = form.parse(ctx.today())
        hid, rel = self._household_args(household_id, relationship)
        key = domain.parse_idempotency_key(idempotency_key)
        moved_in = bool(previous_address.strip()) and not domain.same_address(
            previous_address, data.facts.address
        )
        link_facts = data.facts
        if moved_in:
            link_facts = BasicFacts.parse(
                data.facts.name,
                data.facts.birth_date.isoformat(),
                data.facts.sex,
                previous_address,
            )
        # The number is not part of the fingerprint: nothing derived from it is stored.
        request = {
            "form": form.__dict__,
            "household_id": hid,
            "relationship": rel,
            "previous_address": previous_address.strip(),
        }
        with ctx.db.transaction() as session:
            replay = records.replay(ctx, session, key, "enrol", request)
            if replay is not None:
                return replay["address_number"], replay["household_id"]
            if hid is not None:
                self._check_household(session, hid, rel, data.facts.address)
        token = ctx.registry.link(number, link_facts)
        with ctx.db.transaction() as session:
            existing = session.scalars(select(Resident).where(Resident.token == token)).first()
            if existing is not None and existing.status != domain.ResidentStatus.MOVED_OUT:
                raise errors.AlreadyExists(
                    "this person is already on the register; use their address number"
                )
        if moved_in:
            ctx.registry.update_facts(token, data.facts)
        with ctx.db.transaction() as session:
            existing = session.scalars(select(Resident).where(Resident.token == token)).first()
            household = hid if hid is not None else records.new_household(ctx, session)
            row = self._write_resident(
                session,
                existing,
                token=token,
                data=data,
                household_id=household,
                relationship=rel,
            )
            if moved_in:
                records.enqueue_address_changed(session, row, "move_in", ctx.today())
            result = {"address_number": row.address_number, "household_id": household}
            records.remember(ctx, session, key, "enrol", request, result)
        if moved_in:
            ctx.wake()
        return row.address_number, household

    def get_resident(self, address_number: str) -> ResidentView:
        """One resident by address number."""
        number = domain.parse_address_number(address_number)
        with self._ctx.db.transaction() as session:
            row = records.resident(session, number)
            certs = records.care_history(session, [number])[number]
            pending = len(
                session.scalars(
                    select(MoveOutNotice.id).where(
                        MoveOutNotice.address_number == number, MoveOutNotice.status == "received"
                    )
                ).all()
            )
            return ResidentView(
                address_number=row.address_number,
                household_id=row.household_id,
                relationship=row.relationship,
                form=records.form_of(row),
                status=domain.ResidentStatus(row.status),
                status_date=row.status_date or "",
                care=domain.current_certification(certs, self._ctx.today()),
                pending_move_out_notices=pending,
            )

    def get_household(self, household_id: str) -> HouseholdView:
        """A household and its current members."""
        hid = domain.parse_household_id(household_id)
        with self._ctx.db.transaction() as session:
            if session.get(Household, hid) is None:
                raise errors.NotFound("no household with this household number")
            current = records.members(session, hid)
            head = next((m for m in current if m.relationship == domain.HOUSEHOLDER), None)
            return HouseholdView(
                household_id=hid,
                householder_address_number=head.address_number if head else "",
                address=current[0].address if current else "",
                members=[
                    MemberView(m.address_number, m.name, m.relationship, m.birth_date)
                    for m in current
                ],
            )
