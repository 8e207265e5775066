"""The pension service's operations: enrolment, contributions, exemptions, claims, events.

Every operation validates its input first (a bad request changes nothing), talks to other
domains only through the registry (``RegistryClient``) under the procedure the access-rights
table allows, and writes its result together with any inbox document in one transaction
(transactional outbox). Request ids sent to the hub are derived from the application or
claim id, so a retried operation asks the same question again and the registry can answer
from its record.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
import structlog
from mynumber.registry.v1 import registry_pb2 as rpb
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.alerts import parse_alert_id, parse_operator_id, recent_alerts
from mynumber_core.calendar import today_jst
from mynumber_core.db import Database
from mynumber_core.facts import MAX_ADDRESS, FormIdentity, parse_birth_date
from mynumber_core.outbox import enqueue
from mynumber_core.payout import HOLD_SHARED, PayoutDecision, PayoutPolicy, mask_account
from mynumber_core.provider import DeliveredEvent, ProvideCall
from mynumber_core.registry_client import RegistryClient
from mynumber_core.rpc_errors import as_domain_error
from services.pension import domain
from services.pension.cards import CardSignature, ClaimCards, check_nonce, claim_message
from services.pension.domain import Category, ExemptionLevel
from services.pension.models import (
    Alert,
    Claim,
    ContributionMonth,
    Enrolment,
    ExemptionApplication,
    OutboxEvent,
    PendingApplication,
    Receipt,
    UsedClaimNonce,
)

log = structlog.get_logger("mynumber.pension")
EXEMPTION = "pension.exemption"
CLAIM = "pension.claim"
INBOX = "inbox.document"
SHARED_ACCOUNT = "shared_payout_account"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class ExemptionView:
    """A recorded exemption decision."""

    application_id: str
    basic_pension_number: str
    fiscal_year: int
    income_year: int
    level: ExemptionLevel
    income: int
    dependents: int
    reason: str
    channel: str
    rejected: bool


@dataclass(frozen=True)
class ClaimView:
    """A recorded claim decision."""

    claim_id: str
    basic_pension_number: str
    approved: bool
    contribution_months: int
    age: int
    annual_amount: int
    reason: str
    account_reference: str
    payout_status: str = ""
    hold_reason: str = ""


@dataclass(frozen=True)
class YearView:
    """Contributions of one fiscal year."""

    fiscal_year: int
    months_paid: int
    months_exempt: int
    amount_paid: int


@dataclass(frozen=True)
class RecordView:
    """Everything the pension service holds about one insured person."""

    basic_pension_number: str
    category: Category
    enrolled_on: dt.date
    contribution_months: int
    years: list[YearView] = field(default_factory=list)
    exemptions: list[ExemptionView] = field(default_factory=list)
    claims: list[ClaimView] = field(default_factory=list)


@dataclass(frozen=True)
class DueItem:
    """One unpaid contribution month as a payable item."""

    item_id: str
    fiscal_year: int
    amount: int
    due_date: dt.date


def _inbox(
    document_type: str, title: tuple[str, str], body: tuple[str, str], reference: str
) -> dict[str, Any]:
    """The payload of an ``inbox.document`` event (see services/pension/README.md)."""
    return {
        "document_type": document_type,
        "title_ja": title[0],
        "title_en": title[1],
        "body_ja": body[0],
        "body_en": body[1],
        "sender": "日本年金機構 (Japan Pension Service)",
        "reference": reference,
    }


class PensionService:
    """The use cases; dependencies are passed in so tests can use fakes."""

    def __init__(
        self,
        db: Database,
        registry: RegistryClient,
        *,
        wake_outbox: Callable[[], None] = lambda: None,
        wake_applications: Callable[[], None] = lambda: None,
        today: Callable[[], dt.date] = today_jst,
        cards: ClaimCards | None = None,
        payout_policy: PayoutPolicy | None = None,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self.db = db
        self.registry = registry
        self.cards = cards
        self.payout_policy = payout_policy or PayoutPolicy()
        self._clock = clock
        self._wake_outbox = wake_outbox
        self._wake_applications = wake_applications
        self._today = today

    # --- enrolment and records --------------------------------------------------------

    def enrol(
        self, identity: FormIdentity, category: int, enrolled_on: str = ""
    ) -> tuple[str, bool]:
        """Link the person, then issue a basic pension number (idempotent per person)."""
        cat = domain.parse_category(category)
        day = domain.parse_date("enrolled_on", enrolled_on, default=self._today())
        if day > self._today():
            raise errors.InvalidInput("enrolled_on must not be in the future")
        if domain.age_on(identity.facts.birth_date, day) < 20 and cat is Category.FIRST:
            raise errors.InvalidInput(
                "category 1 insured must be at least 20 on the enrolment date (国民年金法 7条)"
            )
        token = self.registry.link(identity.my_number, identity.facts)
        for _ in range(3):
            try:
                with self.db.transaction() as session:
                    existing = session.scalars(
                        select(Enrolment).where(Enrolment.token == token)
                    ).first()
                    if existing is not None:
                        return existing.basic_pension_number, True
                    number = domain.generate_basic_pension_number(
                        lambda n: _by_number(session, n) is not None
                    )
                    now = _now()
                    session.add(
                        Enrolment(
                            id=uuid.uuid4().hex,
                            basic_pension_number=number,
                            token=token,
                            category=int(cat),
                            enrolled_on=day,
                            address=identity.facts.address,
                            created_at=now,
                            updated_at=now,
                        )
                    )
                log.info("enrolled", category=int(cat))
                return number, False
            except IntegrityError:
                continue  # a concurrent enrolment of the same person, or a number collision
        raise errors.Conflict("enrolment raced with another request; retry")

    def get_record(self, basic_pension_number: str) -> RecordView:
        """The record behind a basic pension number."""
        number = domain.parse_basic_pension_number(basic_pension_number)
        with self.db.transaction() as session:
            return self._record(session, self._enrolment(session, number))

    def _enrolment(self, session: Session, number: str) -> Enrolment:
        enrolment = _by_number(session, number)
        if enrolment is None:
            raise errors.NotFound("no enrolment has this basic pension number")
        return enrolment

    def _record(self, session: Session, enrolment: Enrolment) -> RecordView:
        paid = session.scalars(
            select(ContributionMonth).where(ContributionMonth.enrolment_id == enrolment.id)
        ).all()
        apps = session.scalars(
            select(ExemptionApplication)
            .where(ExemptionApplication.enrolment_id == enrolment.id)
            .order_by(ExemptionApplication.decided_at)
        ).all()
        claims = session.scalars(
            select(Claim).where(Claim.enrolment_id == enrolment.id).order_by(Claim.filed_at)
        ).all()
        levels = _levels_by_year(apps)
        today = self._today()
        years: dict[int, list[int]] = {}
        amounts: dict[int, int] = {}
        for row in paid:
            years.setdefault(row.fiscal_year, []).append(row.month_index)
            amounts[row.fiscal_year] = amounts.get(row.fiscal_year, 0) + row.amount
        exempt: dict[int, int] = {}
        for fy, level in levels.items():
            if level is ExemptionLevel.FULL:
                scope = domain.months_in_scope(enrolment.enrolled_on, today, fy)
                exempt[fy] = len(set(scope) - set(years.get(fy, [])))
        all_years = sorted(set(years) | set(exempt))
        return RecordView(
            basic_pension_number=enrolment.basic_pension_number,
            category=Category(enrolment.category),
            enrolled_on=enrolment.enrolled_on,
            contribution_months=len(paid) + sum(exempt.values()),
            years=[
                YearView(fy, len(years.get(fy, [])), exempt.get(fy, 0), amounts.get(fy, 0))
                for fy in all_years
            ],
            exemptions=[_exemption_view(a, enrolment.basic_pension_number) for a in apps],
            claims=[_claim_view(c, enrolment.basic_pension_number) for c in claims],
        )

    # --- contributions ----------------------------------------------------------------

    def record_contribution(
        self, basic_pension_number: str, fiscal_year: int, months: int, amount: int, receipt_id: str
    ) -> tuple[int, int, bool]:
        """Mark the first unpaid months of a fiscal year paid; idempotent by receipt id.

        Returns (months paid in that year, qualifying months in total, already recorded).
        """
        number = domain.parse_basic_pension_number(basic_pension_number)
        receipt = domain.parse_key("receipt_id", receipt_id)
        domain.monthly_contribution(fiscal_year)  # the year must have a published rate
        with self.db.transaction() as session:
            enrolment = self._enrolment(session, number)
            previous = session.get(Receipt, receipt)
            if previous is not None:
                if previous.enrolment_id != enrolment.id or previous.fiscal_year != fiscal_year:
                    raise errors.Conflict("receipt_id was already used for another payment")
                return (*self._year_totals(session, enrolment, fiscal_year), True)
            if enrolment.category != Category.FIRST:
                raise errors.FailedPrecondition(
                    "only category 1 insured pay national pension contributions directly"
                )
            level = _levels_by_year(_applications(session, enrolment.id)).get(
                fiscal_year, ExemptionLevel.NONE
            )
            if level is ExemptionLevel.FULL:
                raise errors.FailedPrecondition(
                    f"FY{fiscal_year} is fully exempt; nothing is due for that year"
                )
            rate = domain.reduced_contribution(fiscal_year, level)
            domain.check_contribution(fiscal_year, months, amount, rate)
            open_months = self._open_months(session, enrolment, fiscal_year, future=True)
            if len(open_months) < months:
                raise errors.FailedPrecondition(
                    f"only {len(open_months)} month(s) of FY{fiscal_year} are open for payment"
                )
            now = _now()
            for index in open_months[:months]:
                session.add(
                    ContributionMonth(
                        enrolment_id=enrolment.id,
                        fiscal_year=fiscal_year,
                        month_index=index,
                        amount=rate,
                        source="counter",
                        reference=receipt,
                        recorded_at=now,
                    )
                )
            session.add(
                Receipt(
                    receipt_id=receipt,
                    enrolment_id=enrolment.id,
                    fiscal_year=fiscal_year,
                    months=months,
                    amount=amount,
                    recorded_at=now,
                )
            )
            session.flush()
            return (*self._year_totals(session, enrolment, fiscal_year), False)

    def _year_totals(self, session: Session, enrolment: Enrolment, fy: int) -> tuple[int, int]:
        record = self._record(session, enrolment)
        in_year = next((y.months_paid for y in record.years if y.fiscal_year == fy), 0)
        return in_year, record.contribution_months

    def _open_months(
        self, session: Session, enrolment: Enrolment, fiscal_year: int, *, future: bool
    ) -> list[int]:
        """Unpaid month indices of a fiscal year since enrolment (with ``future``: prepayable)."""
        until = dt.date(fiscal_year + 1, 3, 31) if future else self._today()
        scope = domain.months_in_scope(enrolment.enrolled_on, until, fiscal_year)
        paid = set(
            session.scalars(
                select(ContributionMonth.month_index).where(
                    ContributionMonth.enrolment_id == enrolment.id,
                    ContributionMonth.fiscal_year == fiscal_year,
                )
            ).all()
        )
        return [i for i in scope if i not in paid]

    def amounts_due(self, session: Session, enrolment: Enrolment) -> list[DueItem]:
        """Unpaid contribution months still payable (within the 2-year limit, 時効)."""
        if enrolment.category != Category.FIRST:
            return []
        today = self._today()
        levels = _levels_by_year(_applications(session, enrolment.id))
        items: list[DueItem] = []
        for fy in range(
            domain.fiscal_year_of(enrolment.enrolled_on), domain.fiscal_year_of(today) + 1
        ):
            level = levels.get(fy, ExemptionLevel.NONE)
            if level is ExemptionLevel.FULL:
                continue
            amount = domain.reduced_contribution(fy, level)
            for index in self._open_months(session, enrolment, fy, future=False):
                due = domain.due_date(fy, index)
                if _add_years(due, 2) < today:
                    continue  # the right to collect has lapsed (国民年金法 102条4項)
                items.append(DueItem(domain.month_item_id(fy, index), fy, amount, due))
        return items

    # --- exemption ----------------------------------------------------------------------

    def apply_exemption(
        self, identity: FormIdentity, fiscal_year: int, application_id: str
    ) -> ExemptionView:
        """A counter application: link, look the enrolment up, decide, notify the portal."""
        app_id = domain.parse_key("application_id", application_id)
        self._check_exemption_year(fiscal_year)
        with self.db.transaction() as session:
            done = session.get(ExemptionApplication, app_id)
            if done is not None:
                return self._exemption_result(session, done)
        token = self.registry.link(identity.my_number, identity.facts)
        with self.db.transaction() as session:
            enrolment = session.scalars(select(Enrolment).where(Enrolment.token == token)).first()
            if enrolment is None:
                raise errors.FailedPrecondition(
                    "the applicant is not enrolled in the national pension; enrol first"
                )
            number = enrolment.basic_pension_number
            enrolment_id = enrolment.id
        return self._decide(token, enrolment_id, number, fiscal_year, app_id, "counter")

    def _check_exemption_year(self, fiscal_year: int) -> None:
        current = domain.fiscal_year_of(self._today())
        if not current - 2 <= fiscal_year <= current + 1:
            raise errors.InvalidInput(
                f"fiscal_year must be between FY{current - 2} and FY{current + 1} "
                "(exemptions can be applied for up to two years back)"
            )

    def _decide(
        self,
        token: str,
        enrolment_id: str,
        number: str,
        fiscal_year: int,
        app_id: str,
        channel: str,
    ) -> ExemptionView:
        income_year = fiscal_year - 1
        income = self.registry.query(
            token, "tax", "income", EXEMPTION, f"{app_id}:income", {"year": income_year}
        )
        household = self.registry.query(
            token, "municipality", "household", EXEMPTION, f"{app_id}:household"
        )
        try:
            total = int(income["total_income"])
            social = int(income.get("social_insurance", 0) or 0)
        except (KeyError, TypeError, ValueError):
            raise errors.Unavailable("tax returned an income item without total_income") from None
        test = domain.decide_exemption(
            max(0, total), domain.dependents_in_household(household), max(0, social)
        )
        return self._record_decision(
            enrolment_id, number, token, app_id, fiscal_year, channel, test, rejected=False
        )

    def _record_decision(
        self,
        enrolment_id: str | None,
        number: str,
        token: str,
        app_id: str,
        fiscal_year: int,
        channel: str,
        test: domain.ExemptionTest,
        *,
        rejected: bool,
    ) -> ExemptionView:
        try:
            with self.db.transaction() as session:
                row = ExemptionApplication(
                    application_id=app_id,
                    enrolment_id=enrolment_id,
                    fiscal_year=fiscal_year,
                    income_year=fiscal_year - 1,
                    level=test.level.value,
                    rejected=rejected,
                    income=test.income,
                    dependents=test.dependents,
                    reason=test.reason[:200],
                    channel=channel,
                    decided_at=_now(),
                )
                session.add(row)
                session.flush()
                enqueue(
                    session,
                    OutboxEvent,
                    event_type=INBOX,
                    token=token,
                    procedure=EXEMPTION,
                    payload=_exemption_document(number, fiscal_year, test, rejected, app_id),
                )
                view = _exemption_view(row, number)
        except IntegrityError:
            with self.db.transaction() as session:  # a concurrent retry recorded it first
                existing = session.get(ExemptionApplication, app_id)
                if existing is None:
                    raise
                return self._exemption_result(session, existing)
        log.info("exemption decided", level=test.level.value, channel=channel, rejected=rejected)
        self._wake_outbox()
        return view

    def _exemption_result(self, session: Session, row: ExemptionApplication) -> ExemptionView:
        enrolment = session.get(Enrolment, row.enrolment_id) if row.enrolment_id else None
        return _exemption_view(row, enrolment.basic_pension_number if enrolment else "")

    def accept_portal_application(self, session: Session, event: DeliveredEvent) -> None:
        """Deliver ``application.pension_exemption``: queue it for the decision worker."""
        payload = dict(event.payload)
        fiscal_year = payload.get("fiscal_year")
        if not isinstance(fiscal_year, int):
            raise errors.InvalidInput("application.pension_exemption needs an integer fiscal_year")
        self._check_exemption_year(fiscal_year)
        raw_id = payload.get("application_id") or f"portal-{event.event_id}"
        app_id = domain.parse_key("application_id", str(raw_id)[:64])
        enqueue(
            session,
            PendingApplication,
            event_type=event.event_type,
            token=event.token,
            procedure=EXEMPTION,
            payload={"fiscal_year": fiscal_year, "application_id": app_id},
        )
        self._wake_applications()

    def accept_portal_claim(self, session: Session, event: DeliveredEvent) -> None:
        """Deliver ``application.pension_claim`` (card-signed on the portal): queue it."""
        raw_id = event.payload.get("application_id") or f"portal-{event.event_id}"
        app_id = domain.parse_key("application_id", str(raw_id)[:64])
        enqueue(
            session,
            PendingApplication,
            event_type=event.event_type,
            token=event.token,
            procedure=CLAIM,
            payload={"application_id": app_id},
        )
        self._wake_applications()

    def decide_portal_application(self, row: Any, payload: Mapping[str, Any]) -> None:
        """Worker: decide a queued portal application; transient failures are retried."""
        if getattr(row, "event_type", "") == "application.pension_claim":
            self.decide_portal_claim(row.token, payload)
            return
        token, app_id, fy = row.token, str(payload["application_id"]), int(payload["fiscal_year"])
        with self.db.transaction() as session:
            if session.get(ExemptionApplication, app_id) is not None:
                return
            enrolment = session.scalars(select(Enrolment).where(Enrolment.token == token)).first()
            ident = (enrolment.id, enrolment.basic_pension_number) if enrolment else None
        if ident is None:
            self._reject(
                None,
                "",
                token,
                app_id,
                fy,
                "the applicant is not enrolled in the "
                "national pension; visit a pension office to enrol",
            )
            return
        try:
            self._decide(token, ident[0], ident[1], fy, app_id, "portal")
        except (
            errors.NotFound,
            errors.PermissionDenied,
            errors.FailedPrecondition,
            errors.InvalidInput,
        ) as exc:
            # Permanent: retrying cannot help, so the resident is told why.
            self._reject(ident[0], ident[1], token, app_id, fy, _public_reason(exc))

    def _reject(
        self, enrolment_id: str | None, number: str, token: str, app_id: str, fy: int, reason: str
    ) -> None:
        test = domain.ExemptionTest(ExemptionLevel.NONE, 0, 0, 0, reason)
        self._record_decision(
            enrolment_id, number, token, app_id, fy, "portal", test, rejected=True
        )

    # --- claims -------------------------------------------------------------------------

    def file_claim(
        self,
        basic_pension_number: str,
        claim_id: str,
        card: CardSignature | None = None,
        claim_pin: str = "",
    ) -> ClaimView:
        """A counter claim for the old-age basic pension, signed with the claimant's card.

        The signature must be fresh, valid (card CA, CRL) and made by the claimant's own card,
        and each (card serial, nonce) is accepted once: a replayed signature is refused with
        AlreadyExists and changes nothing. Without a card, an existing claim is only looked
        up. Under protect_claims the claim PIN is checked at the registry. Every card/PIN
        refusal is reported to the claimant's inbox. Eligibility comes from agency data only.
        """
        number = domain.parse_basic_pension_number(basic_pension_number)
        cid = domain.parse_key("claim_id", claim_id)
        pin = _parse_pin(claim_pin)
        with self.db.transaction() as session:
            enrolment = self._enrolment(session, number)
            done = session.get(Claim, cid)
            if done is not None:
                if done.enrolment_id != enrolment.id:
                    raise errors.Conflict("claim_id was already used for another claim")
                if card is None:
                    return _claim_view(done, number)
            token, enrolment_id = enrolment.token, enrolment.id
        try:
            if card is None or not card.certificate_pem or not card.signature:
                raise errors.Unauthenticated(
                    "a pension claim needs the claimant's My Number Card signature over "
                    "action_message('pension_claim', {basic_pension_number, claim_id}, nonce)"
                )
            check_nonce(card.nonce, self._clock())
            if self.cards is None:
                raise errors.Unavailable("card verification is not configured")
            holder = self.cards.holder(card, claim_message(number, cid, card.nonce))
            if holder.token != token:
                raise errors.PermissionDenied("this card does not belong to the claimant")
        except (errors.Unauthenticated, errors.PermissionDenied) as exc:
            self._notify_refused(token, cid, "card")
            raise exc from None
        self._spend_nonce(holder.serial, card.nonce, cid)
        if done is not None:
            with self.db.transaction() as session:
                again = session.get(Claim, cid)
                assert again is not None
                return _claim_view(again, number)
        if pin:
            self._verify_pin(token, pin, cid)
        return self._decide_claim(token, enrolment_id, number, cid, "counter")

    def _spend_nonce(self, serial: str, nonce: str, cid: str) -> None:
        """Record this card signature's nonce; a second use is a replay (AlreadyExists)."""
        try:
            with self.db.transaction() as session:
                session.add(
                    UsedClaimNonce(card_serial=serial, nonce=nonce, claim_id=cid, used_at=_now())
                )
        except IntegrityError:
            log.warning("claim signature replayed")
            raise errors.AlreadyExists(
                "this card signature was already used; sign the claim again with a new nonce"
            ) from None

    def _verify_pin(self, token: str, pin: str, cid: str) -> None:
        try:
            self.registry.registry.VerifyClaimPin(
                rpb.VerifyClaimPinRequest(token=token, pin=pin, procedure=CLAIM)
            )
        except grpc.RpcError as exc:
            error = as_domain_error(exc, "registry")
            if isinstance(error, errors.PermissionDenied | errors.RateLimited):
                self._notify_refused(token, cid, "wrong_pin")
            raise error from None

    def _notify_refused(self, token: str, cid: str, why: str) -> None:
        """Tell the resident a claim in their name was refused (card, lock, PIN)."""
        ja, en = {
            "card": (
                "本人のマイナンバーカードによる署名がありませんでした",
                "it was not signed with your own My Number Card",
            ),
            "locked": ("請求ロック中で暗証番号がありませんでした", "no claim PIN was given"),
            "wrong_pin": ("暗証番号が誤っていました", "the claim PIN was wrong"),
        }[why]
        with self.db.transaction() as session:
            enqueue(
                session,
                OutboxEvent,
                event_type=INBOX,
                token=token,
                procedure=CLAIM,
                payload=_inbox(
                    "pension.claim_refused",
                    ("年金請求を受け付けませんでした", "A pension claim was refused"),
                    (
                        f"あなたの名義の年金請求を受け付けませんでした（{ja}）。お心当たりの"
                        "ない場合は年金事務所にご連絡ください。",
                        f"A pension claim in your name was refused ({en}). If this was not "
                        "you, contact a pension office.",
                    ),
                    cid,
                ),
            )
        log.info("claim refused", reason=why)
        self._wake_outbox()

    def _decide_claim(
        self, token: str, enrolment_id: str, number: str, cid: str, channel: str
    ) -> ClaimView:
        """Decide from agency data (age from the municipality, months from our record), then
        the payout policy; one transaction writes the claim and its inbox document."""
        with self.db.transaction() as session:
            enrolment = session.get(Enrolment, enrolment_id)
            assert enrolment is not None
            months = self._record(session, enrolment).contribution_months
            moved = enrolment.address_changed_at
        try:
            facts = self.registry.query(token, "municipality", "basic_facts", CLAIM, f"{cid}:facts")
        except errors.PermissionDenied as exc:
            if "protect_claims" in exc.message:
                self._notify_refused(token, cid, "locked")
            raise
        try:
            birth = parse_birth_date(str(facts["birth_date"]), today=self._today())
        except (KeyError, errors.InvalidInput):
            raise errors.Unavailable(
                "municipality returned basic facts without a birth date"
            ) from None
        if facts.get("deceased") or facts.get("status") == "deceased":
            raise errors.FailedPrecondition("the municipality records the claimant as deceased")
        test = domain.decide_claim(months, domain.age_on(birth, self._today()))
        account_ref = ""
        decision = PayoutDecision(False)
        if test.approved:
            account = self.registry.query(
                token, "portal", "payout_account", CLAIM, f"{cid}:account"
            )
            account_ref = mask_account(account)
            decision = self.payout_policy.decide(account, {**facts, "address_changed_at": moved})
        try:
            with self.db.transaction() as session:
                row = Claim(
                    claim_id=cid,
                    enrolment_id=enrolment_id,
                    approved=test.approved,
                    contribution_months=test.contribution_months,
                    age=test.age,
                    annual_amount=test.annual_amount,
                    reason=test.reason[:200],
                    account_reference=account_ref,
                    filed_at=_now(),
                    channel=channel,
                    payout_status=("released" if decision.release else "held")
                    if test.approved
                    else "",
                    hold_reason=decision.hold_reason[:200],
                    released_at=_now() if test.approved and decision.release else None,
                )
                session.add(row)
                session.flush()
                if decision.alert:
                    session.add(
                        Alert(
                            id=uuid.uuid4().hex,
                            kind=SHARED_ACCOUNT,
                            basic_pension_number=number,
                            subject=cid,
                            detail=f"claim payment to {account_ref} held: {decision.hold_reason}",
                            created_at=_now(),
                        )
                    )
                enqueue(
                    session,
                    OutboxEvent,
                    event_type=INBOX,
                    token=token,
                    procedure=CLAIM,
                    payload=_claim_document(number, test, account_ref, cid, decision),
                )
                view = _claim_view(row, number)
        except IntegrityError:
            with self.db.transaction() as session:
                existing = session.get(Claim, cid)
                if existing is None:
                    raise
                return _claim_view(existing, number)
        log.info("claim decided", approved=test.approved, held=not decision.release)
        self._wake_outbox()
        return view

    def decide_portal_claim(self, token: str, payload: Mapping[str, Any]) -> None:
        """Worker: a claim the resident filed and signed on the portal."""
        cid = domain.parse_key("claim_id", str(payload["application_id"])[:64])
        with self.db.transaction() as session:
            if session.get(Claim, cid) is not None:
                return
            enrolment = session.scalars(select(Enrolment).where(Enrolment.token == token)).first()
            ident = (enrolment.id, enrolment.basic_pension_number) if enrolment else None
        if ident is None:
            self._notify_not_enrolled(token, cid)
            return
        try:
            self._decide_claim(token, ident[0], ident[1], cid, "portal")
        except errors.PermissionDenied:
            return  # refused by the resident's lock; _decide_claim told them
        except (errors.NotFound, errors.FailedPrecondition, errors.InvalidInput) as exc:
            log.info("portal claim could not be decided", error=type(exc).__name__)
            self._notify_not_enrolled(token, cid, reason=_public_reason(exc))

    def _notify_not_enrolled(self, token: str, cid: str, reason: str = "") -> None:
        reason = reason or "the claimant is not enrolled in the national pension"
        with self.db.transaction() as session:
            enqueue(
                session,
                OutboxEvent,
                event_type=INBOX,
                token=token,
                procedure=CLAIM,
                payload=_inbox(
                    "pension.claim_decision",
                    ("老齢基礎年金の請求について", "Your old-age basic pension claim"),
                    (
                        f"請求を審査できませんでした。理由: {reason}",
                        f"Your claim could not be decided. Reason: {reason}",
                    ),
                    cid,
                ),
            )
        self._wake_outbox()

    def release_held_payments(self) -> tuple[list[ClaimView], int]:
        """The release job: decide every held claim payment again with a fresh look at the
        account. Returns (released, still held)."""
        with self.db.transaction() as session:
            held = [
                (c.claim_id, c.enrolment_id)
                for c in session.scalars(select(Claim).where(Claim.payout_status == "held"))
            ]
        released: list[ClaimView] = []
        still = 0
        for cid, enrolment_id in held:
            with self.db.transaction() as session:
                enrolment = session.get(Enrolment, enrolment_id)
                assert enrolment is not None
                token, moved = enrolment.token, enrolment.address_changed_at
                number = enrolment.basic_pension_number
            try:
                account = self.registry.query(
                    token,
                    "portal",
                    "payout_account",
                    CLAIM,
                    f"{cid}:recheck:{uuid.uuid4().hex[:12]}",
                )
            except (errors.NotFound, errors.PermissionDenied):
                still += 1
                continue
            decision = self.payout_policy.decide(account, {"address_changed_at": moved})
            if decision.hold_code == HOLD_SHARED and self._approved(cid, account):
                # An operator reviewed this shared account: the other holds still apply.
                decision = self.payout_policy.decide(
                    {**account, "shared_with_others": False}, {"address_changed_at": moved}
                )
            with self.db.transaction() as session:
                row = session.get(Claim, cid)
                assert row is not None
                if row.payout_status != "held":
                    continue
                if not decision.release:
                    row.hold_reason = decision.hold_reason[:200]
                    still += 1
                    continue
                row.payout_status, row.released_at, row.hold_reason = "released", _now(), ""
                row.account_reference = mask_account(account)
                test = domain.ClaimTest(
                    True, row.contribution_months, row.age, row.annual_amount, row.reason
                )
                enqueue(
                    session,
                    OutboxEvent,
                    event_type=INBOX,
                    token=token,
                    procedure=CLAIM,
                    payload=_claim_document(number, test, row.account_reference, cid, decision),
                )
                released.append(_claim_view(row, number))
        if released:
            self._wake_outbox()
        return released, still

    def _approved(self, cid: str, account: dict[str, Any]) -> bool:
        """Whether an operator approved this claim's shared account, as it is now."""
        masked = mask_account(account)
        with self.db.transaction() as session:
            return any(
                a.approved_account == masked
                for a in session.scalars(
                    select(Alert).where(
                        Alert.subject == cid,
                        Alert.kind == SHARED_ACCOUNT,
                        Alert.approved_at.is_not(None),
                    )
                )
            )

    def approve_shared_account(
        self, basic_pension_number: str, alert_id: str, operator_id: str
    ) -> Alert:
        """An operator approves a claim payment held for a shared account, after review: who
        and when are recorded; the next release run pays it to the reviewed account (if
        nothing else holds it). Approving again returns the recorded approval."""
        number = domain.parse_basic_pension_number(basic_pension_number)
        aid = parse_alert_id(alert_id)
        operator = parse_operator_id(operator_id)
        with self.db.transaction() as session:
            alert = session.get(Alert, aid)
            if alert is None or alert.basic_pension_number != number:
                raise errors.NotFound("no such alert for this basic pension number")
            if alert.kind != SHARED_ACCOUNT:
                raise errors.FailedPrecondition("only shared-account alerts can be approved")
            if alert.approved_at is not None:
                return alert
            claim = session.get(Claim, alert.subject)
            if claim is None or claim.payout_status != "held":
                raise errors.FailedPrecondition("the claim payment of this alert is not held")
            alert.approved_by, alert.approved_at = operator, _now()
            alert.approved_account = claim.account_reference
            session.flush()
        log.info("shared payout account approved by an operator")
        return alert

    def list_alerts(self, limit: int = 100) -> list[Alert]:
        """Operator alerts, newest first."""
        return recent_alerts(self.db, Alert, limit)

    # --- provider items and events ------------------------------------------------------

    def _enrolment_by_token(self, session: Session, token: str) -> Enrolment:
        enrolment = session.scalars(select(Enrolment).where(Enrolment.token == token)).first()
        if enrolment is None:
            raise errors.NotFound("the pension service holds no record for this person")
        return enrolment

    def provide_pension_record(self, call: ProvideCall) -> dict[str, Any]:
        """Item ``pension_record``."""
        with self.db.transaction() as session:
            record = self._record(session, self._enrolment_by_token(session, call.token))
        return {
            "basic_pension_number": record.basic_pension_number,
            "category": int(record.category),
            "enrolled_on": record.enrolled_on.isoformat(),
            "contribution_months": record.contribution_months,
            "contributions": [
                {
                    "fiscal_year": y.fiscal_year,
                    "months_paid": y.months_paid,
                    "months_exempt": y.months_exempt,
                    "amount_paid": y.amount_paid,
                }
                for y in record.years
            ],
            "exemptions": [
                {
                    "application_id": e.application_id,
                    "fiscal_year": e.fiscal_year,
                    "level": e.level.value,
                    "rejected": e.rejected,
                    "reason": e.reason,
                }
                for e in record.exemptions
            ],
            "claims": [
                {
                    "claim_id": c.claim_id,
                    "approved": c.approved,
                    "annual_amount": c.annual_amount,
                    "reason": c.reason,
                }
                for c in record.claims
            ],
        }

    def provide_amounts_due(self, call: ProvideCall) -> dict[str, Any]:
        """Item ``amounts_due``: unpaid contribution months as payable items."""
        with self.db.transaction() as session:
            items = self.amounts_due(session, self._enrolment_by_token(session, call.token))
        return {
            "items": [
                {
                    "item_id": i.item_id,
                    "description": f"国民年金保険料 {i.item_id[3:]} (pension contribution)",
                    "fiscal_year": i.fiscal_year,
                    "amount": i.amount,
                    "due_date": i.due_date.isoformat(),
                }
                for i in items
            ],
            "total": sum(i.amount for i in items),
        }

    def on_address_changed(self, session: Session, event: DeliveredEvent) -> None:
        """Deliver ``address_changed``: keep the letter address current."""
        address = event.payload.get("address")
        if not isinstance(address, str) or not address.strip():
            raise errors.InvalidInput("address_changed needs the new address in 'address'")
        address = " ".join(address.split())
        if len(address) > MAX_ADDRESS:
            raise errors.InvalidInput(f"address is too long (at most {MAX_ADDRESS} characters)")
        enrolment = session.scalars(select(Enrolment).where(Enrolment.token == event.token)).first()
        if enrolment is None:
            log.info("address change for a person not enrolled; nothing to update")
            return
        enrolment.address = address
        enrolment.updated_at = enrolment.address_changed_at = _now()

    def on_payment(self, session: Session, event: DeliveredEvent) -> None:
        """Deliver ``payment``: mark one contribution month paid (items of other domains skip)."""
        item_id = event.payload.get("item_id")
        if not isinstance(item_id, str) or not item_id.startswith("NP-"):
            log.info("payment for another domain's item; ignored")
            return
        fiscal_year, index = domain.parse_month_item_id(item_id)
        amount = event.payload.get("amount")
        enrolment = self._enrolment_by_token(session, event.token)
        due = {i.item_id: i for i in self.amounts_due(session, enrolment)}
        already = session.scalars(
            select(ContributionMonth).where(
                ContributionMonth.enrolment_id == enrolment.id,
                ContributionMonth.fiscal_year == fiscal_year,
                ContributionMonth.month_index == index,
            )
        ).first()
        if already is not None:
            log.info("payment for a month already paid; ignored")
            return
        item = due.get(item_id)
        if item is None:
            raise errors.FailedPrecondition(f"{item_id} is not a payable contribution month")
        if amount != item.amount:
            raise errors.InvalidInput(f"payment amount must be {item.amount} yen for {item_id}")
        session.add(
            ContributionMonth(
                enrolment_id=enrolment.id,
                fiscal_year=fiscal_year,
                month_index=index,
                amount=item.amount,
                source="portal",
                reference=event.event_id[:64],
                recorded_at=_now(),
            )
        )


# --- helpers ------------------------------------------------------------------------------


def _by_number(session: Session, number: str) -> Enrolment | None:
    return session.scalars(
        select(Enrolment).where(Enrolment.basic_pension_number == number)
    ).first()


def _applications(session: Session, enrolment_id: str) -> list[ExemptionApplication]:
    return list(
        session.scalars(
            select(ExemptionApplication)
            .where(ExemptionApplication.enrolment_id == enrolment_id)
            .order_by(ExemptionApplication.decided_at)
        ).all()
    )


def _levels_by_year(apps: Any) -> dict[int, ExemptionLevel]:
    """The latest decided (not rejected) exemption level per fiscal year."""
    levels: dict[int, ExemptionLevel] = {}
    for app in apps:
        if not app.rejected:
            levels[app.fiscal_year] = ExemptionLevel(app.level)
    return levels


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _public_reason(exc: errors.DomainError) -> str:
    if isinstance(exc, errors.NotFound):
        return (
            "the income or household needed for the decision is not on record "
            "(file a tax return for the previous year, then apply again)"
        )
    if isinstance(exc, errors.PermissionDenied):
        return "the data needed for the decision could not be obtained (access refused)"
    return "the application could not be decided; contact a pension office"


def _exemption_view(row: ExemptionApplication, number: str) -> ExemptionView:
    return ExemptionView(
        application_id=row.application_id,
        basic_pension_number=number,
        fiscal_year=row.fiscal_year,
        income_year=row.income_year,
        level=ExemptionLevel(row.level),
        income=row.income,
        dependents=row.dependents,
        reason=row.reason,
        channel=row.channel,
        rejected=row.rejected,
    )


def _claim_view(row: Claim, number: str) -> ClaimView:
    return ClaimView(
        claim_id=row.claim_id,
        basic_pension_number=number,
        approved=row.approved,
        contribution_months=row.contribution_months,
        age=row.age,
        annual_amount=row.annual_amount,
        reason=row.reason,
        account_reference=row.account_reference,
        payout_status=row.payout_status,
        hold_reason=row.hold_reason,
    )


def _parse_pin(value: str) -> str:
    if value and not (len(value) == 6 and value.isascii() and value.isdigit()):
        raise errors.InvalidInput("claim_pin must be the claimant's 6-digit claim PIN")
    return value


def _exemption_document(
    number: str, fiscal_year: int, test: domain.ExemptionTest, rejected: bool, app_id: str
) -> dict[str, Any]:
    title = (
        f"国民年金保険料免除申請の結果（{fiscal_year}年度）",
        f"Result of your national pension exemption application (FY{fiscal_year})",
    )
    if rejected:
        body = (
            f"申請を審査できませんでした。理由: {test.reason}",
            f"Your application could not be decided. Reason: {test.reason}",
        )
    else:
        level_ja = domain.LEVEL_NAMES_JA[test.level]
        level_en = test.level.value.replace("_", "-")
        body = (
            f"基礎年金番号 {number} の{fiscal_year}年度の申請は「{level_ja}」と決定しました。"
            f"前年所得 {test.income:,}円、扶養親族等 {test.dependents}人。",
            f"Your application for FY{fiscal_year} (basic pension number {number}) was decided: "
            f"{level_en} exemption. Previous-year income {test.income:,} yen, "
            f"{test.dependents} dependant(s). {test.reason}.",
        )
    return _inbox("pension.exemption_decision", title, body, app_id)


def _claim_document(
    number: str,
    test: domain.ClaimTest,
    account_ref: str,
    claim_id: str,
    decision: PayoutDecision | None = None,
) -> dict[str, Any]:
    title = ("老齢基礎年金の請求について", "Your old-age basic pension claim")
    if test.approved and decision is not None and not decision.release:
        body = (
            f"基礎年金番号 {number} の請求を受け付け、年額 {test.annual_amount:,}円の支給を決定"
            f"しましたが、振込を保留しています（{decision.hold_reason}）。お心当たりのない場合は"
            "ご連絡ください。",
            f"Your claim (basic pension number {number}) was approved: {test.annual_amount:,} "
            f"yen a year, but payment is on hold: {decision.hold_reason}. If you did not file "
            "this claim, contact us.",
        )
    elif test.approved:
        body = (
            f"基礎年金番号 {number} の請求を受け付け、年額 {test.annual_amount:,}円の支給を決定"
            f"しました。振込先: {account_ref}。お心当たりのない場合はご連絡ください。",
            f"Your claim (basic pension number {number}) was approved: {test.annual_amount:,} yen "
            f"a year, paid to {account_ref}. If you did not file this claim, contact us.",
        )
    else:
        body = (
            f"基礎年金番号 {number} の請求は支給要件を満たしていません。理由: {test.reason}",
            f"Your claim (basic pension number {number}) does not meet the requirements: "
            f"{test.reason}.",
        )
    return _inbox("pension.claim_decision", title, body, claim_id)
