"""The health insurer's operations: enrol, eligibility, records, notices, items and events.

Every operation validates all of its input before it touches the database or the registry,
so a rejected request changes nothing. Writes that carry an idempotency key take effect once;
a retry returns the first result.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.db import Database
from mynumber_core.facts import BasicFacts
from mynumber_core.keyring import BlindIndex
from mynumber_core.mynumber import validate as validate_my_number
from mynumber_core.outbox import enqueue
from mynumber_core.provider import DeliveredEvent, ProvideCall
from services.health import domain
from services.health.domain import (
    CareFlags,
    ChronicCare,
    CoverageStatus,
    CoverageTerms,
    ExpenseCategory,
    IncomeCategory,
    InsuredNumber,
    InsurerNumber,
    PlanType,
)
from services.health.models import (
    CareFlagsRow,
    Coverage,
    EligibilityCheck,
    IdempotencyKey,
    Insured,
    MedicalExpense,
    OutboxEvent,
    Vaccination,
)

log = structlog.get_logger("mynumber.health")

INSURED_INDEX_PURPOSE = "health/insured_number"
NOTICE_EVENT = "notice"
NOTICE_PROCEDURE = "health.vaccination"
NOTICE_AUDIENCE = ("portal",)


class Registry(Protocol):
    """What the insurer needs from the registry (the real one is ``RegistryClient``)."""

    def link(self, my_number: str, facts: BasicFacts) -> str: ...

    def publish(
        self,
        token: str,
        event_type: str,
        event_id: str,
        payload: Mapping[str, Any],
        *,
        procedure: str,
        audience: Sequence[str] = (),
    ) -> list[str]: ...


# --- commands and results (plain values from the servicer) -------------------------------


@dataclass(frozen=True)
class EnrolCommand:
    """An enrolment as received: raw strings, validated by :meth:`HealthInsurer.enrol`."""

    my_number: str
    name: str
    birth_date: str
    sex: str
    address: str
    insurer_number: str
    plan: PlanType
    symbol: str
    number: str
    branch: str
    valid_from: str
    valid_to: str
    income: IncomeCategory
    idempotency_key: str = ""


@dataclass(frozen=True)
class Enrolled:
    """The result of an enrolment."""

    token: str
    coverage_id: str
    copay_percent: int


@dataclass(frozen=True)
class InsuredRef:
    """A card's insurer number and insured number, as typed by a clinic."""

    insurer_number: str
    symbol: str
    number: str
    branch: str


@dataclass(frozen=True)
class Eligibility:
    """The answer to an eligibility check."""

    status: CoverageStatus
    plan: PlanType
    copay_percent: int
    insurer_number: str
    insured: InsuredNumber
    valid_from: dt.date
    last_day: dt.date | None
    check_id: str
    token: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class _CoverageView:
    row: Coverage
    birth: dt.date

    @property
    def plan(self) -> PlanType:
        return PlanType(self.row.plan)

    @property
    def last_day(self) -> dt.date | None:
        return domain.effective_end(self.plan, self.row.valid_to, self.birth)

    def status(self, on: dt.date) -> CoverageStatus:
        return domain.coverage_status(self.row.valid_from, self.last_day, on)

    def copay(self, on: dt.date) -> int:
        if self.status(on) is not CoverageStatus.ACTIVE:
            return 0
        income = IncomeCategory(self.row.income_category)
        return domain.copay_percent(self.birth, on, self.plan, income)

    def insured(self) -> InsuredNumber:
        return InsuredNumber(self.row.symbol, self.row.number, self.row.branch)

    def as_item(self, on: dt.date) -> dict[str, Any]:
        insured = self.insured()
        return {
            "status": self.status(on).value,
            "plan": self.plan.value,
            "insurer_number": self.row.insurer_number,
            "insured_symbol": insured.symbol,
            "insured_number": insured.number,
            "insured_branch": insured.branch,
            "valid_from": self.row.valid_from.isoformat(),
            "valid_to": self.last_day.isoformat() if self.last_day else None,
            "copay_percent": self.copay(on),
        }


def _select_current(views: Sequence[_CoverageView], on: dt.date) -> _CoverageView | None:
    """The coverage that applies on ``on``; else the latest that ended; else the next one."""
    ordered = sorted(views, key=lambda v: v.row.valid_from)
    for view in ordered:
        if view.status(on) is CoverageStatus.ACTIVE:
            return view
    started = [v for v in ordered if v.row.valid_from <= on]
    if started:
        return started[-1]
    return ordered[0] if ordered else None


class HealthInsurer:
    """The use cases, over one database, a blind index and the registry."""

    def __init__(
        self,
        db: Database,
        blind: BlindIndex,
        registry: Registry,
        *,
        today: Callable[[], dt.date] = dt.date.today,
        wake_relay: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._blind = blind
        self._registry = registry
        self._today = today
        self._wake_relay = wake_relay

    # --- helpers ------------------------------------------------------------------------

    def _insured(self, session: Session, token: str) -> Insured:
        row = session.scalars(select(Insured).where(Insured.token == token)).first()
        if row is None:
            raise errors.NotFound("no insured person has this token; enrol the person first")
        return row

    def _views(self, session: Session, insured: Insured) -> list[_CoverageView]:
        birth = dt.date.fromisoformat(insured.birth_date)
        rows = session.scalars(select(Coverage).where(Coverage.insured_id == insured.id)).all()
        return [_CoverageView(r, birth) for r in rows]

    def _replayed(self, session: Session, scope: str, key: str) -> str | None:
        if not key:
            return None
        return session.scalars(
            select(IdempotencyKey.result_id).where(
                IdempotencyKey.scope == scope, IdempotencyKey.key == key
            )
        ).first()

    def _remember(self, session: Session, scope: str, key: str, result_id: str) -> None:
        if key:
            session.add(
                IdempotencyKey(scope=scope, key=key, result_id=result_id, created_at=_now())
            )

    def _coverage_by_number(
        self, session: Session, insurer: InsurerNumber, insured: InsuredNumber
    ) -> Coverage | None:
        candidates = self._blind.candidates(INSURED_INDEX_PURPOSE, insured.lookup_key(insurer))
        return session.scalars(
            select(Coverage).where(
                Coverage.insurer_number == insurer.value, Coverage.insured_index.in_(candidates)
            )
        ).first()

    # --- enrolment ----------------------------------------------------------------------

    def enrol(self, cmd: EnrolCommand) -> Enrolled:
        """Link through the registry and open a coverage; the number is never stored."""
        key = domain.check_idempotency_key(cmd.idempotency_key)
        my_number = validate_my_number(cmd.my_number)
        facts = BasicFacts.parse(cmd.name, cmd.birth_date, cmd.sex, cmd.address)
        terms = CoverageTerms(
            insurer=InsurerNumber.parse(cmd.insurer_number),
            plan=cmd.plan,
            insured=InsuredNumber.parse(cmd.symbol, cmd.number, cmd.branch),
            valid_from=domain.parse_date("valid_from", cmd.valid_from),
            valid_to=domain.parse_date("valid_to", cmd.valid_to) if cmd.valid_to else None,
            income=cmd.income,
        )
        terms.validate_for(facts.birth_date)
        with self._db.transaction() as session:
            earlier = self._replayed(session, "enrol", key)
            if earlier is not None:
                return self._enrolled(session, earlier)

        token = self._registry.link(my_number, facts)

        with self._db.transaction() as session:
            earlier = self._replayed(session, "enrol", key)
            if earlier is not None:
                return self._enrolled(session, earlier)
            if self._coverage_by_number(session, terms.insurer, terms.insured) is not None:
                raise errors.AlreadyExists(
                    "this insurer number and insured number are already enrolled"
                )
            now = _now()
            insured = session.scalars(select(Insured).where(Insured.token == token)).first()
            if insured is None:
                insured = Insured(
                    id=_new_id(),
                    token=token,
                    birth_date=facts.birth_date.isoformat(),
                    address=facts.address,
                    address_version=0,
                    created_at=now,
                    updated_at=now,
                )
                session.add(insured)
                session.flush()
            new_end = domain.effective_end(terms.plan, terms.valid_to, facts.birth_date)
            for view in self._views(session, insured):
                if domain.periods_overlap(
                    view.row.valid_from, view.last_day, terms.valid_from, new_end
                ):
                    raise errors.FailedPrecondition(
                        "the person already has coverage in this period; end it first "
                        "(valid_to) or start the new coverage after it"
                    )
            coverage = Coverage(
                id=_new_id(),
                insured_id=insured.id,
                insurer_number=terms.insurer.value,
                plan=terms.plan.value,
                insured_index=self._blind.index(
                    INSURED_INDEX_PURPOSE, terms.insured.lookup_key(terms.insurer)
                ),
                symbol=terms.insured.symbol,
                number=terms.insured.number,
                branch=terms.insured.branch,
                valid_from=terms.valid_from,
                valid_to=terms.valid_to,
                income_category=terms.income.value,
                created_at=now,
            )
            session.add(coverage)
            self._remember(session, "enrol", key, coverage.id)
            session.flush()
            result = self._enrolled(session, coverage.id)
        log.info("enrolled", plan=terms.plan.value, coverage_id=result.coverage_id)
        return result

    def _enrolled(self, session: Session, coverage_id: str) -> Enrolled:
        coverage = session.get(Coverage, coverage_id)
        if coverage is None:  # the key's coverage cannot vanish; fail loudly if it did
            raise errors.IntegrityFailure("an enrolment recorded for this key is missing")
        insured = session.get(Insured, coverage.insured_id)
        assert insured is not None
        view = _CoverageView(coverage, dt.date.fromisoformat(insured.birth_date))
        on = max(self._today(), coverage.valid_from)
        copay = domain.copay_percent(
            view.birth, on, view.plan, IncomeCategory(coverage.income_category)
        )
        return Enrolled(insured.token, coverage.id, copay)

    # --- eligibility --------------------------------------------------------------------

    def check_eligibility(
        self, subject: str | InsuredRef, on_date: str, checked_by: str
    ) -> Eligibility:
        """オンライン資格確認 by token or by card numbers; the check is recorded."""
        on = domain.parse_date("on_date", on_date) if on_date else self._today()
        clinic = domain.clean_text("checked_by", checked_by, domain.MAX_CHECKED_BY)
        if isinstance(subject, InsuredRef):
            insurer = InsurerNumber.parse(subject.insurer_number)
            number = InsuredNumber.parse(subject.symbol, subject.number, subject.branch)
            method = "insured_number"
        else:
            token = domain.check_token(subject)
            method = "token"
        with self._db.transaction() as session:
            if isinstance(subject, InsuredRef):
                found = self._coverage_by_number(session, insurer, number)
                if found is None:
                    raise errors.NotFound(
                        "no coverage with this insurer number and insured number; re-check the card"
                    )
                insured = session.get(Insured, found.insured_id)
                assert insured is not None
                view: _CoverageView | None = _CoverageView(
                    found, dt.date.fromisoformat(insured.birth_date)
                )
            else:
                insured = self._insured(session, token)
                view = _select_current(self._views(session, insured), on)
                if view is None:
                    raise errors.NotFound("the person has no coverage with this insurer")
            assert view is not None
            status, copay = view.status(on), view.copay(on)
            check = EligibilityCheck(
                id=_new_id(),
                coverage_id=view.row.id,
                method=method,
                checked_by=clinic,
                on_date=on,
                status=status.value,
                copay_percent=copay,
                checked_at=_now(),
            )
            session.add(check)
            return Eligibility(
                status=status,
                plan=view.plan,
                copay_percent=copay,
                insurer_number=view.row.insurer_number,
                insured=view.insured(),
                valid_from=view.row.valid_from,
                last_day=view.last_day,
                check_id=check.id,
                token=insured.token,
            )

    # --- records ------------------------------------------------------------------------

    def record_medical_expense(
        self,
        token: str,
        date: str,
        provider: str,
        amount_yen: int,
        category: ExpenseCategory,
        idempotency_key: str = "",
    ) -> str:
        """Record what the person paid; the date must fall inside a coverage."""
        token = domain.check_token(token)
        key = domain.check_idempotency_key(idempotency_key)
        day = domain.parse_past_date("date", date, self._today())
        name = domain.clean_text("provider", provider, domain.MAX_PROVIDER)
        amount = domain.check_amount(amount_yen)
        with self._db.transaction() as session:
            earlier = self._replayed(session, "expense", key)
            if earlier is not None:
                return earlier
            insured = self._insured(session, token)
            covered = any(
                v.status(day) is CoverageStatus.ACTIVE for v in self._views(session, insured)
            )
            domain.require(
                covered, "the person had no coverage on that date; the insurer cannot record it"
            )
            row = MedicalExpense(
                id=_new_id(),
                insured_id=insured.id,
                service_date=day,
                provider=name,
                amount_yen=amount,
                category=category.value,
                created_at=_now(),
            )
            session.add(row)
            self._remember(session, "expense", key, row.id)
            return row.id

    def record_vaccination(
        self, token: str, vaccine: str, dose: int, date: str, idempotency_key: str = ""
    ) -> str:
        """Record one dose; the date may not precede birth or lie in the future."""
        token = domain.check_token(token)
        key = domain.check_idempotency_key(idempotency_key)
        code = domain.check_vaccine(vaccine)
        dose = domain.check_dose(dose)
        day = domain.parse_past_date("date", date, self._today())
        with self._db.transaction() as session:
            earlier = self._replayed(session, "vaccination", key)
            if earlier is not None:
                return earlier
            insured = self._insured(session, token)
            if day < dt.date.fromisoformat(insured.birth_date):
                raise errors.InvalidInput("date is before the person's birth date")
            row = Vaccination(
                id=_new_id(),
                insured_id=insured.id,
                vaccine=code,
                dose=dose,
                administered_on=day,
                created_at=_now(),
            )
            session.add(row)
            self._remember(session, "vaccination", key, row.id)
            return row.id

    def set_care_flags(
        self,
        token: str,
        disability_grade: int,
        chronic_care: Sequence[ChronicCare],
        needs_evacuation_assistance: bool,
    ) -> CareFlags:
        """Replace the person's care flags."""
        token = domain.check_token(token)
        flags = CareFlags.build(disability_grade, chronic_care, needs_evacuation_assistance)
        document = json.dumps(flags.as_item(), sort_keys=True)
        with self._db.transaction() as session:
            insured = self._insured(session, token)
            row = session.get(CareFlagsRow, insured.id)
            if row is None:
                session.add(CareFlagsRow(insured_id=insured.id, flags=document, updated_at=_now()))
            else:
                row.flags = document
                row.updated_at = _now()
        return flags

    # --- notices ------------------------------------------------------------------------

    def notify_vaccination_due(
        self, token: str, vaccine: str, due_by: str, idempotency_key: str = ""
    ) -> str:
        """Queue a "vaccination due" notice for the portal (transactional outbox)."""
        token = domain.check_token(token)
        key = domain.check_idempotency_key(idempotency_key)
        code = domain.check_vaccine(vaccine)
        due = domain.parse_date("due_by", due_by)
        if due < self._today():
            raise errors.InvalidInput("due_by is in the past; a notice announces a future date")
        with self._db.transaction() as session:
            earlier = self._replayed(session, "notice", key)
            if earlier is not None:
                return earlier
            self._insured(session, token)
            label = domain.VACCINE_NAMES[code]
            event_id = enqueue(
                session,
                OutboxEvent,
                event_type=NOTICE_EVENT,
                token=token,
                procedure=NOTICE_PROCEDURE,
                payload={
                    "category": "vaccination",
                    "title": f"予防接種のお知らせ（{label}）",
                    "body": (
                        f"{label}の接種時期です。{due.year}年{due.month}月{due.day}日までに"
                        "接種をご検討ください。"
                    ),
                    "vaccine": code,
                    "due_by": due.isoformat(),
                    "issuer": "health",
                },
            )
            self._remember(session, "notice", key, event_id)
        self._wake_relay()
        return event_id

    # --- provider items -----------------------------------------------------------------

    def item_coverage(self, call: ProvideCall) -> dict[str, Any]:
        """``coverage``: the coverage that applies today, and every period held."""
        today = self._today()
        with self._db.transaction() as session:
            insured = self._insured(session, call.token)
            views = self._views(session, insured)
            current = _select_current(views, today)
            return {
                "current": current.as_item(today) if current else None,
                "periods": [
                    v.as_item(today) for v in sorted(views, key=lambda v: v.row.valid_from)
                ],
            }

    def item_medical_expenses(self, call: ProvideCall) -> dict[str, Any]:
        """``medical_expenses`` (params: year): the calendar year's total and visits."""
        year = domain.check_year(call.params.get("year"), self._today())
        with self._db.transaction() as session:
            insured = self._insured(session, call.token)
            rows = session.scalars(
                select(MedicalExpense).where(
                    MedicalExpense.insured_id == insured.id,
                    MedicalExpense.service_date >= dt.date(year, 1, 1),
                    MedicalExpense.service_date <= dt.date(year, 12, 31),
                )
            ).all()
            expenses = [
                domain.Expense(
                    r.service_date, r.provider, r.amount_yen, ExpenseCategory(r.category)
                )
                for r in rows
            ]
        return domain.expense_summary(year, expenses)

    def item_care_flags(self, call: ProvideCall) -> dict[str, Any]:
        """``care_flags``: disability grade, chronic-care needs, evacuation assistance."""
        with self._db.transaction() as session:
            insured = self._insured(session, call.token)
            row = session.get(CareFlagsRow, insured.id)
            if row is None:
                return domain.NO_CARE_FLAGS.as_item()
            return dict(json.loads(row.flags))

    def item_vaccinations(self, call: ProvideCall) -> dict[str, Any]:
        """``vaccinations``: every recorded dose, oldest first."""
        with self._db.transaction() as session:
            insured = self._insured(session, call.token)
            rows = session.scalars(
                select(Vaccination)
                .where(Vaccination.insured_id == insured.id)
                .order_by(Vaccination.administered_on, Vaccination.dose)
            ).all()
            return {
                "vaccinations": [
                    {
                        "vaccine": r.vaccine,
                        "name": domain.VACCINE_NAMES.get(r.vaccine, r.vaccine),
                        "dose": r.dose,
                        "date": r.administered_on.isoformat(),
                    }
                    for r in rows
                ]
            }

    # --- events -------------------------------------------------------------------------

    def on_address_changed(self, session: Session, event: DeliveredEvent) -> None:
        """Keep the insured person's mailing address current (moving one-stop)."""
        raw = event.payload.get("address", event.payload.get("new_address"))
        if not isinstance(raw, str):
            raise errors.InvalidInput("address_changed needs an 'address' text field")
        address = domain.clean_text("address", raw, 200)
        insured = session.scalars(select(Insured).where(Insured.token == event.token)).first()
        if insured is None:
            # Linked at the registry but never enrolled here (e.g. an enrolment that failed
            # after linking): nothing to update, and retrying would not change that.
            log.info("address change for a person without coverage ignored")
            return
        insured.address = address
        insured.address_version += 1
        insured.updated_at = _now()
