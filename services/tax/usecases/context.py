"""What every tax use case module shares: its context (database, registry port, clock, outbox
wake-up, payout policy and the shared-account review), the procedures it acts under and the
inbox document."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.orm import Session

from mynumber_core.calendar import today_jst
from mynumber_core.clock import Clock, utc_now
from mynumber_core.db import Database
from mynumber_core.inbox import inbox_document as core_inbox_document
from mynumber_core.inbox import queue_inbox
from mynumber_core.payout import PayoutPolicy, SharedAccountReview
from mynumber_core.registry_client import RegistryClient
from services.tax.models import Alert, OutboxEvent, RefundRow

log = structlog.get_logger("mynumber.tax")
MEDICAL = "tax.medical_deduction"
REFUND = "tax.refund"
WITHHOLDING = "tax.withholding"
SENDER = "税務署 (tax office)"


def _nothing() -> None:
    return None


@dataclass
class TaxContext:
    """The dependencies of the tax use cases, built once in ``wiring`` (tests pass fakes)."""

    db: Database
    registry: RegistryClient
    clock: Clock = utc_now
    today: Callable[[], dt.date] = today_jst
    wake_outbox: Callable[[], None] = _nothing
    payout_policy: PayoutPolicy = field(default_factory=PayoutPolicy)
    review: SharedAccountReview = field(init=False)
    """Alerts about refunds held for a shared account, and their approval."""

    def __post_init__(self) -> None:
        self.review = SharedAccountReview(
            self.db,
            Alert,
            owner_field="reference_number",
            held_account=_held_refund_account,
            not_found="no such alert for this taxpayer",
            not_held="the refund of this alert is no longer held",
            clock=self.clock,
        )


def _held_refund_account(session: Session, refund_id: str) -> str | None:
    """The masked account a refund is held for (None: no longer held)."""
    refund = session.get(RefundRow, refund_id)
    if refund is None or refund.status != "held":
        return None
    return refund.account_reference


def inbox_document(
    document_type: str, title: tuple[str, str], body: tuple[str, str], reference: str
) -> dict[str, Any]:
    """The payload of an ``inbox.document`` event from the tax service (see its README)."""
    return core_inbox_document(SENDER, document_type, title, body, reference)


def send_inbox(session: Session, *, token: str, procedure: str, payload: dict[str, Any]) -> str:
    """Queue an inbox document in the outbox, in the caller's transaction."""
    return queue_inbox(session, OutboxEvent, token=token, procedure=procedure, payload=payload)
