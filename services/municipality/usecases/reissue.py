"""Number reissue (番号法 Art. 7(2)): a leaked number is replaced; the tokens stay the same."""

from __future__ import annotations

from mynumber_core.outbox import enqueue
from services.municipality import domain
from services.municipality.models import OutboxEvent
from services.municipality.usecases import records
from services.municipality.usecases.context import PROC_REISSUE, Context


class Reissue:
    """Ask the registry for a new number and tell the resident's portal."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def reissue_number(self, address_number: str, reason: str, idempotency_key: str) -> str:
        """Issue a new number for a leaked one; returns it once; the portal is told."""
        ctx = self._ctx
        number = domain.parse_address_number(address_number)
        why = domain.parse_free_text("reason", reason, max_len=200, required=True)
        key = domain.parse_idempotency_key(idempotency_key)
        request = {"address_number": number, "reason": why}
        with ctx.db.transaction() as session:
            replay = records.replay(ctx, session, key, "reissue", request)
            token = (
                records.resident(session, number) if replay else records.active(session, number)
            ).token
        new_number = ctx.registry.reissue(token, why, f"mun-reissue:{key}")
        if replay is not None:
            return new_number
        with ctx.db.transaction() as session:
            enqueue(
                session,
                OutboxEvent,
                event_type="number_reissued",
                token=token,
                procedure=PROC_REISSUE,
                payload={
                    "kind": "number_reissued",
                    "title": "個人番号の変更について",
                    "body": (
                        "申出により個人番号を変更しました。新しい通知カードをお受け取りください。"
                    ),
                    "reissued_on": ctx.today().isoformat(),
                },
            )
            records.remember(ctx, session, key, "reissue", request, {})
        ctx.wake()
        return new_number
