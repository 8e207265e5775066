"""The claim PIN (protect_claims) and the reissue of a leaked My Number (番号法 7条2項): both
come from the registry, are shown once and are never stored by the portal.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from services.gateway import domain
from services.gateway.usecases.context import PORTAL_SENDER, PortalContext
from services.gateway.usecases.inbox import add_document, add_notice

if TYPE_CHECKING:
    from services.gateway.usecases.auth import Auth, SessionInfo, StepUpProof


class Number:
    """Claim PINs and number reissue."""

    def __init__(self, ctx: PortalContext, auth: Auth) -> None:
        self._ctx = ctx
        self._auth = auth

    def issue_claim_pin(self, sess: SessionInfo, proof: StepUpProof | None) -> tuple[str, int]:
        """This year's 6-digit claim PIN (protect_claims), from the registry; shown once and
        never stored here (the registry keeps only a salted hash)."""
        year = domain.claim_pin_year(self._ctx.clock())
        step_up = self._auth.consume_step_up(sess, proof, "issue_claim_pin", {"year": str(year)})
        issued = self._ctx.registry.issue_claim_pin(sess.token, acting=sess.acting(step_up))
        with self._ctx.db.transaction() as session:
            add_notice(
                self._ctx,
                session,
                sess.resident_id,
                f"portal:claim-pin:{uuid.uuid4().hex}",
                domain.Document(
                    f"{issued.year}年の請求用暗証番号を発行しました",
                    f"A claim PIN for {issued.year} was issued",
                    "還付金・年金の請求に使う暗証番号を発行しました（以前の番号は無効です）。"
                    "心当たりがない場合はすぐにご連絡ください。",
                    "A new PIN for refunds and claims was issued (any earlier PIN no longer "
                    "works). If this was not you, contact us at once.",
                    PORTAL_SENDER,
                    "claim_pin",
                    "",
                ),
            )
        return issued.pin, issued.year

    def reissue_number(
        self, sess: SessionInfo, raw: dict[str, Any], proof: StepUpProof | None
    ) -> str:
        """Reissue a leaked My Number (番号法 7条2項): the new number is returned once (never
        stored here); every agency's token stays the same; the old number stops working."""
        reason = domain.parse_reissue_reason(raw.get("reason"))
        step_up = self._auth.consume_step_up(sess, proof, "reissue_number", {"reason": reason})
        key = "portal-reissue-" + uuid.uuid4().hex
        new_number = self._ctx.registry.reissue(
            sess.token, reason, key, acting=sess.acting(step_up)
        )
        with self._ctx.db.transaction() as session:
            # The inbox says that it happened, never the number itself (invariant 1).
            add_document(
                self._ctx,
                session,
                sess.resident_id,
                f"portal:reissue:{key}",
                domain.Document(
                    "個人番号を変更しました",
                    "Your My Number was reissued",
                    "ご本人の申請により個人番号を変更しました。新しい番号は申請時の画面に一度だけ"
                    "表示され、通知書が郵送されます。古い番号はどの機関でも使えません。",
                    "At your request your My Number was reissued. The new number was shown once "
                    "on screen and a notification is on its way by post; the old number no "
                    "longer works at any agency.",
                    PORTAL_SENDER,
                    "number_reissued",
                    "",
                ),
            )
        return new_number
