"""Old-age basic pension claims: the claimant's card signature (fresh, once), the claim PIN
under protect_claims, eligibility from agency data, and the payout policy for the payment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mynumber_core import errors
from mynumber_core.calendar import age_on
from mynumber_core.facts import parse_birth_date
from mynumber_core.payout import (
    PIN_REFUSALS,
    PayoutDecision,
    mask_account,
    parse_claim_pin,
    query_for_claim,
    verify_claim_pin,
)
from services.pension import domain
from services.pension.cards import CardSignature, check_nonce, claim_message
from services.pension.models import (
    Claim,
    Enrolment,
    UsedClaimNonce,
)
from services.pension.usecases.context import (
    CLAIM,
    PensionContext,
    inbox_document,
    log,
    send_inbox,
)
from services.pension.usecases.enrolment import Enrolments
from services.pension.usecases.exemptions import public_reason
from services.pension.usecases.views import (
    ClaimView,
    claim_view,
)


class Claims:
    """Old-age basic pension claims: card-signed at the counter or on the portal."""

    def __init__(self, ctx: PensionContext, enrolments: Enrolments) -> None:
        self.ctx = ctx
        self.enrolments = enrolments

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
        pin = parse_claim_pin(claim_pin, "claimant")
        with self.ctx.db.transaction() as session:
            enrolment = self.enrolments.by_number(session, number)
            done = session.get(Claim, cid)
            if done is not None:
                if done.enrolment_id != enrolment.id:
                    raise errors.Conflict("claim_id was already used for another claim")
                if card is None:
                    return claim_view(done, number)
            token, enrolment_id = enrolment.token, enrolment.id
        try:
            if card is None or not card.certificate_pem or not card.signature:
                raise errors.Unauthenticated(
                    "a pension claim needs the claimant's My Number Card signature over "
                    "action_message('pension_claim', {basic_pension_number, claim_id}, nonce)"
                )
            check_nonce(card.nonce, self.ctx.clock())
            if self.ctx.cards is None:
                raise errors.Unavailable("card verification is not configured")
            holder = self.ctx.cards.holder(card, claim_message(number, cid, card.nonce))
            if holder.token != token:
                raise errors.PermissionDenied("this card does not belong to the claimant")
        except (errors.Unauthenticated, errors.PermissionDenied) as exc:
            self._notify_refused(token, cid, "card")
            raise exc from None
        self._spend_nonce(holder.serial, card.nonce, cid)
        if done is not None:
            with self.ctx.db.transaction() as session:
                again = session.get(Claim, cid)
                assert again is not None
                return claim_view(again, number)
        if pin:
            verify_claim_pin(
                self.ctx.registry,
                token,
                pin,
                CLAIM,
                lambda why: self._notify_refused(token, cid, why),
            )
        return self._decide_claim(token, enrolment_id, number, cid, "counter")

    def _spend_nonce(self, serial: str, nonce: str, cid: str) -> None:
        """Record this card signature's nonce; a second use is a replay (AlreadyExists)."""
        try:
            with self.ctx.db.transaction() as session:
                session.add(
                    UsedClaimNonce(
                        card_serial=serial, nonce=nonce, claim_id=cid, used_at=self.ctx.clock()
                    )
                )
        except IntegrityError:
            log.warning("claim signature replayed")
            raise errors.AlreadyExists(
                "this card signature was already used; sign the claim again with a new nonce"
            ) from None

    def _notify_refused(self, token: str, cid: str, why: str) -> None:
        """Tell the resident a claim in their name was refused (card, lock, PIN)."""
        ja, en = {
            "card": (
                "本人のマイナンバーカードによる署名がありませんでした",
                "it was not signed with your own My Number Card",
            ),
            **PIN_REFUSALS,
        }[why]
        log.info("claim refused", reason=why)
        self._tell(
            token,
            inbox_document(
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

    def _tell(self, token: str, document: dict[str, Any]) -> None:
        """Queue one inbox document for the claimant in its own transaction, then wake the
        outbox."""
        with self.ctx.db.transaction() as session:
            send_inbox(session, token=token, procedure=CLAIM, payload=document)
        self.ctx.wake_outbox()

    def _decide_claim(
        self, token: str, enrolment_id: str, number: str, cid: str, channel: str
    ) -> ClaimView:
        """Decide from agency data (age from the municipality, months from our record), then
        the payout policy; one transaction writes the claim and its inbox document."""
        with self.ctx.db.transaction() as session:
            enrolment = session.get(Enrolment, enrolment_id)
            assert enrolment is not None
            months = self.enrolments.record(session, enrolment).contribution_months
            moved = enrolment.address_changed_at
        facts = query_for_claim(
            self.ctx.registry,
            token,
            "municipality",
            "basic_facts",
            CLAIM,
            f"{cid}:facts",
            lambda why: self._notify_refused(token, cid, why),
        )
        try:
            birth = parse_birth_date(str(facts["birth_date"]), today=self.ctx.today())
        except (KeyError, errors.InvalidInput):
            raise errors.Unavailable(
                "municipality returned basic facts without a birth date"
            ) from None
        if facts.get("deceased") or facts.get("status") == "deceased":
            raise errors.FailedPrecondition("the municipality records the claimant as deceased")
        test = domain.decide_claim(months, age_on(birth, self.ctx.today()))
        account_ref = ""
        decision = PayoutDecision(False)
        if test.approved:
            # Checked against the account the resident's card approved at the registry.
            account = self.ctx.registry.payout_account(token, CLAIM, f"{cid}:account")
            account_ref = mask_account(account)
            decision = self.ctx.payout_policy.decide(
                account, {**facts, "address_changed_at": moved}
            )
        try:
            with self.ctx.db.transaction() as session:
                row = Claim(
                    claim_id=cid,
                    enrolment_id=enrolment_id,
                    approved=test.approved,
                    contribution_months=test.contribution_months,
                    age=test.age,
                    annual_amount=test.annual_amount,
                    reason=test.reason[:200],
                    account_reference=account_ref,
                    filed_at=self.ctx.clock(),
                    channel=channel,
                    payout_status=("released" if decision.release else "held")
                    if test.approved
                    else "",
                    hold_reason=decision.hold_reason[:200],
                    released_at=self.ctx.clock() if test.approved and decision.release else None,
                )
                session.add(row)
                session.flush()
                if decision.alert:
                    self.ctx.review.raise_alert(
                        session,
                        number,
                        cid,
                        f"claim payment to {account_ref} held: {decision.hold_reason}",
                    )
                send_inbox(
                    session,
                    token=token,
                    procedure=CLAIM,
                    payload=claim_document(number, test, account_ref, cid, decision),
                )
                view = claim_view(row, number)
        except IntegrityError:
            with self.ctx.db.transaction() as session:
                existing = session.get(Claim, cid)
                if existing is None:
                    raise
                return claim_view(existing, number)
        log.info("claim decided", approved=test.approved, held=not decision.release)
        self.ctx.wake_outbox()
        return view

    def decide_portal_claim(self, token: str, payload: Mapping[str, Any]) -> None:
        """Worker: a claim the resident filed and signed on the portal."""
        cid = domain.parse_key("claim_id", str(payload["application_id"])[:64])
        with self.ctx.db.transaction() as session:
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
            self._notify_not_enrolled(token, cid, reason=public_reason(exc))

    def _notify_not_enrolled(self, token: str, cid: str, reason: str = "") -> None:
        reason = reason or "the claimant is not enrolled in the national pension"
        self._tell(
            token,
            inbox_document(
                "pension.claim_decision",
                ("老齢基礎年金の請求について", "Your old-age basic pension claim"),
                (
                    f"請求を審査できませんでした。理由: {reason}",
                    f"Your claim could not be decided. Reason: {reason}",
                ),
                cid,
            ),
        )


def claim_document(
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
    return inbox_document("pension.claim_decision", title, body, claim_id)
