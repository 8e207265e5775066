"""Events delivered to the insurer: ``address_changed`` (moving one-stop) keeps the insured
person's mailing address current."""

from __future__ import annotations

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.provider import DeliveredEvent
from services.health import domain
from services.health.models import Insured
from services.health.usecases.context import Context

log = structlog.get_logger("mynumber.health")


class Events:
    """Handlers of events other domains publish about an insured person."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def on_address_changed(self, session: Session, event: DeliveredEvent) -> None:
        """Keep the insured person's mailing address current (moving one-stop)."""
        ctx = self._ctx
        raw = event.payload.get("address", event.payload.get("new_address"))
        if not isinstance(raw, str):
            raise errors.InvalidInput("address_changed needs an 'address' text field")
        address = domain.clean_text("address", raw, 200)
        insured = session.scalars(select(Insured).where(Insured.token == event.token)).first()
        if insured is None:
            # Linked at the registry but never enrolled here (e.g. an enrolment that failed
            # after linking): nothing to update, and retrying would not change that.
            log.info("address change for a person without coverage ignored")
            return
        insured.address = address
        insured.address_version += 1
        insured.updated_at = ctx.clock()
