"""The resident decides on a lost pension record that may be theirs (issue 13 item 3).

After :mod:`.orphans` has kept the registry's candidates, a record with one likely candidate
becomes a notice and an inbox document on that resident's portal ("a pension record that may
be yours"). It names the record number, the period, the employer (or municipality) and the
months paid — never the record's name, kana, birth date or sex, which could be someone
else's. For a candidate who has not linked pension (a ``notify:`` reference) the registry
delivers the notice and answers pension's own token for them (:class:`CandidateDelivery`).

The portal lists the resident's candidate records through the hub (item
``candidate_records``, answered here for the asking token only) and sends the resident's
card-signed decision as a ``pension_record.decision`` event:

- **confirm**: the record is merged into the resident's contribution history (it counts in
  ``contribution_months`` and the benefit estimate of their ``pension_record``, and in a
  later claim); the decision goes to their inbox;
- **reject**: recorded; the record goes back to the pool and this resident is not proposed
  again; nothing is added to their record (their inbox says the rejection was recorded).

Operators decide the review queue (several close candidates): assign the record to one
candidate (who is then notified like a single likely match) or dismiss it (back to the pool,
these candidates not proposed again).

Why about 430 lines: proposing, the resident's decision and the operator's decision are one
state machine over the same candidate rows (proposed → confirmed, rejected or back to the
pool), so they change together; finding candidates is in :mod:`.orphans`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.outbox import OutboxRow, enqueue
from mynumber_core.provider import DeliveredEvent, ProvideCall
from services.pension import domain
from services.pension.models import Enrolment, OrphanCandidate, OrphanRecord, OutboxEvent
from services.pension.usecases.context import PensionContext, inbox_document, log
from services.pension.usecases.enrolment import Enrolments

PROCEDURE = "pension.record_reconciliation"
DECISION_EVENT = "pension_record.decision"
NOTICE_CATEGORY = "pension.record_match"
DECISION_CATEGORY = "pension.record_decision"
NOTIFY_PREFIX = "notify:"
DECISIONS = ("confirm", "reject")
SHOWN_STATUSES = ("notified", "confirmed", "rejected")
"""Candidate statuses the resident sees (an ``open`` one is not notified yet)."""
_RECORD_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_OPERATOR_ID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def parse_record_id(value: Any) -> str:
    """A record number as pension writes them: 1 to 32 letters, digits, '-' or '_'."""
    if not isinstance(value, str) or not _RECORD_ID.fullmatch(value):
        raise errors.InvalidInput(
            "record_id must be 1 to 32 letters, digits, '-' or '_' (as the notice shows it)"
        )
    return value


def parse_decision(value: Any) -> str:
    """``confirm`` or ``reject``."""
    if value not in DECISIONS:
        raise errors.InvalidInput("decision must be 'confirm' or 'reject'")
    return str(value)


def parse_operator_id(value: Any) -> str:
    """Who decided a review item: 1 to 64 letters, digits, '.', '@', '_' or '-'."""
    if not isinstance(value, str) or not _OPERATOR_ID.fullmatch(value):
        raise errors.InvalidInput(
            "operator_id must be 1 to 64 letters, digits, '.', '@', '_' or '-' (who decides)"
        )
    return value


def _what(record: OrphanRecord) -> tuple[str, str]:
    """The record as the resident may see it (ja, en): period, employer, months. Nothing
    that could identify the person who wrote it."""
    return (
        f"記録番号 {record.record_id}：{record.period_start}〜{record.period_end}、"
        f"{record.employer}、納付 {record.months}か月",
        f"record {record.record_id}: {record.period_start} to {record.period_end}, "
        f"{record.employer}, {record.months} months paid",
    )


def notice_document(record: OrphanRecord) -> dict[str, Any]:
    """The "a pension record that may be yours" notice (and inbox document)."""
    ja, en = _what(record)
    return inbox_document(
        NOTICE_CATEGORY,
        ("あなたのものかもしれない年金記録があります", "A pension record that may be yours"),
        (
            f"持ち主のわからない年金記録のうち、あなたのものかもしれない記録が見つかりました"
            f"（{ja}）。マイナポータルの「年金記録の確認」(/pension/records) で、マイナンバー"
            "カードの署名により「自分の記録です」または「自分の記録ではありません」を選んで"
            "ください。",
            f"Among the pension records nobody could be found for, one may be yours ({en}). "
            "On the portal's 'Pension records' page (/pension/records), confirm or reject it "
            "with your My Number Card.",
        ),
        record.record_id,
    )


class NoticeDelivery(Protocol):
    """The registry's delivery of a notice to a ``notify:`` reference (RegistryClient)."""

    def deliver_candidate_notice(
        self,
        reference: str,
        event_type: str,
        event_id: str,
        payload: Mapping[str, Any],
        *,
        procedure: str,
    ) -> str:
        """Deliver through the registry; returns pension's own token for the resident."""
        ...


class CandidateDelivery:
    """The outbox relay's delivery for pension: a row addressed to a ``notify:`` reference
    goes through the registry's ``DeliverCandidateNotice``, which answers pension's token
    for the resident, kept in place of the reference; any other row is published through the
    hub as before."""

    def __init__(
        self,
        db: Any,
        registry: NoticeDelivery,
        publish: Callable[[OutboxRow, dict[str, Any]], None],
    ) -> None:
        self._db = db
        self._registry = registry
        self._publish = publish

    def __call__(self, row: OutboxRow, payload: dict[str, Any]) -> None:
        """Deliver one outbox row."""
        if not row.token.startswith(NOTIFY_PREFIX):
            self._publish(row, payload)
            return
        token = self._registry.deliver_candidate_notice(
            row.token[len(NOTIFY_PREFIX) :],
            row.event_type,
            row.id,
            payload,
            procedure=row.procedure,
        )
        with self._db.transaction() as session:
            for candidate in session.scalars(
                select(OrphanCandidate).where(OrphanCandidate.candidate_ref == row.token)
            ):
                candidate.candidate_ref = token


@dataclass(frozen=True)
class CandidateRecordView:
    """One candidate record as its resident sees it."""

    record_id: str
    period_start: str
    period_end: str
    employer: str
    months: int
    status: str


@dataclass(frozen=True)
class ReviewItemView:
    """A record in the operator review queue with its candidates (numbered from 1, best
    first: (probability, agreeing fields)); candidates' tokens are not shown."""

    record_id: str
    period_start: str
    period_end: str
    employer: str
    months: int
    candidates: list[tuple[float, tuple[str, ...]]]


def queue_notices(session: Session, record: OrphanRecord, candidate: OrphanCandidate) -> None:
    """In the caller's transaction: the notice and the inbox document for ``candidate``
    about ``record`` (delivered by the outbox relay); the candidate becomes ``notified``."""
    document = notice_document(record)
    for event_type in ("notice", "inbox.document"):
        enqueue(
            session,
            OutboxEvent,
            event_type=event_type,
            token=candidate.candidate_ref,
            procedure=PROCEDURE,
            payload=document,
        )
    candidate.status = "notified"


def merged_months(session: Session, token: str) -> int:
    """Months of the records the resident behind ``token`` confirmed."""
    return sum(
        session.scalars(
            select(OrphanRecord.months).where(
                OrphanRecord.merged_token == token, OrphanRecord.status == "merged"
            )
        )
    )


class RecordMatches:
    """The resident's candidate records and decisions; the operator review decisions."""

    def __init__(self, ctx: PensionContext, enrolments: Enrolments) -> None:
        self.ctx = ctx
        self.enrolments = enrolments

    # ----------------------------------------------------------------- the resident

    def candidate_records(self, token: str) -> list[CandidateRecordView]:
        """The records proposed to the resident behind ``token`` (newest decisions last)."""
        with self.ctx.db.transaction() as session:
            rows = session.execute(
                select(OrphanRecord, OrphanCandidate.status)
                .join(OrphanCandidate, OrphanCandidate.record_id == OrphanRecord.record_id)
                .where(
                    OrphanCandidate.candidate_ref == token,
                    OrphanCandidate.status.in_(SHOWN_STATUSES),
                )
                .order_by(OrphanRecord.period_start, OrphanRecord.record_id)
            ).all()
            return [
                CandidateRecordView(
                    r.record_id, r.period_start, r.period_end, r.employer, r.months, status
                )
                for r, status in rows
            ]

    def provide_candidate_records(self, call: ProvideCall) -> dict[str, Any]:
        """Item ``candidate_records``: the asking resident's own candidate records only."""
        return {
            "records": [
                {
                    "record_id": v.record_id,
                    "period_start": v.period_start,
                    "period_end": v.period_end,
                    "employer": v.employer,
                    "months": v.months,
                    "status": v.status,
                }
                for v in self.candidate_records(call.token)
            ]
        }

    def on_decision(self, session: Session, event: DeliveredEvent) -> None:
        """Event ``pension_record.decision`` from the portal (the resident signed it with
        their card there): confirm merges, reject returns the record to the pool. A
        decision on a record that is not this resident's open candidate changes nothing
        and is answered in their inbox."""
        try:
            record_id = parse_record_id(event.payload.get("record_id"))
            decision = parse_decision(event.payload.get("decision"))
        except errors.InvalidInput:
            log.info("record decision refused", reason="bad payload")
            raise
        candidate = session.scalars(
            select(OrphanCandidate).where(
                OrphanCandidate.record_id == record_id,
                OrphanCandidate.candidate_ref == event.token,
            )
        ).first()
        record = session.get(OrphanRecord, record_id)
        if candidate is None or record is None or candidate.status != "notified":
            log.info("record decision not applicable", status=candidate and candidate.status)
            self._send(
                session,
                event.token,
                ("年金記録の確認について", "Your decision on a pension record"),
                (
                    f"記録番号 {record_id} について、確認待ちの記録が見つからなかったため、"
                    "何も変更していません。",
                    f"No record {record_id} is waiting for your decision, so nothing was changed.",
                ),
                record_id,
            )
            return
        now = self.ctx.clock()
        candidate.decided_at, candidate.decided_by = now, "resident"
        record.updated_at = now
        ja, en = _what(record)
        if decision == "reject":
            candidate.status = "rejected"
            record.status = "pool"
            log.info("record rejected by the resident")
            self._send(
                session,
                event.token,
                ("年金記録の確認について", "Your decision on a pension record"),
                (
                    f"「自分の記録ではありません」とのお返事を記録しました（{ja}）。この記録は"
                    "あなたの年金記録には加えていません。",
                    f"We recorded that this record is not yours ({en}). Nothing was added "
                    "to your pension record.",
                ),
                record_id,
            )
            return
        candidate.status = "confirmed"
        for other in session.scalars(
            select(OrphanCandidate).where(
                OrphanCandidate.record_id == record_id, OrphanCandidate.id != candidate.id
            )
        ):
            if other.status in ("open", "notified", "review"):
                other.status, other.decided_at = "closed", now
        enrolment = session.scalars(select(Enrolment).where(Enrolment.token == event.token)).first()
        record.status = "merged"
        record.merged_token = event.token
        record.merged_into = enrolment.id if enrolment is not None else None
        session.flush()
        months = (
            self.enrolments.record(session, enrolment).contribution_months
            if enrolment is not None
            else merged_months(session, event.token)
        )
        log.info("record merged", months=record.months)
        self._send(
            session,
            event.token,
            ("年金記録を統合しました", "A pension record was merged into yours"),
            (
                f"「自分の記録です」とのお返事により、記録をあなたの年金記録に統合しました"
                f"（{ja}）。保険料納付済期間は {months}か月、老齢基礎年金の見込額は年額 "
                f"{domain.estimated_annual_amount(months):,}円になりました。",
                f"As you confirmed, the record was merged into your pension record ({en}). "
                f"Your contribution months are now {months}; the estimated old-age basic "
                f"pension is {domain.estimated_annual_amount(months):,} yen a year.",
            ),
            record_id,
        )

    def _send(
        self,
        session: Session,
        token: str,
        title: tuple[str, str],
        body: tuple[str, str],
        record_id: str,
    ) -> None:
        enqueue(
            session,
            OutboxEvent,
            event_type="inbox.document",
            token=token,
            procedure=PROCEDURE,
            payload=inbox_document(DECISION_CATEGORY, title, body, record_id),
        )
        self.ctx.wake_outbox()

    # ----------------------------------------------------------------- operators

    def review_queue(self) -> list[ReviewItemView]:
        """Records with several close candidates, oldest first."""
        with self.ctx.db.transaction() as session:
            records = session.scalars(
                select(OrphanRecord)
                .where(OrphanRecord.status == "review")
                .order_by(OrphanRecord.updated_at, OrphanRecord.record_id)
            ).all()
            items = []
            for r in records:
                candidates = self._review_candidates(session, r.record_id)
                items.append(
                    ReviewItemView(
                        r.record_id,
                        r.period_start,
                        r.period_end,
                        r.employer,
                        r.months,
                        [
                            (c.probability, tuple(filter(None, c.agreeing.split(","))))
                            for c in candidates
                        ],
                    )
                )
            return items

    @staticmethod
    def _review_candidates(session: Session, record_id: str) -> list[OrphanCandidate]:
        return list(
            session.scalars(
                select(OrphanCandidate)
                .where(OrphanCandidate.record_id == record_id, OrphanCandidate.status == "review")
                .order_by(OrphanCandidate.probability.desc(), OrphanCandidate.id)
            )
        )

    def decide_review(self, record_id: str, assign_to: int, dismiss: bool, operator_id: str) -> str:
        """Assign a queued record to candidate ``assign_to`` (1 = the most likely), who is
        notified; or ``dismiss`` it back to the pool. Returns the record's new status."""
        rid = parse_record_id(record_id)
        who = parse_operator_id(operator_id)
        if dismiss == (assign_to != 0):
            raise errors.InvalidInput(
                "give either assign_to (a candidate's number from the review queue) or "
                "dismiss, not both and not neither"
            )
        now = self.ctx.clock()
        with self.ctx.db.transaction() as session:
            record = session.get(OrphanRecord, rid)
            if record is None or record.status != "review":
                raise errors.NotFound(f"record {rid} is not in the review queue")
            candidates = self._review_candidates(session, rid)
            if not dismiss and not 1 <= assign_to <= len(candidates):
                raise errors.InvalidInput(
                    f"assign_to must be a candidate's number, 1 to {len(candidates)}"
                )
            for n, c in enumerate(candidates, start=1):
                c.decided_at, c.decided_by = now, who
                c.status = "dismissed" if dismiss else ("open" if n == assign_to else "closed")
            record.updated_at = now
            if dismiss:
                record.status = "pool"
            else:
                record.status = "proposed"
                queue_notices(session, record, candidates[assign_to - 1])
            status = record.status
        log.info("review decided", dismissed=dismiss)
        self.ctx.wake_outbox()
        return status
