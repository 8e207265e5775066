"""Step-up: a fresh card signature over one sensitive action and its exact values,
requested by the browser, approved by code (CLI) or signed directly, and consumed once by
the action it approves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mynumber_core import errors
from mynumber_core.calendar import date_in_japan
from mynumber_core.clock import aware
from mynumber_core.resident_grants import StepUpEvidence
from services.gateway import domain
from services.gateway.models import Challenge
from services.gateway.usecases.challenges import (
    Challenges,
    IssuedChallenge,
    Requester,
    SessionInfo,
    StepUpProof,
    decode_signature,
)
from services.gateway.usecases.payouts import registered_account_fields
from services.gateway.usecases.pension_records import decision_fields


class StepUp(Challenges):
    """Start, poll and consume step-up approvals over the shared challenges."""

    def canonical_fields(
        self, action: str, raw: Mapping[str, Any], sess: SessionInfo | None = None
    ) -> dict[str, str]:
        """The exact values a card signs for an action, parsed as the action itself parses
        its request (so the approval and the request can be compared field by field).

        ``confirm_payout`` signs the account being confirmed as registered now (bank, branch,
        account number of the logged-in resident ``sess``), so the signature cannot confirm
        an account registered after it was made."""
        domain.check_action(action)
        raw = dict(raw)
        today = date_in_japan(self._ctx.clock())
        if action == "change_payout_account":
            return domain.parse_payout_account(raw).as_dict()
        if action == "make_payment":
            agency, item_id, amount = domain.parse_payment(raw)
            return {"agency": agency, "item_id": item_id, "amount": str(amount)}
        if action == "apply_pension_exemption":
            return {"fiscal_year": str(domain.parse_exemption_year(raw.get("fiscal_year"), today))}
        if action == "apply_move_out":
            return domain.parse_move_out(raw, today)
        if action == "set_locks":
            return {"locks": ",".join(domain.parse_locks(raw.get("locks")))}
        if action == "confirm_payout":
            if sess is None:
                raise errors.Unauthenticated("log in with your My Number Card first")
            return registered_account_fields(self._ctx, sess)
        if action == "issue_claim_pin":
            return {"year": str(domain.claim_pin_year(self._ctx.clock()))}
        if action == "reissue_number":
            return {"reason": domain.parse_reissue_reason(raw.get("reason"))}
        if action == "pension_claim":
            return {"claim_type": "old_age_basic_pension"}
        if action == "pension_record_decision":
            return decision_fields(raw)
        if action == "register_passkey":
            return {"challenge": domain.parse_passkey_challenge(raw.get("challenge"))}
        return {"business_id": domain.parse_id("business_id", raw.get("business_id"))}

    def start_step_up(
        self,
        sess: SessionInfo,
        action: str,
        raw_fields: Mapping[str, Any],
        requester: Requester | None = None,
    ) -> IssuedChallenge:
        """A challenge over one sensitive action and its exact values (approve by code)."""
        fields = self.canonical_fields(action, raw_fields, sess)
        return self._issue(
            "action",
            with_code=True,
            action=action,
            fields=fields,
            session_hash=sess.session_hash,
            grant=sess.acting().grant,
            requester=requester,
        )

    def step_up_status(self, sess: SessionInfo, challenge_id: str) -> str:
        """pending | approved | used | expired, for the browser's poll."""
        domain.parse_id("challenge_id", challenge_id)
        with self._ctx.db.transaction() as session:
            row = session.get(Challenge, challenge_id)
            if row is None or row.kind != "action" or row.session_hash != sess.session_hash:
                raise errors.NotFound("no such approval")
            if row.status == "pending" and aware(row.expires_at) < self._ctx.clock():
                return "expired"
            return row.status

    def consume_step_up(
        self,
        sess: SessionInfo,
        proof: StepUpProof | None,
        action: str,
        fields: Mapping[str, str],
    ) -> StepUpEvidence:
        """Use up the step-up approval ``proof`` for ``action`` with exactly ``fields``: the
        challenge must be this session's, open, for this action and these values, and approved
        by the resident's own card (by code, or by the signature the proof carries).

        Returns the card's signature over the registry's challenge, for the registry to check
        again where the action takes effect (locks, claim PINs, reissue)."""
        if proof is None:
            raise errors.Unauthenticated(
                f"this action needs a fresh card signature: request one with POST /api/step-up "
                f"(action {action!r}) and approve it with your card"
            )
        domain.parse_id("step_up.challenge_id", proof.challenge_id)
        with self._ctx.db.transaction() as session:
            row = session.get(Challenge, proof.challenge_id)
            if row is None or row.kind != "action" or row.session_hash != sess.session_hash:
                raise errors.NotFound("no such approval for this session")
            row = self._check_open(row, "approval")
            issued = self._as_issued(row)
            if row.action != action or issued.fields != dict(fields):
                raise errors.PermissionDenied(
                    "the approval was for a different action or different values; approve "
                    "exactly what you submit"
                )
            approved = row.status == "approved"
            approved_signature = row.approved_signature or ""
            row.used_at, row.status = self._ctx.clock(), "used"
        if approved:
            return StepUpEvidence(issued.nonce, issued.fields, decode_signature(approved_signature))
        if not proof.certificate_pem or not proof.signature:
            raise errors.Unauthenticated(
                "this approval is not signed yet: approve its code with your card, or send "
                "certificate_pem and signature"
            )
        serial = self._verify_card(issued, proof.certificate_pem, proof.signature)
        if self._holder(serial) != sess.token:
            raise errors.PermissionDenied(
                "this card belongs to someone else than the logged-in resident"
            )
        return StepUpEvidence(issued.nonce, issued.fields, decode_signature(proof.signature))
