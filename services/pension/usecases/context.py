"""What every pension use case module shares: its context (database, registry port, clock,
wake-ups, card checks, payout policy), the procedures it acts under and the inbox document."""

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
from mynumber_core.payout import SHARED_ACCOUNT_ALERT, PayoutPolicy, SharedAccountReview
from mynumber_core.registry_client import RegistryClient
from services.pension.cards import ClaimCards
from services.pension.models import Alert, Claim, OutboxEvent

log = structlog.get_logger("mynumber.pension")
EXEMPTION = "pension.exemption"
CLAIM = "pension.claim"
SENDER = "日本年金機構 (Japan Pension Service)"
SHARED_ACCOUNT = SHARED_ACCOUNT_ALERT


def _nothing() -> None:
    return None


@dataclass
class PensionContext:
    """The dependencies of the pension use cases, built once in ``wiring`` (tests pass fakes)."""

    db: Database
    registry: RegistryClient
    clock: Clock = utc_now
    today: Callable[[], dt.date] = today_jst
    wake_outbox: Callable[[], None] = _nothing
    wake_applications: Callable[[], None] = _nothing
    cards: ClaimCards | None = None
    payout_policy: PayoutPolicy = field(default_factory=PayoutPolicy)
    review: SharedAccountReview = field(init=False)
    """Alerts about claim payments held for a shared account, and their approval."""

    def __post_init__(self) -> None:
        self.review = SharedAccountReview(
            self.db,
            Alert,
            owner_field="basic_pension_number",
            held_account=_held_claim_account,
            not_found="no such alert for this basic pension number",
            not_held="the claim payment of this alert is not held",
            clock=self.clock,
        )


def _held_claim_account(session: Session, claim_id: str) -> str | None:
    """The masked account a claim payment is held for (None: not held)."""
    claim = session.get(Claim, claim_id)
    if claim is None or claim.payout_status != "held":
        return None
    return claim.account_reference


def inbox_document(
    document_type: str, title: tuple[str, str], body: tuple[str, str], reference: str
) -> dict[str, Any]:
    """The payload of an ``inbox.document`` event from the pension service (see its README)."""
    return core_inbox_document(SENDER, document_type, title, body, reference)


def send_inbox(session: Session, *, token: str, procedure: str, payload: dict[str, Any]) -> str:
    """Queue an inbox document in the outbox, in the caller's transaction."""
    return queue_inbox(session, OutboxEvent, token=token, procedure=procedure, payload=payload)
