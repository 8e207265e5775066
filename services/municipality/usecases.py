"""The municipality's operations: the register, moves, care, disasters, and provider items.

Every write validates all of its input first (a bad request changes nothing), calls the
registry before committing locally (so a registry refusal leaves no local trace), and records
its idempotency key in the same transaction as its effect and its outbox events.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors, mynumber
from mynumber_core.db import Database
from mynumber_core.facts import BasicFacts
from mynumber_core.keyring import BlindIndex
from mynumber_core.outbox import enqueue
from mynumber_core.provider import DeliveredEvent, ProvideCall
from mynumber_core.registry_client import BatchOutcome, QuerySpec
from services.municipality import domain
from services.municipality.models import (
    CareCertificationRow,
    Disaster,
    Household,
    Letter,
    MoveOutNotice,
    Operation,
    OutboxEvent,
    Resident,
)
from services.municipality.registry_port import RegistryPort


@dataclass(frozen=True)
class LetterView:
    """A letter queued for a resident's old address."""

    id: str
    kind: str
    address: str
    created_at: str


DOMAIN = "municipality"
PROC_MOVING = "municipality.moving_onestop"
PROC_REISSUE = "municipality.number_reissue"
PROC_LTC = "municipality.ltc"
PROC_SUPPORT_LIST = "disaster.support_list"
PROC_VICTIM_SUPPORT = "disaster.victim_support"
EVENT_AUDIENCE: dict[str, tuple[str, ...]] = {
    "address_changed": (),  # every domain that linked the resident
    "number_reissued": ("portal",),
    "notice": ("portal",),
}
BATCH_CHUNK = 50
"""Queries per ``BatchQuery``: each call gets the outgoing default deadline (5 s), and one
lookup through the hub costs 10-25 ms on SQLite, so 200 per call ran out of time."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---------------------------------------------------------------------------------------
# Views returned to the servicer
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CareView:
    """A certification as shown to the clerk."""

    address_number: str
    cert: domain.CareCertification


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


@dataclass(frozen=True)
class MoveResult:
    """Who moved and which events carry the change."""

    moved: list[str]
    household_id: str
    event_ids: list[str]


@dataclass(frozen=True)
class DisasterView:
    """A declared disaster."""

    disaster_id: str
    name: str
    area: str
    declared_on: dt.date
    assumed_damage: domain.DamageLevel


@dataclass(frozen=True)
class SupportEntry:
    """One resident on the support list."""

    address_number: str
    household_id: str
    relationship: str
    name: str
    address: str
    birth_date: str
    age: int
    care_level: str
    care_flags: list[str]
    care_flags_known: bool
    need: domain.EvacuationNeed


@dataclass(frozen=True)
class HouseholdSupportView:
    """One household's victim support."""

    household_id: str
    size: int
    household_income_yen: int
    income_complete: bool
    support_yen: int
    basis: str


@dataclass(frozen=True)
class SupportListView:
    """The compiled list."""

    disaster_id: str
    income_year: int
    residents: list[SupportEntry]
    households: list[HouseholdSupportView]

    @property
    def total_support_yen(self) -> int:
        """Sum of every household's support."""
        return sum(h.support_yen for h in self.households)


# ---------------------------------------------------------------------------------------
# Row ↔ domain helpers
# ---------------------------------------------------------------------------------------


def _form_of(row: Resident) -> domain.ResidentForm:
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


def _facts_of(row: Resident, *, address: str | None = None) -> BasicFacts:
    return BasicFacts.parse(row.name, row.birth_date, row.sex, address or row.address)


def _cert_json(cert: domain.CareCertification) -> str:
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


class Register:
    """The municipality's use cases over its database and the registry."""

    def __init__(
        self,
        db: Database,
        registry: RegistryPort,
        blind: BlindIndex,
        *,
        today: Callable[[], dt.date] = dt.date.today,
        wake_relay: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._registry = registry
        self._blind = blind
        self._today = today
        self._wake = wake_relay

    # -- idempotency ---------------------------------------------------------------------

    def _fingerprint_input(self, operation: str, request: Mapping[str, Any]) -> str:
        return operation + "\x00" + json.dumps(dict(request), sort_keys=True, ensure_ascii=False)

    def _replay(
        self, session: Session, key: str, operation: str, request: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        row = session.get(Operation, key)
        if row is None:
            return None
        text = self._fingerprint_input(operation, request)
        if row.operation != operation or row.fingerprint not in self._blind.candidates(
            "operation", text
        ):
            raise errors.Conflict(
                "this idempotency_key was used for a different request; use a new key"
            )
        result: dict[str, Any] = json.loads(row.result)
        return result

    def _remember(
        self,
        session: Session,
        key: str,
        operation: str,
        request: Mapping[str, Any],
        result: Mapping[str, Any],
    ) -> None:
        session.add(
            Operation(
                idempotency_key=key,
                operation=operation,
                fingerprint=self._blind.index(
                    "operation", self._fingerprint_input(operation, request)
                ),
                result=json.dumps(dict(result)),
                created_at=_now(),
            )
        )

    # -- lookups -------------------------------------------------------------------------

    def _resident(self, session: Session, address_number: str) -> Resident:
        row = session.get(Resident, address_number)
        if row is None:
            raise errors.NotFound("no resident with this address number")
        return row

    def _active(self, session: Session, address_number: str) -> Resident:
        row = self._resident(session, address_number)
        if row.status != domain.ResidentStatus.RESIDENT:
            raise errors.FailedPrecondition(
                f"the resident's record is closed ({row.status}); no further changes apply"
            )
        return row

    def _members(self, session: Session, household_id: str) -> list[Resident]:
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

    def _by_token(self, session: Session, token: str) -> Resident:
        row = session.scalars(select(Resident).where(Resident.token == token)).first()
        if row is None:
            raise errors.NotFound("the municipality has no resident for this token")
        return row

    def _area_columns(self, area: domain.Area) -> dict[str, str | None]:
        def idx(level: domain.AreaLevel) -> str | None:
            key = area.key(level)
            return self._blind.index(f"area.{level.value}", key) if key else None

        return {
            "area_prefecture_idx": idx(domain.AreaLevel.PREFECTURE),
            "area_city_idx": idx(domain.AreaLevel.CITY),
            "area_ward_idx": idx(domain.AreaLevel.WARD),
        }

    def _check_household(
        self, session: Session, household_id: str, relationship: str, address: str
    ) -> None:
        if session.get(Household, household_id) is None:
            raise errors.NotFound("no household with this household number")
        members = self._members(session, household_id)
        if not members:
            raise errors.FailedPrecondition("the household has no current members")
        if relationship == domain.HOUSEHOLDER:
            raise errors.InvalidInput(
                "the household already has a 世帯主; give the relationship to the householder"
            )
        if not domain.same_address(members[0].address, address):
            raise errors.InvalidInput(
                "a household lives at one address; register at the household's address or "
                "start a new household"
            )

    def _household_args(self, household_id: str, relationship: str) -> tuple[str | None, str]:
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

    def _new_household(self, session: Session) -> str:
        hid = domain.new_household_id(lambda c: session.get(Household, c) is not None)
        session.add(Household(household_id=hid, created_at=_now()))
        session.flush()
        return hid

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
        now = _now()
        if row is None:
            number = domain.new_address_number(lambda c: session.get(Resident, c) is not None)
            row = Resident(address_number=number, token=token, created_at=now)
            session.add(row)
        row.household_id = household_id
        row.relationship = relationship
        row.name = data.facts.name
        row.name_kana = data.name_kana
        row.birth_date = data.facts.birth_date.isoformat()
        row.sex = data.facts.sex
        row.address = data.facts.address
        row.resident_type = data.resident_type.value
        row.foreign_details = foreign
        for column, value in self._area_columns(data.area).items():
            setattr(row, column, value)
        row.status = domain.ResidentStatus.RESIDENT.value
        row.status_date = None
        row.move_out_destination = None
        row.updated_at = now
        session.flush()
        return row

    # -- registration --------------------------------------------------------------------

    def register_resident(
        self,
        form: domain.ResidentForm,
        household_id: str,
        relationship: str,
        idempotency_key: str,
    ) -> Registration:
        """Register a new resident; the registry issues the number (returned, not stored)."""
        data = form.parse(self._today())
        hid, rel = self._household_args(household_id, relationship)
        key = domain.parse_idempotency_key(idempotency_key)
        request = {"form": form.__dict__, "household_id": hid, "relationship": rel}
        with self._db.transaction() as session:
            replay = self._replay(session, key, "register", request)
            if replay is None and hid is not None:
                self._check_household(session, hid, rel, data.facts.address)
        # The registry's own idempotency returns the first result for a retried key.
        my_number, token = self._registry.register(data.facts, f"mun-register:{key}")
        if replay is not None:
            return Registration(replay["address_number"], replay["household_id"], my_number)
        with self._db.transaction() as session:
            if session.scalars(
                select(Resident.address_number).where(Resident.token == token)
            ).first():
                raise errors.AlreadyExists("the registry returned a resident already registered")
            household = hid if hid is not None else self._new_household(session)
            row = self._write_resident(
                session, None, token=token, data=data, household_id=household, relationship=rel
            )
            result = {"address_number": row.address_number, "household_id": household}
            self._remember(session, key, "register", request, result)
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
        number = mynumber.validate(my_number)
        data = form.parse(self._today())
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
        with self._db.transaction() as session:
            replay = self._replay(session, key, "enrol", request)
            if replay is not None:
                return replay["address_number"], replay["household_id"]
            if hid is not None:
                self._check_household(session, hid, rel, data.facts.address)
        token = self._registry.link(number, link_facts)
        with self._db.transaction() as session:
            existing = session.scalars(select(Resident).where(Resident.token == token)).first()
            if existing is not None and existing.status != domain.ResidentStatus.MOVED_OUT:
                raise errors.AlreadyExists(
                    "this person is already on the register; use their address number"
                )
        if moved_in:
            self._registry.update_facts(token, data.facts)
        with self._db.transaction() as session:
            existing = session.scalars(select(Resident).where(Resident.token == token)).first()
            household = hid if hid is not None else self._new_household(session)
            row = self._write_resident(
                session,
                existing,
                token=token,
                data=data,
                household_id=household,
                relationship=rel,
            )
            if moved_in:
                self._enqueue_address_changed(session, row, "move_in", self._today())
            result = {"address_number": row.address_number, "household_id": household}
            self._remember(session, key, "enrol", request, result)
        if moved_in:
            self._wake()
        return row.address_number, household

    # -- reads ---------------------------------------------------------------------------

    def _care_history(
        self, session: Session, address_numbers: Iterable[str]
    ) -> dict[str, list[domain.CareCertification]]:
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

    def get_resident(self, address_number: str) -> ResidentView:
        """One resident by address number."""
        number = domain.parse_address_number(address_number)
        with self._db.transaction() as session:
            row = self._resident(session, number)
            certs = self._care_history(session, [number])[number]
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
                form=_form_of(row),
                status=domain.ResidentStatus(row.status),
                status_date=row.status_date or "",
                care=domain.current_certification(certs, self._today()),
                pending_move_out_notices=pending,
            )

    def get_household(self, household_id: str) -> HouseholdView:
        """A household and its current members."""
        hid = domain.parse_household_id(household_id)
        with self._db.transaction() as session:
            if session.get(Household, hid) is None:
                raise errors.NotFound("no household with this household number")
            members = self._members(session, hid)
            head = next((m for m in members if m.relationship == domain.HOUSEHOLDER), None)
            return HouseholdView(
                household_id=hid,
                householder_address_number=head.address_number if head else "",
                address=members[0].address if members else "",
                members=[
                    MemberView(m.address_number, m.name, m.relationship, m.birth_date)
                    for m in members
                ],
            )

    # -- moves, move-out, death ----------------------------------------------------------

    def _enqueue_address_changed(
        self, session: Session, row: Resident, reason: str, effective: dt.date
    ) -> str:
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

    def _letter_to_old_address(self, session: Session, row: Resident) -> None:
        """Queue a notice to the address the resident is leaving: if someone else changed
        the address, the real resident still hears of it there (the SSN lesson)."""
        session.add(
            Letter(
                id=uuid.uuid4().hex,
                address_number=row.address_number,
                kind="address_change_notice",
                address=row.address,
                created_at=_now(),
            )
        )

    def letters(self, address_number: str) -> list[LetterView]:
        """Letters owed to a resident's old addresses, newest first."""
        number = domain.parse_address_number(address_number)
        with self._db.transaction() as session:
            self._resident(session, number)
            rows = session.scalars(
                select(Letter)
                .where(Letter.address_number == number)
                .order_by(Letter.created_at.desc())
            ).all()
            return [LetterView(r.id, r.kind, r.address, r.created_at.isoformat()) for r in rows]

    def _parse_address(self, raw: str, field_name: str) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise errors.InvalidInput(f"{field_name} is required")
        # BasicFacts' rules (length, control characters), then the area must parse.
        address = BasicFacts.parse("-", "2000-01-01", "male", raw).address
        domain.address_area(address)
        return address

    def record_move(
        self,
        address_number: str,
        new_address: str,
        effective_date: str,
        with_household: bool,
        idempotency_key: str,
    ) -> MoveResult:
        """A move within the municipality (転居); agencies learn it through the outbox."""
        number = domain.parse_address_number(address_number)
        address = self._parse_address(new_address, "new_address")
        effective = domain.parse_date("effective_date", effective_date)
        if effective > self._today():
            raise errors.InvalidInput("effective_date is in the future; record a move once done")
        key = domain.parse_idempotency_key(idempotency_key)
        request = {
            "address_number": number,
            "address": address,
            "effective": effective.isoformat(),
            "with_household": with_household,
        }
        with self._db.transaction() as session:
            replay = self._replay(session, key, "move", request)
            if replay is not None:
                return MoveResult(replay["moved"], replay["household_id"], replay["event_ids"])
            row = self._active(session, number)
            if domain.same_address(row.address, address):
                raise errors.InvalidInput("new_address is the resident's current address")
            members = self._members(session, row.household_id)
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
            new_facts = {m.address_number: (m.token, _facts_of(m, address=address)) for m in movers}
        # The registry first: if it refuses, nothing changed here.
        for token, facts in new_facts.values():
            self._registry.update_facts(token, facts)
        area_columns = self._area_columns(domain.address_area(address))
        with self._db.transaction() as session:
            row = self._active(session, number)
            household = row.household_id
            if not with_household and len(self._members(session, household)) > 1:
                household = self._new_household(session)  # 世帯分離: a new household
            event_ids: list[str] = []
            for mover_number in new_facts:
                mover = self._resident(session, mover_number)
                self._letter_to_old_address(session, mover)
                mover.address = address
                for column, value in area_columns.items():
                    setattr(mover, column, value)
                if mover.household_id != household:
                    mover.household_id = household
                    mover.relationship = domain.HOUSEHOLDER
                mover.updated_at = _now()
                session.flush()
                event_ids.append(self._enqueue_address_changed(session, mover, "move", effective))
            result = {"moved": list(new_facts), "household_id": household, "event_ids": event_ids}
            self._remember(session, key, "move", request, result)
        self._wake()
        return MoveResult(list(new_facts), household, event_ids)

    def record_move_out(
        self,
        address_number: str,
        destination_address: str,
        effective_date: str,
        idempotency_key: str,
    ) -> str:
        """A move out of the municipality (転出); returns the address_changed event id."""
        number = domain.parse_address_number(address_number)
        destination = self._parse_address(destination_address, "destination_address")
        effective = domain.parse_date("effective_date", effective_date)
        if effective > self._today() + dt.timedelta(days=14):
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
        with self._db.transaction() as session:
            replay = self._replay(session, key, "move_out", request)
            if replay is not None:
                return str(replay["event_id"])
            row = self._active(session, number)
            members = self._members(session, row.household_id)
            if row.relationship == domain.HOUSEHOLDER and len(members) > 1:
                raise errors.FailedPrecondition(
                    "the householder cannot move out while others stay; record a change of "
                    "householder first"
                )
            token, facts = row.token, _facts_of(row, address=destination)
        self._registry.update_facts(token, facts)
        with self._db.transaction() as session:
            row = self._active(session, number)
            row.status = domain.ResidentStatus.MOVED_OUT.value
            row.status_date = effective.isoformat()
            row.move_out_destination = destination
            row.updated_at = _now()
            for notice in session.scalars(
                select(MoveOutNotice).where(
                    MoveOutNotice.address_number == number, MoveOutNotice.status == "received"
                )
            ):
                notice.status = "completed"
            session.flush()
            self._letter_to_old_address(session, row)
            event_id = self._enqueue_address_changed(session, row, "move_out", effective)
            self._remember(session, key, "move_out", request, {"event_id": event_id})
        self._wake()
        return event_id

    def record_death(self, address_number: str, date_of_death: str, idempotency_key: str) -> None:
        """Close the record of a deceased resident; the registry marks the person deceased."""
        number = domain.parse_address_number(address_number)
        died = domain.parse_date("date_of_death", date_of_death)
        if died > self._today():
            raise errors.InvalidInput("date_of_death is in the future")
        key = domain.parse_idempotency_key(idempotency_key)
        request = {"address_number": number, "died": died.isoformat()}
        with self._db.transaction() as session:
            if self._replay(session, key, "death", request) is not None:
                return
            row = self._active(session, number)
            if died < dt.date.fromisoformat(row.birth_date):
                raise errors.InvalidInput("date_of_death is before the birth date")
            token, facts = row.token, _facts_of(row)
        self._registry.update_facts(token, facts, deceased=True)
        with self._db.transaction() as session:
            row = self._active(session, number)
            row.status = domain.ResidentStatus.DECEASED.value
            row.status_date = died.isoformat()
            row.updated_at = _now()
            self._remember(session, key, "death", request, {})

    # -- long-term care ------------------------------------------------------------------

    def certify_care(
        self,
        address_number: str,
        level: int,
        certified_on: str,
        valid_from: str,
        valid_until: str,
        idempotency_key: str,
    ) -> CareView:
        """Record a certification and send the result notice to the resident's portal."""
        number = domain.parse_address_number(address_number)
        key = domain.parse_idempotency_key(idempotency_key)
        request = {
            "address_number": number,
            "level": level,
            "certified_on": certified_on,
            "valid_from": valid_from,
            "valid_until": valid_until,
        }
        with self._db.transaction() as session:
            row = self._resident(session, number)
            cert = domain.CareCertification.parse(
                level,
                certified_on,
                valid_from,
                valid_until,
                birth_date=dt.date.fromisoformat(row.birth_date),
                today=self._today(),
            )
            if self._replay(session, key, "care", request) is not None:
                return CareView(number, cert)
            row = self._active(session, number)
            session.add(
                CareCertificationRow(
                    id=uuid.uuid4().hex,
                    address_number=number,
                    details=_cert_json(cert),
                    created_at=_now(),
                )
            )
            enqueue(
                session,
                OutboxEvent,
                event_type="notice",
                token=row.token,
                procedure=PROC_LTC,
                payload={
                    "kind": "ltc_certification",
                    "title": "要介護認定等結果通知書",
                    "body": (
                        f"認定結果: {cert.level.label}(有効期間 {cert.valid_from.isoformat()}"
                        f" から {cert.valid_until.isoformat()} まで)"
                    ),
                    "level": cert.level.label,
                    "valid_from": cert.valid_from.isoformat(),
                    "valid_until": cert.valid_until.isoformat(),
                },
            )
            self._remember(session, key, "care", request, {})
        self._wake()
        return CareView(number, cert)

    # -- number reissue ------------------------------------------------------------------

    def reissue_number(self, address_number: str, reason: str, idempotency_key: str) -> str:
        """Issue a new number for a leaked one; returns it once; the portal is told."""
        number = domain.parse_address_number(address_number)
        why = domain.parse_free_text("reason", reason, max_len=200, required=True)
        key = domain.parse_idempotency_key(idempotency_key)
        request = {"address_number": number, "reason": why}
        with self._db.transaction() as session:
            replay = self._replay(session, key, "reissue", request)
            token = (
                self._resident(session, number) if replay else self._active(session, number)
            ).token
        new_number = self._registry.reissue(token, why, f"mun-reissue:{key}")
        if replay is not None:
            return new_number
        with self._db.transaction() as session:
            enqueue(
                session,
                OutboxEvent,
                event_type="number_reissued",
                token=token,
                procedure=PROC_REISSUE,
                payload={
                    "kind": "number_reissued",
                    "title": "個人番号の変更について",
                    "body": (
                        "申出により個人番号を変更しました。新しい通知カードをお受け取りください。"
                    ),
                    "reissued_on": self._today().isoformat(),
                },
            )
            self._remember(session, key, "reissue", request, {})
        self._wake()
        return new_number

    # -- disasters -----------------------------------------------------------------------

    def declare_disaster(
        self, name: str, area: str, declared_on: str, damage: int, idempotency_key: str
    ) -> DisasterView:
        """Declare a disaster over an area (a prefecture, a city or a ward)."""
        title = domain.parse_free_text("name", name, max_len=100, required=True)
        parsed_area = domain.parse_disaster_area(area)
        declared = domain.parse_date("declared_on", declared_on)
        if declared > self._today():
            raise errors.InvalidInput("declared_on is in the future")
        try:
            level = domain.DamageLevel(damage)
        except ValueError:
            raise errors.InvalidInput(
                "assumed_damage must be 全壊, 長期避難, 大規模半壊 or 中規模半壊"
            ) from None
        key = domain.parse_idempotency_key(idempotency_key)
        request = {
            "name": title,
            "area": str(parsed_area),
            "declared": declared.isoformat(),
            "damage": int(level),
        }
        with self._db.transaction() as session:
            replay = self._replay(session, key, "disaster", request)
            if replay is not None:
                return self._disaster(session, replay["disaster_id"])
            disaster_id = ""
            while not disaster_id or session.get(Disaster, disaster_id) is not None:
                disaster_id = f"D{declared.year}-{secrets.randbelow(10**6):06d}"
            session.add(
                Disaster(
                    disaster_id=disaster_id,
                    name=title,
                    area=str(parsed_area),
                    declared_on=declared,
                    assumed_damage=int(level),
                    created_at=_now(),
                )
            )
            self._remember(session, key, "disaster", request, {"disaster_id": disaster_id})
        return DisasterView(disaster_id, title, str(parsed_area), declared, level)

    def _disaster(self, session: Session, disaster_id: str) -> DisasterView:
        row = session.get(Disaster, disaster_id.strip())
        if row is None:
            raise errors.NotFound("no disaster with this id; declare it first")
        return DisasterView(
            row.disaster_id,
            row.name,
            row.area,
            row.declared_on,
            domain.DamageLevel(row.assumed_damage),
        )

    def _batch(self, queries: Sequence[QuerySpec]) -> dict[str, BatchOutcome]:
        outcomes: dict[str, BatchOutcome] = {}
        for start in range(0, len(queries), BATCH_CHUNK):
            for outcome in self._registry.batch_query(queries[start : start + BATCH_CHUNK]):
                outcomes[outcome.request_id] = outcome
        return outcomes

    def compile_support_list(self, disaster_id: str, income_year: int) -> SupportListView:
        """Residents of the area with their need for help, and each household's support."""
        if not disaster_id.strip():
            raise errors.InvalidInput("disaster_id is required")
        with self._db.transaction() as session:
            disaster = self._disaster(session, disaster_id)
            year = income_year or disaster.declared_on.year - 1
            if not 2000 <= year <= disaster.declared_on.year:
                raise errors.InvalidInput(
                    "income_year must be a past year no later than the declaration's year"
                )
            area = domain.parse_disaster_area(disaster.area)
            level = area.level
            column = {
                domain.AreaLevel.PREFECTURE: Resident.area_prefecture_idx,
                domain.AreaLevel.CITY: Resident.area_city_idx,
                domain.AreaLevel.WARD: Resident.area_ward_idx,
            }[level]
            key_text = area.key(level)
            if key_text is None:
                raise errors.IntegrityFailure("the disaster's stored area does not parse")
            rows = session.scalars(
                select(Resident)
                .where(
                    column.in_(self._blind.candidates(f"area.{level.value}", key_text)),
                    Resident.status == domain.ResidentStatus.RESIDENT.value,
                )
                .order_by(Resident.household_id, Resident.created_at)
            ).all()
            care = self._care_history(session, [r.address_number for r in rows])
            people = [
                (r.address_number, r.token, r.household_id, r.relationship, _form_of(r))
                for r in rows
            ]
        run = uuid.uuid4().hex
        care_q = [
            QuerySpec(token, "health", "care_flags", PROC_SUPPORT_LIST, f"{run}:{num}:care")
            for num, token, *_ in people
        ]
        income_q = [
            QuerySpec(
                token, "tax", "income", PROC_VICTIM_SUPPORT, f"{run}:{num}:income", {"year": year}
            )
            for num, token, *_ in people
        ]
        flags = self._batch(care_q) if care_q else {}
        incomes = self._batch(income_q) if income_q else {}

        on = disaster.declared_on
        households: dict[str, list[SupportEntry]] = defaultdict(list)
        entries: list[SupportEntry] = []
        sizes: dict[str, int] = defaultdict(int)
        for _, _, hid, _, _ in people:
            sizes[hid] += 1
        for num, _, hid, rel, form in people:
            answer = flags.get(f"{run}:{num}:care")
            known = answer is not None and answer.code == 0
            care_flags = domain.care_flags_from(answer.data) if known and answer else []
            birth = dt.date.fromisoformat(form.birth_date)
            age = domain.age_on(birth, on)
            cert = domain.current_certification(care.get(num, []), on)
            entry = SupportEntry(
                address_number=num,
                household_id=hid,
                relationship=rel,
                name=form.name,
                address=form.address,
                birth_date=form.birth_date,
                age=age,
                care_level=cert.level.label if cert else "",
                care_flags=care_flags,
                care_flags_known=known,
                need=domain.evacuation_need(cert, care_flags, age, sizes[hid]),
            )
            entries.append(entry)
            households[hid].append(entry)
        support: list[HouseholdSupportView] = []
        for hid, members in households.items():
            total, complete = 0, True
            for member in members:
                answer = incomes.get(f"{run}:{member.address_number}:income")
                amount = domain.income_from(answer.data) if answer and answer.code == 0 else None
                if amount is None:
                    complete = False
                else:
                    total += max(amount, 0)
            head = next((m for m in members if m.relationship == domain.HOUSEHOLDER), members[0])
            decision = domain.victim_support(
                disaster.assumed_damage,
                len(members),
                total,
                head.age,
                any(m.need.needed for m in members),
            )
            basis = decision.basis + ("" if complete else "; provisional: income incomplete")
            support.append(
                HouseholdSupportView(
                    hid, len(members), total, complete, decision.support_yen, basis
                )
            )
        return SupportListView(disaster.disaster_id, year, entries, support)

    # -- provider items and events -------------------------------------------------------

    def provide_basic_facts(self, call: ProvideCall) -> Mapping[str, Any]:
        """Item ``basic_facts``: the four facts, kana, residence details and register status."""
        with self._db.transaction() as session:
            row = self._by_token(session, call.token)
            form = _form_of(row)
            data: dict[str, Any] = {
                "name": form.name,
                "name_kana": form.name_kana,
                "birth_date": form.birth_date,
                "sex": form.sex,
                "address": form.address,
                "resident_type": form.resident_type,
                "status": row.status,
                "status_date": row.status_date or "",
            }
            if form.resident_type == domain.ResidentType.FOREIGN:
                data.update(
                    nationality=form.nationality,
                    residence_status=form.residence_status,
                    period_of_stay_until=form.period_of_stay_until,
                )
            return data

    def provide_household(self, call: ProvideCall) -> Mapping[str, Any]:
        """Item ``household``: size and each member's relationship and birth year, no names."""
        with self._db.transaction() as session:
            row = self._by_token(session, call.token)
            members = self._members(session, row.household_id)
            return {
                "household_id": row.household_id,
                "size": len(members),
                "relationship": row.relationship,
                "is_householder": row.relationship == domain.HOUSEHOLDER,
                "members": [
                    {
                        "relationship": m.relationship,
                        "birth_year": int(m.birth_date[:4]),
                        "is_subject": m.address_number == row.address_number,
                    }
                    for m in members
                ],
            }

    def provide_ltc(self, call: ProvideCall) -> Mapping[str, Any]:
        """Item ``ltc_certification``: the certification valid today, if any."""
        with self._db.transaction() as session:
            row = self._by_token(session, call.token)
            certs = self._care_history(session, [row.address_number])[row.address_number]
        cert = domain.current_certification(certs, self._today())
        if cert is None:
            return {"certified": False}
        return {
            "certified": True,
            "level": cert.level.label,
            "needs_care": cert.level.needs_care,
            "certified_on": cert.certified_on.isoformat(),
            "valid_from": cert.valid_from.isoformat(),
            "valid_until": cert.valid_until.isoformat(),
        }

    def on_move_out_application(self, session: Session, event: DeliveredEvent) -> None:
        """Event ``application.move_out`` from the portal: record the notice for the clerk."""
        row = self._by_token(session, event.token)
        payload = dict(event.payload)
        destination = str(payload.get("destination_address") or payload.get("destination") or "")
        planned = str(payload.get("effective_date") or payload.get("planned_date") or "")
        details = {"destination_address": destination[:200], "planned_date": planned[:10]}
        session.add(
            MoveOutNotice(
                id=event.event_id,
                address_number=row.address_number,
                details=json.dumps(details, ensure_ascii=False),
                status="received",
                received_at=_now(),
            )
        )
