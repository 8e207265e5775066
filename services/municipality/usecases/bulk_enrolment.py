"""Bulk enrolment (EnrolResidents): many residents who already hold a number, in one call
(issue 10, item 5).

Each record is validated on its own (the number, the form as for EnrolResident); the valid
ones are linked with ``Registry.LinkBatch`` (one call per 1,000; the registry checks all four
facts per record), and every linked person not yet on the register gets a row and a new
household of which they are the 世帯主, in one transaction (set-based: one read of the tokens
already on the register, one of the address and household numbers already taken, one insert
per table). A record that fails is answered with its own error and changes nothing here.

Idempotent without keys: a resident already on the register under their token is answered
with their address and household numbers and ``already_enrolled`` (a retried batch); a
number given twice in one call is refused at its second record. One who moved out or died
is refused for this record: their return is a move-in (EnrolResident with the previous
address), which tells every agency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import insert

from mynumber_core import bulk_link, errors, mynumber
from services.municipality import domain
from services.municipality.models import Household, Resident
from services.municipality.usecases import records
from services.municipality.usecases.context import Context

log = structlog.get_logger("mynumber.municipality")


@dataclass(frozen=True)
class Enrolled:
    """One enrolled resident: their numbers, and whether they were on the register before."""

    address_number: str
    household_id: str
    already: bool


@dataclass(frozen=True)
class _Linked:
    position: int
    token: str
    data: domain.ResidentInput


class BulkEnrolment:
    """EnrolResidents: see the module docstring."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def enrol_many(
        self, forms: Sequence[tuple[str, domain.ResidentForm] | errors.InvalidInput]
    ) -> list[Enrolled | errors.DomainError]:
        """One answer per (number, form) record, in order; a record the adapter could not
        read is passed as its InvalidInput and answered with it."""
        bulk_link.check_size(len(forms), "EnrolResidents")
        answers: list[Enrolled | errors.DomainError | None] = [None] * len(forms)
        valid: list[tuple[int, str, domain.ResidentInput]] = []
        today = self._ctx.today()
        for i, record in enumerate(forms):
            try:
                if isinstance(record, errors.InvalidInput):
                    raise record
                number, form = record
                valid.append((i, mynumber.validate(number), form.parse(today)))
            except errors.InvalidInput as exc:
                answers[i] = bulk_link.record_error(i, exc)
        repeated = bulk_link.repeats([(i, number) for i, number, _ in valid])
        for i, error in repeated.items():
            answers[i] = error
        valid = [v for v in valid if v[0] not in repeated]
        outcomes = bulk_link.link_in_slices(
            self._ctx.registry, [(number, data.facts) for _, number, data in valid]
        )
        linked: list[_Linked] = []
        for (i, _, data), outcome in zip(valid, outcomes, strict=True):
            if outcome.linked:
                linked.append(_Linked(i, outcome.token, data))
            else:
                answers[i] = bulk_link.outcome_error(i, outcome)
        answers_by_position = self._store(linked)
        for i, answer in answers_by_position.items():
            answers[i] = answer
        fresh = sum(1 for a in answers if isinstance(a, Enrolled) and not a.already)
        log.info("residents enrolled in bulk", records=len(forms), new=fresh)
        return bulk_link.in_order(answers)

    def _store(self, linked: Sequence[_Linked]) -> dict[int, Enrolled | errors.DomainError]:
        """Rows for the linked residents not on the register yet (a concurrent enrolment or a
        number collision retries the whole transaction)."""
        if not linked:
            return {}
        ctx = self._ctx

        def once() -> dict[int, Enrolled | errors.DomainError]:
            out: dict[int, Enrolled | errors.DomainError] = {}
            with ctx.db.transaction() as session:
                known = {
                    token: (number, household, status)
                    for token, number, household, status in bulk_link.rows_in(
                        session,
                        Resident.token,
                        [r.token for r in linked],
                        Resident.token,
                        Resident.address_number,
                        Resident.household_id,
                        Resident.status,
                    )
                }
                new = [r for r in linked if r.token not in known]
                numbers = bulk_link.fresh_values(
                    session,
                    Resident.address_number,
                    len(new),
                    lambda: domain.draw_local_id(domain.ADDRESS_NUMBER_LENGTH),
                )
                households = bulk_link.fresh_values(
                    session,
                    Household.household_id,
                    len(new),
                    lambda: domain.draw_local_id(domain.HOUSEHOLD_ID_LENGTH),
                )
                if new:
                    now = ctx.clock()
                    session.execute(
                        insert(Household),
                        [{"household_id": h, "created_at": now} for h in households],
                    )
                    session.execute(
                        insert(Resident),
                        [
                            {
                                "address_number": number,
                                "token": r.token,
                                "household_id": household,
                                "relationship": domain.HOUSEHOLDER,
                                **records.resident_values(ctx, r.data),
                                "status": domain.ResidentStatus.RESIDENT.value,
                                "status_date": None,
                                "move_out_destination": None,
                                "created_at": now,
                                "updated_at": now,
                            }
                            for r, number, household in zip(new, numbers, households, strict=True)
                        ],
                    )
            issued = {
                r.token: (number, household)
                for r, number, household in zip(new, numbers, households, strict=True)
            }
            for r in linked:
                if r.token in known:
                    number, household, status = known[r.token]
                    if status != domain.ResidentStatus.RESIDENT.value:
                        out[r.position] = bulk_link.record_error(
                            r.position,
                            errors.FailedPrecondition(
                                "this person moved out or died; a return is a move-in "
                                "(EnrolResident with the previous address)"
                            ),
                        )
                        continue
                    out[r.position] = Enrolled(number, household, True)
                else:
                    number, household = issued[r.token]
                    out[r.position] = Enrolled(number, household, False)
            return out

        return bulk_link.retry_on_conflict(
            once, "enrolment raced with another request; send the batch again"
        )
