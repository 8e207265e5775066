"""Refunds: paid to the portal's payout account under the payout policy (cooling-off after an
account or address change, shared accounts held for an operator's review), the claim PIN
under protect_claims, the release job for held refunds."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.payout import (
    PIN_REFUSALS,
    HeldPayout,
    PayoutDecision,
    mask_account,
    parse_claim_pin,
    query_for_claim,
    release_held_payouts,
    verify_claim_pin,
)
from services.tax import domain
from services.tax.models import (
    Alert,
    RefundRow,
    Taxpayer,
)
from services.tax.usecases.context import (
    REFUND,
    TaxContext,
    inbox_document,
    log,
    send_inbox,
)
from services.tax.usecases.records import (
    assessment_of,
    paid_on,
    refund_of,
    taxpayer_by_number,
)
from services.tax.usecases.views import (
    RefundView,
    refund_view,
)


class Refunds:
    """Refunds to the payout account, held by the payout policy, and their review."""

    def __init__(self, ctx: TaxContext) -> None:
        self.ctx = ctx

    def issue_refund(self, reference_number: str, year: int, claim_pin: str = "") -> RefundView:
        """Pay an assessed refund to the payout account; idempotent per year.

        ``claim_pin`` is the taxpayer's claim PIN, checked at the registry (needed while the
        protect_claims lock is on). The payout policy may hold the refund; a refund stopped
        by the lock is reported to the resident's inbox.
        """
        number = domain.parse_reference_number(reference_number)
        domain.check_year(year, self.ctx.today())
        parse_claim_pin(claim_pin, "taxpayer")
        with self.ctx.db.transaction() as session:
            taxpayer = taxpayer_by_number(session, number)
            existing = refund_of(session, taxpayer.id, year)
            if existing is not None:
                return refund_view(existing, number, already=True)
            assessment = assessment_of(session, taxpayer.id, year)
            if assessment is None:
                raise errors.FailedPrecondition(f"{year} has not been assessed; assess it first")
            amount = max(
                0,
                assessment.withholding + paid_on(session, taxpayer.id, year) - assessment.tax_total,
            )
            if amount == 0:
                raise errors.FailedPrecondition(f"the {year} assessment shows no refund")
            token, taxpayer_id = taxpayer.token, taxpayer.id
            moved = taxpayer.address_changed_at
        # A fresh request id per attempt: a refusal (lock, missing PIN) must not be replayed
        # once the taxpayer gives the PIN.
        base = f"refund-{taxpayer_id}-{year}-{uuid.uuid4().hex[:12]}"
        if claim_pin:
            verify_claim_pin(
                self.ctx.registry,
                token,
                claim_pin,
                REFUND,
                lambda why: self._notify_stopped(token, year, why),
            )
        account = query_for_claim(
            self.ctx.registry,
            token,
            "portal",
            "payout_account",
            REFUND,
            f"{base}:account",
            lambda why: self._notify_stopped(token, year, why),
        )
        facts = self.ctx.registry.query(
            token, "municipality", "basic_facts", REFUND, f"{base}:facts"
        )
        decision = self.ctx.payout_policy.decide(account, {**facts, "address_changed_at": moved})
        masked = mask_account(account)
        try:
            with self.ctx.db.transaction() as session:
                row = RefundRow(
                    id=uuid.uuid4().hex,
                    taxpayer_id=taxpayer_id,
                    year=year,
                    amount=amount,
                    status="released" if decision.release else "held",
                    hold_reason=decision.hold_reason[:200],
                    hold_code=decision.hold_code,
                    account_reference=masked,
                    issued_at=self.ctx.clock(),
                    released_at=self.ctx.clock() if decision.release else None,
                )
                session.add(row)
                session.flush()
                if decision.alert:
                    self.ctx.review.raise_alert(
                        session,
                        number,
                        row.id,
                        f"refund to {masked} held: {decision.hold_reason}"[:500],
                    )
                    log.warning(
                        "payout account shared by unrelated residents; refund held for review"
                    )
                send_inbox(
                    session,
                    token=token,
                    procedure=REFUND,
                    payload=refund_document(year, amount, masked, decision, row.id),
                )
                view = refund_view(row, number, already=False)
        except IntegrityError:
            with self.ctx.db.transaction() as session:
                again = refund_of(session, taxpayer_id, year)
                if again is None:
                    raise
                return refund_view(again, number, already=True)
        log.info("refund issued", year=year, released=decision.release)
        self.ctx.wake_outbox()
        return view

    def _notify_stopped(self, token: str, year: int, why: str) -> None:
        """Tell the resident a refund was attempted and stopped (lock, wrong PIN)."""
        ja, en = PIN_REFUSALS[why]
        with self.ctx.db.transaction() as session:
            send_inbox(
                session,
                token=token,
                procedure=REFUND,
                payload=inbox_document(
                    "tax.refund_stopped",
                    (f"{year}年分 還付手続を停止しました", f"A {year} refund was stopped"),
                    (
                        f"還付・請求ロックにより{year}年分の還付手続を停止しました（{ja}）。"
                        "お心当たりのない場合は税務署にご連絡ください。",
                        f"Your refunds-and-claims lock stopped a {year} refund ({en}). If this "
                        "was not you, contact the tax office.",
                    ),
                    f"refund-stopped-{year}",
                ),
            )
        log.info("refund stopped by the resident's lock", reason=why)
        self.ctx.wake_outbox()

    def release_held_refunds(self) -> tuple[list[RefundView], int]:
        """The release job: decide every held refund again with a fresh look at the account
        (each look is an exchange in the resident's log). Returns (released, still held)."""
        with self.ctx.db.transaction() as session:
            held = list(session.scalars(select(RefundRow.id).where(RefundRow.status == "held")))
        released, still = release_held_payouts(
            self.ctx.db,
            self.ctx.registry,
            self.ctx.payout_policy,
            self.ctx.review,
            procedure=REFUND,
            subjects=held,
            held=_held_refund,
            still_held=_still_held,
            keep=_keep,
            release=self._release,
        )
        if released:
            log.info("held refunds released", count=len(released))
            self.ctx.wake_outbox()
        return released, still

    def _release(
        self,
        session: Session,
        row: RefundRow,
        payout: HeldPayout,
        account: Mapping[str, Any],
        decision: PayoutDecision,
    ) -> RefundView:
        masked = mask_account(account)
        row.status, row.released_at, row.account_reference = "released", self.ctx.clock(), masked
        row.hold_reason, row.hold_code = "", ""
        send_inbox(
            session,
            token=payout.token,
            procedure=REFUND,
            payload=refund_document(row.year, row.amount, masked, decision, row.id),
        )
        return refund_view(row, payout.owner, already=True)

    def approve_shared_account(
        self, reference_number: str, alert_id: str, operator_id: str
    ) -> Alert:
        """An operator approves a refund held for a shared account, after review
        (:meth:`mynumber_core.payout.SharedAccountReview.approve`)."""
        number = domain.parse_reference_number(reference_number)
        alert: Alert = self.ctx.review.approve(number, alert_id, operator_id)
        return alert

    def list_alerts(self, limit: int = 100) -> list[Alert]:
        """Operator alerts, newest first."""
        return self.ctx.review.recent(limit)


def refund_document(
    year: int, amount: int, masked: str, decision: domain.PayoutDecision, refund_id: str
) -> dict[str, Any]:
    """The inbox document of a refund, paid or held."""
    title = (f"{year}年分 所得税の還付について", f"Your {year} income tax refund")
    if decision.release:
        body = (
            f"{year}年分の所得税 {amount:,}円を {masked} に還付します。"
            "お心当たりのない場合は税務署にご連絡ください。",
            f"We are refunding {amount:,} yen of your {year} income tax to {masked}. "
            "If you did not expect this, contact the tax office.",
        )
    else:
        body = (
            f"{year}年分の所得税 {amount:,}円の還付を保留しています（{decision.hold_reason}）。",
            f"Your {year} refund of {amount:,} yen is on hold: {decision.hold_reason}.",
        )
    return inbox_document("tax.refund_notice", title, body, refund_id)


def _held_refund(session: Session, refund_id: str) -> HeldPayout:
    refund = session.get(RefundRow, refund_id)
    assert refund is not None
    taxpayer = session.get(Taxpayer, refund.taxpayer_id)
    assert taxpayer is not None
    base = f"refund-{refund.taxpayer_id}-{refund.year}-recheck-{uuid.uuid4().hex[:12]}"
    return HeldPayout(
        subject=refund_id,
        owner=taxpayer.reference_number,
        token=taxpayer.token,
        address_changed_at=taxpayer.address_changed_at,
        request_id=f"{base}:account",
    )


def _still_held(session: Session, refund_id: str) -> RefundRow | None:
    # Row-locked so replicas never both release it: FOR UPDATE SKIP LOCKED on PostgreSQL (a
    # row another replica is deciding is skipped: None), SQLite's write lock serialises.
    row = session.scalars(
        select(RefundRow).where(RefundRow.id == refund_id).with_for_update(skip_locked=True)
    ).first()
    return row if row is not None and row.status == "held" else None


def _keep(row: RefundRow, decision: PayoutDecision) -> None:
    row.hold_reason, row.hold_code = decision.hold_reason[:200], decision.hold_code
