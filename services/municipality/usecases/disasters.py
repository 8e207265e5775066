"""Disasters (災害対策): declare one over an area, and compile the support list — who needs
help to evacuate (household, long-term care, care flags from health) and each household's
victim support (income from tax). Every lookup is a hub query, so it is in the exchange log.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import secrets
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.calendar import age_on
from mynumber_core.registry_client import BatchOutcome, QuerySpec
from services.municipality import domain
from services.municipality.models import Disaster, Resident
from services.municipality.usecases import records
from services.municipality.usecases.context import (
    PROC_SUPPORT_LIST,
    PROC_VICTIM_SUPPORT,
    Context,
)

log = structlog.get_logger("mynumber.municipality")

BATCH_CHUNK = 500
"""Queries per ``BatchQuery`` (half care flags from health, half income from tax: the
registry asks both providers at once, one ProvideBatch each)."""
BATCH_TIMEOUT = 60.0
"""Seconds each ``BatchQuery`` may take (capped by the CompileSupportList call's own
deadline); the outgoing default of 5 s fits about 50 lookups on a loaded SQLite hub."""
IN_FLIGHT = 4
"""``BatchQuery`` calls in flight at once, so the registry's sequencer commits the log
entries of several batches together and the providers' work overlaps."""


class _Person(NamedTuple):
    """The register columns the support list reads of one resident."""

    address_number: str
    token: str
    household_id: str
    relationship: str
    name: str
    address: str
    birth_date: str


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


class Disasters:
    """Declared disasters and their support lists."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def declare_disaster(
        self, name: str, area: str, declared_on: str, damage: int, idempotency_key: str
    ) -> DisasterView:
        """Declare a disaster over an area (a prefecture, a city or a ward)."""
        ctx = self._ctx
        title = domain.parse_free_text("name", name, max_len=100, required=True)
        parsed_area = domain.parse_disaster_area(area)
        declared = domain.parse_date("declared_on", declared_on)
        if declared > ctx.today():
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
        try:
            with ctx.db.transaction() as session:
                replay = records.replay(ctx, session, key, "disaster", request)
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
                        created_at=ctx.clock(),
                    )
                )
                records.remember(
                    ctx, session, key, "disaster", request, {"disaster_id": disaster_id}
                )
        except IntegrityError:
            # The same key raced in on another replica and committed first: its answer stands.
            won = records.replay_winner(ctx, key, "disaster", request)
            if won is None:
                raise
            with ctx.db.transaction() as session:
                return self._disaster(session, won["disaster_id"])
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
        """Every query's outcome by request id: :data:`BATCH_CHUNK` per ``BatchQuery``,
        :data:`IN_FLIGHT` calls at once (each in a copy of this call's context: deadline,
        request id)."""
        chunks = [
            queries[start : start + BATCH_CHUNK] for start in range(0, len(queries), BATCH_CHUNK)
        ]

        def ask(chunk: Sequence[QuerySpec]) -> list[BatchOutcome]:
            return self._ctx.registry.batch_query(chunk, timeout=BATCH_TIMEOUT)

        outcomes: dict[str, BatchOutcome] = {}
        with ThreadPoolExecutor(min(IN_FLIGHT, len(chunks)) or 1) as pool:
            contexts = [contextvars.copy_context() for _ in chunks]
            for answer in pool.map(lambda c, ch: c.run(ask, ch), contexts, chunks):
                for outcome in answer:
                    outcomes[outcome.request_id] = outcome
        return outcomes

    def compile_support_list(self, disaster_id: str, income_year: int) -> SupportListView:
        """Residents of the area with their need for help, and each household's support."""
        ctx = self._ctx
        if not disaster_id.strip():
            raise errors.InvalidInput("disaster_id is required")
        started = time.perf_counter()
        with ctx.db.transaction() as session:
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
            # Only the columns the list shows: each encrypted one costs a decryption per
            # resident (10 of them took 6 of the 10 s of reading 10,000 residents).
            people = [
                _Person(*row)
                for row in session.execute(
                    select(
                        Resident.address_number,
                        Resident.token,
                        Resident.household_id,
                        Resident.relationship,
                        Resident.name,
                        Resident.address,
                        Resident.birth_date,
                    )
                    .where(
                        column.in_(ctx.blind.candidates(f"area.{level.value}", key_text)),
                        Resident.status == domain.ResidentStatus.RESIDENT.value,
                    )
                    .order_by(Resident.household_id, Resident.created_at)
                )
            ]
            care = records.care_history(session, [p.address_number for p in people])
        read = time.perf_counter()
        run = uuid.uuid4().hex
        # Each resident's two lookups side by side, so every batch asks both providers.
        queries = [
            spec
            for num, token in ((p.address_number, p.token) for p in people)
            for spec in (
                QuerySpec(token, "health", "care_flags", PROC_SUPPORT_LIST, f"{run}:{num}:care"),
                QuerySpec(
                    token,
                    "tax",
                    "income",
                    PROC_VICTIM_SUPPORT,
                    f"{run}:{num}:income",
                    {"year": year},
                ),
            )
        ]
        answers = self._batch(queries)
        looked_up = time.perf_counter()

        on = disaster.declared_on
        households: dict[str, list[SupportEntry]] = defaultdict(list)
        entries: list[SupportEntry] = []
        sizes: dict[str, int] = defaultdict(int)
        for person in people:
            sizes[person.household_id] += 1
        for person in people:
            num, hid = person.address_number, person.household_id
            answer = answers.get(f"{run}:{num}:care")
            known = answer is not None and answer.code == 0
            care_flags = domain.care_flags_from(answer.data) if known and answer else []
            birth = dt.date.fromisoformat(person.birth_date)
            age = age_on(birth, on)
            cert = domain.current_certification(care.get(num, []), on)
            entry = SupportEntry(
                address_number=num,
                household_id=hid,
                relationship=person.relationship,
                name=person.name,
                address=person.address,
                birth_date=person.birth_date,
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
                answer = answers.get(f"{run}:{member.address_number}:income")
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
        log.info(
            "support list compiled",
            residents=len(entries),
            households=len(support),
            lookups=len(queries),
            read_ms=round((read - started) * 1000, 1),
            lookups_ms=round((looked_up - read) * 1000, 1),
            build_ms=round((time.perf_counter() - looked_up) * 1000, 1),
        )
        return SupportListView(disaster.disaster_id, year, entries, support)
