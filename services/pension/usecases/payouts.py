"""Claim payments: the release job for held payments and the operator's review of shared
accounts (alerts)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core.payout import (
    HeldPayout,
    PayoutDecision,
    mask_account,
    release_held_payouts,
)
from services.pension import domain
from services.pension.models import (
    Alert,
    Claim,
    Enrolment,
)
from services.pension.usecases.claims import claim_document
from services.pension.usecases.context import (
    CLAIM,
    PensionContext,
    log,
    send_inbox,
)
from services.pension.usecases.views import (
    ClaimView,
    claim_view,
)


class Payouts:
    """Held claim payments and the operator alerts about them."""

    def __init__(self, ctx: PensionContext) -> None:
        self.ctx = ctx

    def release_held_payments(self) -> tuple[list[ClaimView], int]:
        """The release job: decide every held claim payment again with a fresh look at the
        account. Returns (released, still held)."""
        with self.ctx.db.transaction() as session:
            held = list(
                session.scalars(select(Claim.claim_id).where(Claim.payout_status == "held"))
            )
        released, still = release_held_payouts(
            self.ctx.db,
            self.ctx.registry,
            self.ctx.payout_policy,
            self.ctx.review,
            procedure=CLAIM,
            subjects=held,
            held=_held_claim,
            still_held=_still_held,
            keep=_keep,
            release=self._release,
        )
        if released:
            log.info("held claim payments released", count=len(released))
            self.ctx.wake_outbox()
        return released, still

    def _release(
        self,
        session: Session,
        row: Claim,
        payout: HeldPayout,
        account: Mapping[str, Any],
        decision: PayoutDecision,
    ) -> ClaimView:
        row.payout_status, row.released_at, row.hold_reason = "released", self.ctx.clock(), ""
        row.account_reference = mask_account(account)
        test = domain.ClaimTest(
            True, row.contribution_months, row.age, row.annual_amount, row.reason
        )
        send_inbox(
            session,
            token=payout.token,
            procedure=CLAIM,
            payload=claim_document(
                payout.owner, test, row.account_reference, row.claim_id, decision
            ),
        )
        return claim_view(row, payout.owner)

    def approve_shared_account(
        self, basic_pension_number: str, alert_id: str, operator_id: str
    ) -> Alert:
        """An operator approves a claim payment held for a shared account, after review
        (:meth:`mynumber_core.payout.SharedAccountReview.approve`)."""
        number = domain.parse_basic_pension_number(basic_pension_number)
        alert: Alert = self.ctx.review.approve(number, alert_id, operator_id)
        return alert

    def list_alerts(self, limit: int = 100) -> list[Alert]:
        """Operator alerts, newest first."""
        return self.ctx.review.recent(limit)


def _held_claim(session: Session, claim_id: str) -> HeldPayout:
    claim = session.get(Claim, claim_id)
    assert claim is not None
    enrolment = session.get(Enrolment, claim.enrolment_id)
    assert enrolment is not None
    return HeldPayout(
        subject=claim_id,
        owner=enrolment.basic_pension_number,
        token=enrolment.token,
        address_changed_at=enrolment.address_changed_at,
        request_id=f"{claim_id}:recheck:{uuid.uuid4().hex[:12]}",
    )


def _still_held(session: Session, claim_id: str) -> Claim | None:
    # Row-locked so replicas never both release it: FOR UPDATE SKIP LOCKED on PostgreSQL (a
    # row another replica is deciding is skipped: None), SQLite's write lock serialises.
    row = session.scalars(
        select(Claim).where(Claim.claim_id == claim_id).with_for_update(skip_locked=True)
    ).first()
    return row if row is not None and row.payout_status == "held" else None


def _keep(row: Claim, decision: PayoutDecision) -> None:
    row.hold_reason = decision.hold_reason[:200]
