"""Online applications: pension contribution exemption, the move-out notice and the old-age
pension claim (with the claim PIN while protect_claims is on). Each is published to the
agency that decides it; the decision comes back to the inbox.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mynumber_core import errors
from mynumber_core.calendar import date_in_japan
from mynumber_core.outbox import enqueue
from mynumber_core.resident_grants import StepUpEvidence
from services.gateway import domain
from services.gateway.models import Application, OutboxEvent
from services.gateway.usecases.context import PORTAL_SENDER, PortalContext, new_id
from services.gateway.usecases.inbox import add_notice

if TYPE_CHECKING:
    from services.gateway.usecases.auth import Auth, SessionInfo, StepUpProof
    from services.gateway.usecases.locks import Locks


class Applications:
    """The resident's applications."""

    def __init__(self, ctx: PortalContext, auth: Auth, locks: Locks) -> None:
        self._ctx = ctx
        self._auth = auth
        self._locks = locks

    def applications(self, sess: SessionInfo) -> list[Application]:
        """The resident's applications, newest first."""
        with self._ctx.db.transaction() as session:
            return list(
                session.scalars(
                    select(Application)
                    .where(Application.resident_id == sess.resident_id)
                    .order_by(Application.submitted_at.desc())
                )
            )

    def _submit(
        self,
        sess: SessionInfo,
        kind: str,
        agency: str,
        details: dict[str, Any],
        procedure: str,
        evidence: StepUpEvidence,
    ) -> Application:
        # The registry delivers the application only under an event id it authorised for
        # this resident's grant and card step-up (services/registry/resident_acts.py).
        authorised = self._ctx.registry.authorise_event(
            sess.token, f"application.{kind}", procedure, acting=sess.acting(evidence)
        )
        now = self._ctx.clock()
        with self._ctx.db.transaction() as session:
            app_id = new_id("A")
            event_id = enqueue(
                session,
                OutboxEvent,
                event_type=f"application.{kind}",
                token=sess.token,
                procedure=procedure,
                payload={**details, "application_id": app_id, "submitted_at": now.isoformat()},
                event_id=authorised,
            )
            row = Application(
                id=app_id,
                resident_id=sess.resident_id,
                kind=kind,
                agency=agency,
                details=json.dumps(details, ensure_ascii=False),
                event_id=event_id,
                submitted_at=now,
            )
            session.add(row)
        self._ctx.wake_outbox()
        return row

    def apply_pension_exemption(
        self, sess: SessionInfo, raw: dict[str, Any], proof: StepUpProof | None
    ) -> Application:
        """Apply for exemption from national pension contributions (decided by pension)."""
        year = domain.parse_exemption_year(raw.get("fiscal_year"), date_in_japan(self._ctx.clock()))
        evidence = self._auth.consume_step_up(
            sess, proof, "apply_pension_exemption", {"fiscal_year": str(year)}
        )
        return self._submit(
            sess,
            "pension_exemption",
            "pension",
            {"fiscal_year": year},
            "pension.exemption",
            evidence,
        )

    def apply_move_out(
        self, sess: SessionInfo, raw: dict[str, Any], proof: StepUpProof | None
    ) -> Application:
        """Give the online move-out notice (転出届) to the municipality."""
        details = domain.parse_move_out(raw, date_in_japan(self._ctx.clock()))
        self._locks.require_online_changes(sess)
        evidence = self._auth.consume_step_up(sess, proof, "apply_move_out", details)
        return self._submit(
            sess, "move_out", "municipality", details, "municipality.moving_onestop", evidence
        )

    def apply_pension_claim(
        self, sess: SessionInfo, raw: dict[str, Any], proof: StepUpProof | None
    ) -> Application:
        """Claim the old-age basic pension, signed with the card (``pension_claim``). With
        ``protect_claims`` on, the claim PIN is checked at the registry first; a refusal is
        reported to the resident's notices. Eligibility is decided by pension from agency
        data only."""
        pin = domain.parse_claim_pin(raw.get("pin"))
        evidence = self._auth.consume_step_up(
            sess, proof, "pension_claim", {"claim_type": "old_age_basic_pension"}
        )
        if "protect_claims" in self._locks.locks(sess):
            if pin is None:
                self._claim_refused(sess, "no claim PIN was given")
                raise errors.PermissionDenied(
                    "you have locked refunds and claims (protect_claims): give this year's "
                    "claim PIN with the claim"
                )
            try:
                self._ctx.registry.verify_claim_pin(
                    sess.token, pin, "pension.claim", acting=sess.acting()
                )
            except (errors.PermissionDenied, errors.RateLimited):
                self._claim_refused(sess, "the claim PIN was wrong")
                raise
        return self._submit(
            sess,
            "pension_claim",
            "pension",
            {"claim_type": "old_age_basic_pension", "card_signed": True},
            "pension.claim",
            evidence,
        )

    def _claim_refused(self, sess: SessionInfo, why_en: str) -> None:
        why_ja = "暗証番号が誤っていました" if "wrong" in why_en else "暗証番号がありませんでした"
        with self._ctx.db.transaction() as session:
            add_notice(
                self._ctx,
                session,
                sess.resident_id,
                f"portal:claim-refused:{uuid.uuid4().hex}",
                domain.Document(
                    "年金請求を受け付けませんでした",
                    "A pension claim was refused",
                    f"請求ロック中のため、年金請求を受け付けませんでした（{why_ja}）。"
                    "心当たりがない場合はカードの停止をご検討ください。",
                    f"A pension claim was refused because refunds and claims are locked "
                    f"({why_en}). If this was not you, consider suspending your card.",
                    PORTAL_SENDER,
                    "claim_refused",
                    "",
                ),
            )
