"""Applications from the portal (``application.pension_exemption`` and
``application.pension_claim`` events): queued on delivery, decided by the worker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.outbox import enqueue
from mynumber_core.provider import DeliveredEvent
from services.pension import domain
from services.pension.models import (
    PendingApplication,
)
from services.pension.usecases.claims import Claims
from services.pension.usecases.context import (
    CLAIM,
    EXEMPTION,
    PensionContext,
)
from services.pension.usecases.exemptions import Exemptions


class PortalApplications:
    """Applications the resident filed on the portal, queued and then decided."""

    def __init__(self, ctx: PensionContext, exemptions: Exemptions, claims: Claims) -> None:
        self.ctx = ctx
        self.exemptions = exemptions
        self.claims = claims

    def accept_portal_application(self, session: Session, event: DeliveredEvent) -> None:
        """Deliver ``application.pension_exemption``: queue it for the decision worker."""
        payload = dict(event.payload)
        fiscal_year = payload.get("fiscal_year")
        if not isinstance(fiscal_year, int):
            raise errors.InvalidInput("application.pension_exemption needs an integer fiscal_year")
        self.exemptions.check_year(fiscal_year)
        raw_id = payload.get("application_id") or f"portal-{event.event_id}"
        app_id = domain.parse_key("application_id", str(raw_id)[:64])
        self._queue(
            session, event, EXEMPTION, {"fiscal_year": fiscal_year, "application_id": app_id}
        )

    def accept_portal_claim(self, session: Session, event: DeliveredEvent) -> None:
        """Deliver ``application.pension_claim`` (card-signed on the portal): queue it."""
        raw_id = event.payload.get("application_id") or f"portal-{event.event_id}"
        app_id = domain.parse_key("application_id", str(raw_id)[:64])
        self._queue(session, event, CLAIM, {"application_id": app_id})

    def _queue(
        self, session: Session, event: DeliveredEvent, procedure: str, payload: dict[str, Any]
    ) -> None:
        """Queue a delivered application for the decision worker, then wake it."""
        enqueue(
            session,
            PendingApplication,
            event_type=event.event_type,
            token=event.token,
            procedure=procedure,
            payload=payload,
        )
        self.ctx.wake_applications()

    def decide_portal_application(self, row: Any, payload: Mapping[str, Any]) -> None:
        """Worker: decide a queued portal application (exemption or claim); transient failures
        are retried."""
        if getattr(row, "event_type", "") == "application.pension_claim":
            self.claims.decide_portal_claim(row.token, payload)
            return
        self.exemptions.decide_portal_application(row, payload)
