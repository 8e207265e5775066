"""Bulk enrolment (EnrolMembers): many members in one call (issue 10, item 5).

Each record is validated on its own, as Enrol validates (the number, the four facts, the
coverage terms against the person's age); the valid ones are linked with
``Registry.LinkBatch`` (one call per 1,000; the registry checks all four facts per record),
and the coverages are opened in one transaction (set-based: one read of the insured numbers
already enrolled, one of the people already insured, one of their coverages, one insert per
table). A record that fails is answered with its own error and changes nothing here.

Idempotent without keys: a member already enrolled under the same insurer and insured number
is answered with that coverage and ``already_enrolled`` (a retried batch). An insured number
held by someone else is ALREADY_EXISTS for that record, a period that overlaps the person's
other coverage FAILED_PRECONDITION, as in Enrol. Records carry no idempotency key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert

from mynumber_core import bulk_link, errors
from mynumber_core.facts import BasicFacts
from services.health import domain
from services.health.domain import CoverageTerms, IncomeCategory
from services.health.models import Coverage, Insured
from services.health.usecases import records
from services.health.usecases.context import INSURED_INDEX_PURPOSE, Context
from services.health.usecases.enrolment import EnrolCommand, Enrolled, log, parse_command


@dataclass(frozen=True)
class Member:
    """One member's enrolment: as Enrol answers, and whether it existed before."""

    enrolled: Enrolled
    already: bool


@dataclass(frozen=True)
class _Linked:
    position: int
    token: str
    facts: BasicFacts
    terms: CoverageTerms

    def end(self) -> dt.date | None:
        return domain.effective_end(self.terms.plan, self.terms.valid_to, self.facts.birth_date)


@dataclass
class _Period:
    """A coverage period the person holds (stored, or opened earlier in this call)."""

    valid_from: dt.date
    last_day: dt.date | None


class BulkEnrolment:
    """EnrolMembers: see the module docstring."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def enrol_many(
        self, commands: Sequence[EnrolCommand | errors.InvalidInput]
    ) -> list[Member | errors.DomainError]:
        """One answer per command, in order; a record the adapter could not read is passed as
        its InvalidInput and answered with it."""
        bulk_link.check_size(len(commands), "EnrolMembers")
        answers: list[Member | errors.DomainError | None] = [None] * len(commands)
        valid: list[tuple[int, str, BasicFacts, CoverageTerms]] = []
        for i, cmd in enumerate(commands):
            try:
                if isinstance(cmd, errors.InvalidInput):
                    raise cmd
                if cmd.idempotency_key:
                    raise errors.InvalidInput(
                        "EnrolMembers takes no idempotency_key: a repeat is recognised by its "
                        "insurer and insured number"
                    )
                valid.append((i, *parse_command(cmd)))
            except errors.InvalidInput as exc:
                answers[i] = bulk_link.record_error(i, exc)
        repeated = bulk_link.repeats([(i, number) for i, number, _, _ in valid])
        answers = [repeated.get(i, a) for i, a in enumerate(answers)]
        valid = [v for v in valid if v[0] not in repeated]
        outcomes = bulk_link.link_in_slices(
            self._ctx.registry, [(number, facts) for _, number, facts, _ in valid]
        )
        linked: list[_Linked] = []
        for (i, _, facts, terms), outcome in zip(valid, outcomes, strict=True):
            if outcome.linked:
                linked.append(_Linked(i, outcome.token, facts, terms))
            else:
                answers[i] = bulk_link.outcome_error(i, outcome)
        for i, answer in self._store(linked).items():
            answers[i] = answer
        fresh = sum(1 for a in answers if isinstance(a, Member) and not a.already)
        log.info("members enrolled in bulk", records=len(commands), new=fresh)
        return bulk_link.in_order(answers)

    def _copay(self, birth: dt.date, coverage: Coverage) -> int:
        on = max(self._ctx.today(), coverage.valid_from)
        return domain.copay_percent(
            birth, on, domain.PlanType(coverage.plan), IncomeCategory(coverage.income_category)
        )

    def _store(self, linked: Sequence[_Linked]) -> dict[int, Member | errors.DomainError]:
        """Open the coverages of the linked records (a concurrent enrolment retries the whole
        transaction)."""
        if not linked:
            return {}
        return bulk_link.retry_on_conflict(
            lambda: self._store_once(linked),
            "enrolment raced with another request; send the batch again",
        )

    def _store_once(self, linked: Sequence[_Linked]) -> dict[int, Member | errors.DomainError]:
        ctx = self._ctx
        blind = ctx.blind
        keys = {
            r.position: r.terms.insured.lookup_key(r.terms.insurer) for r in linked
        }  # the blind index's input per record
        out: dict[int, Member | errors.DomainError] = {}
        with ctx.db.transaction() as session:
            candidates = {
                r.position: blind.candidates(INSURED_INDEX_PURPOSE, keys[r.position])
                for r in linked
            }
            taken: dict[str, Coverage] = {
                c.insured_index: c
                for c in bulk_link.rows_in(
                    session,
                    Coverage.insured_index,
                    [value for values in candidates.values() for value in values],
                )
            }
            insured = {
                row.token: row
                for row in bulk_link.rows_in(session, Insured.token, [r.token for r in linked])
            }
            by_id = {row.id: row for row in insured.values()}
            periods: dict[str, list[_Period]] = {}
            for c in bulk_link.rows_in(session, Coverage.insured_id, list(by_id)):
                holder = by_id[c.insured_id]
                birth = dt.date.fromisoformat(holder.birth_date)
                periods.setdefault(holder.token, []).append(
                    _Period(
                        c.valid_from,
                        domain.effective_end(domain.PlanType(c.plan), c.valid_to, birth),
                    )
                )
            owner = {c.insured_id: by_id[c.insured_id].token for c in taken.values()}
            now = ctx.clock()
            new_insured: list[dict[str, object]] = []
            new_coverages: list[dict[str, object]] = []
            opened: set[str] = set()  # the blind index inputs opened in this call
            for r in linked:
                i = r.position
                existing = next(
                    (
                        taken[v]
                        for v in candidates[i]
                        if v in taken and taken[v].insurer_number == r.terms.insurer.value
                    ),
                    None,
                )
                if existing is not None:
                    if owner.get(existing.insured_id) == r.token:
                        out[i] = Member(
                            Enrolled(
                                r.token,
                                existing.id,
                                self._copay(r.facts.birth_date, existing),
                            ),
                            True,
                        )
                    else:
                        out[i] = bulk_link.record_error(
                            i,
                            errors.AlreadyExists(
                                "this insurer number and insured number are already enrolled"
                            ),
                        )
                    continue
                if keys[i] in opened:
                    out[i] = bulk_link.record_error(
                        i,
                        errors.AlreadyExists(
                            "this insurer number and insured number are in an earlier record"
                        ),
                    )
                    continue
                held = periods.setdefault(r.token, [])
                end = r.end()
                if any(
                    domain.periods_overlap(p.valid_from, p.last_day, r.terms.valid_from, end)
                    for p in held
                ):
                    out[i] = bulk_link.record_error(
                        i,
                        errors.FailedPrecondition(
                            "the person already has coverage in this period; end it first "
                            "(valid_to) or start the new coverage after it"
                        ),
                    )
                    continue
                person = insured.get(r.token)
                if person is None:
                    person = Insured(
                        id=records.new_id(),
                        token=r.token,
                        birth_date=r.facts.birth_date.isoformat(),
                        address=r.facts.address,
                    )
                    insured[r.token] = person
                    new_insured.append(
                        {
                            "id": person.id,
                            "token": r.token,
                            "birth_date": person.birth_date,
                            "address": person.address,
                            "address_version": 0,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                coverage = Coverage(
                    id=records.new_id(),
                    insured_id=person.id,
                    insurer_number=r.terms.insurer.value,
                    plan=r.terms.plan.value,
                    valid_from=r.terms.valid_from,
                    income_category=r.terms.income.value,
                )
                new_coverages.append(
                    {
                        "id": coverage.id,
                        "insured_id": person.id,
                        "insurer_number": coverage.insurer_number,
                        "plan": coverage.plan,
                        "insured_index": blind.index(INSURED_INDEX_PURPOSE, keys[i]),
                        "symbol": r.terms.insured.symbol,
                        "number": r.terms.insured.number,
                        "branch": r.terms.insured.branch,
                        "valid_from": r.terms.valid_from,
                        "valid_to": r.terms.valid_to,
                        "income_category": coverage.income_category,
                        "created_at": now,
                    }
                )
                held.append(_Period(r.terms.valid_from, end))
                opened.add(keys[i])
                out[i] = Member(
                    Enrolled(r.token, coverage.id, self._copay(r.facts.birth_date, coverage)),
                    False,
                )
            if new_insured:
                session.execute(insert(Insured), new_insured)
            if new_coverages:
                session.execute(insert(Coverage), new_coverages)
        return out
