"""The portal as a data domain: the item other agencies fetch from it (the payout account)
and the events it receives through the hub (letters, notices, address changes, reissued
numbers), plus the outbox relay's delivery of the portal's own events.

Event handlers run inside the Provider's transaction (``session``) so an event is applied
exactly once with its processed-event mark.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.outbox import OutboxRow
from mynumber_core.provider import DeliveredEvent, ProvideCall
from mynumber_core.registry_client import RegistryClient
from services.gateway import domain, senders
from services.gateway.models import PayoutAccountRow, Resident
from services.gateway.usecases.context import PortalContext, resident_by_token
from services.gateway.usecases.inbox import add_document, add_notice
from services.gateway.usecases.payouts import account_view


def publish_outbox_row(
    registry: RegistryClient, row: OutboxRow, payload: Mapping[str, Any]
) -> None:
    """The outbox relay's delivery: publish through the hub to the one agency concerned."""
    if row.event_type == "payment":
        audience = [str(payload.get("agency"))]
    elif row.event_type in (
        "application.pension_exemption",
        "application.pension_claim",
        "pension_record.decision",
    ):
        audience = ["pension"]
    elif row.event_type == "payout_confirmed":
        audience = ["tax", "pension"]
    else:
        audience = ["municipality"]
    registry.publish(
        row.token, row.event_type, row.id, payload, procedure=row.procedure, audience=audience
    )


class Events:
    """The portal's Provider side: items and event handlers."""

    def __init__(self, ctx: PortalContext) -> None:
        self._ctx = ctx

    def item_payout_account(self, call: ProvideCall) -> dict[str, Any]:
        """Item ``payout_account`` (for tax refunds and pension claims): the full account."""
        with self._ctx.db.transaction() as session:
            resident = session.scalars(select(Resident).where(Resident.token == call.token)).first()
            row = session.get(PayoutAccountRow, resident.id) if resident else None
            if row is None:
                raise errors.NotFound("the resident has not registered a public-funds account")
            return account_view(session, row, masked=False)

    def on_inbox_document(self, session: Session, event: DeliveredEvent) -> None:
        """Event ``inbox.document``: a letter from an agency (sender fixed by the publisher)."""
        doc = senders.agency_document(event.publisher, dict(event.payload))
        resident = resident_by_token(self._ctx, session, event.token, create=True)
        add_document(self._ctx, session, resident.id, f"event:{event.event_id}", doc)

    def on_notice(self, session: Session, event: DeliveredEvent) -> None:
        """Event ``notice``: a notice (vaccination, long-term care, pension)."""
        self._portal_notice(
            session, event, senders.agency_document(event.publisher, dict(event.payload))
        )

    def _portal_notice(
        self, session: Session, event: DeliveredEvent, document: domain.Document
    ) -> None:
        """Add a notice for the event's resident (created if new), keyed by the event."""
        resident = resident_by_token(self._ctx, session, event.token, create=True)
        add_notice(self._ctx, session, resident.id, f"event:{event.event_id}", document)

    def on_address_changed(self, session: Session, event: DeliveredEvent) -> None:
        """Event ``address_changed``: tell the resident (a fraud countermeasure)."""
        self._portal_notice(
            session,
            event,
            domain.Document(
                "住所が変更されました",
                "Your address was changed",
                "住民票の住所が変更され、関係機関に通知されました。心当たりがない場合は市区町村の"
                "窓口にご連絡ください。",
                "Your registered address was changed and the agencies that know you were told. "
                "If this was not you, contact your municipality.",
                "市区町村 (municipality)",
                "address_changed",
                "",
            ),
        )

    def on_number_reissued(self, session: Session, event: DeliveredEvent) -> None:
        """Event ``number_reissued``: the old number stopped working; tokens stay."""
        self._portal_notice(
            session,
            event,
            domain.Document(
                "個人番号が変更されました",
                "Your My Number was reissued",
                "新しい個人番号の通知が届きます。古い番号は使えなくなりました。",
                "A notification of your new number is on its way; the old one no longer works.",
                "市区町村 (municipality)",
                "number_reissued",
                "",
            ),
        )

    def on_card_locked(self, session: Session, event: DeliveredEvent) -> None:
        """Event ``card_locked`` (from the registry, the card authority): the card's PIN was
        tried wrongly three times and the card is locked. The text is the portal's own."""
        if event.publisher != "registry":
            raise errors.InvalidInput("only the registry (the card authority) reports card locks")
        self._portal_notice(
            session,
            event,
            domain.Document(
                "マイナンバーカードがロックされました",
                "Your My Number Card is locked",
                "カードの暗証番号が3回続けて誤って入力されたため、カードをロックしました。"
                "心当たりがない場合は、カードの紛失・盗難の届出をしてください。ロックの解除は"
                "市区町村の窓口で行えます。",
                "The card's PIN was entered wrongly three times, so the card was locked. If this "
                "was not you, report the card lost or stolen. Your municipality's counter can "
                "unlock it.",
                "地方公共団体情報システム機構 (card authority)",
                "card_locked",
                "",
            ),
        )
