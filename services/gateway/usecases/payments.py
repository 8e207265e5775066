"""Amounts due at the tax office and the pension service, and paying them from the portal
(card step-up, Idempotency-Key, a receipt in the inbox, the payment published to the agency).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mynumber_core import errors
from mynumber_core.outbox import enqueue
from mynumber_core.registry_client import QuerySpec
from services.gateway import domain
from services.gateway.models import OutboxEvent, Payment
from services.gateway.usecases.context import PORTAL_SENDER, PortalContext, new_id, request_id
from services.gateway.usecases.inbox import add_document

if TYPE_CHECKING:
    from services.gateway.usecases.auth import Auth, SessionInfo, StepUpProof


class Payments:
    """Amounts due and payments."""

    def __init__(self, ctx: PortalContext, auth: Auth) -> None:
        self._ctx = ctx
        self._auth = auth

    def amounts_due(self, sess: SessionInfo) -> list[dict[str, Any]]:
        """Amounts due at the tax office and the pension service (through the hub)."""
        specs = [
            QuerySpec(sess.token, agency, "amounts_due", domain.PAYMENTS_PROCEDURE, request_id())
            for agency in domain.PAYABLE_AGENCIES
        ]
        result = []
        for agency, outcome in zip(
            domain.PAYABLE_AGENCIES,
            self._ctx.registry.batch_query(specs, acting=sess.acting()),
            strict=True,
        ):
            if outcome.code != 0:
                continue
            for item in outcome.data.get("items", []):
                if isinstance(item, dict) and isinstance(item.get("amount"), int):
                    result.append({"agency": agency, **item})
        return result

    def payments(self, sess: SessionInfo) -> list[Payment]:
        """The resident's payments, newest first."""
        with self._ctx.db.transaction() as session:
            return list(
                session.scalars(
                    select(Payment)
                    .where(Payment.resident_id == sess.resident_id)
                    .order_by(Payment.paid_at.desc())
                )
            )

    def pay(
        self,
        sess: SessionInfo,
        idempotency_key: str | None,
        raw: dict[str, Any],
        proof: StepUpProof | None,
    ) -> tuple[Payment, bool]:
        """Pay one amount due; a retry with the same Idempotency-Key returns the first result."""
        key = domain.parse_idempotency_key(idempotency_key)
        agency, item_id, amount = domain.parse_payment(raw)
        request_hash = hashlib.sha256(f"{agency}|{item_id}|{amount}".encode()).hexdigest()
        with self._ctx.db.transaction() as session:
            done = session.scalars(
                select(Payment).where(
                    Payment.resident_id == sess.resident_id, Payment.idempotency_key == key
                )
            ).first()
            if done is not None:
                if done.request_hash != request_hash:
                    raise errors.Conflict(
                        "this Idempotency-Key was used for a different payment; use a new key"
                    )
                return done, False
        due = {(d["agency"], d.get("item_id")): d["amount"] for d in self.amounts_due(sess)}
        if (agency, item_id) not in due:
            raise errors.NotFound(f"{item_id} is not an amount due at {agency}")
        if amount != due[(agency, item_id)]:
            raise errors.InvalidInput(
                f"amount must be exactly the {due[(agency, item_id)]} yen due for {item_id}"
            )
        evidence = self._auth.consume_step_up(
            sess,
            proof,
            "make_payment",
            {"agency": agency, "item_id": item_id, "amount": str(amount)},
        )
        authorised = self._ctx.registry.authorise_event(
            sess.token, "payment", domain.PAYMENTS_PROCEDURE, acting=sess.acting(evidence)
        )
        now = self._ctx.clock()
        with self._ctx.db.transaction() as session:
            payment_id = new_id("P")
            event_id = enqueue(
                session,
                OutboxEvent,
                event_type="payment",
                token=sess.token,
                procedure=domain.PAYMENTS_PROCEDURE,
                payload={
                    "agency": agency,
                    "item_id": item_id,
                    "amount": amount,
                    "payment_id": payment_id,
                    "paid_at": now.isoformat(),
                    "method": "portal",
                },
                event_id=authorised,
            )
            payment = Payment(
                id=payment_id,
                resident_id=sess.resident_id,
                idempotency_key=key,
                request_hash=request_hash,
                agency=agency,
                item_id=item_id,
                amount=amount,
                event_id=event_id,
                paid_at=now,
            )
            session.add(payment)
            add_document(
                self._ctx,
                session,
                sess.resident_id,
                f"portal:receipt:{payment_id}",
                domain.Document(
                    f"領収書 {item_id} {amount:,}円",
                    f"Receipt {item_id}: ¥{amount:,}",
                    f"{item_id} のお支払い {amount:,}円 を受け付けました"
                    f"（受付番号 {payment_id}）。",
                    f"We received your payment of ¥{amount:,} for {item_id} "
                    f"(receipt {payment_id}).",
                    PORTAL_SENDER,
                    "receipt",
                    payment_id,
                ),
            )
        self._ctx.wake_outbox()
        return payment, True
