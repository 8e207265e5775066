"""The pension service's operations, one module per feature.

* :mod:`.enrolment` — enrolment, the record, the ``pension_record`` item, address changes;
* :mod:`.contributions` — counter receipts, portal payments, amounts due;
* :mod:`.exemptions` — exemption applications decided from tax income and the household;
* :mod:`.claims` — card-signed old-age pension claims;
* :mod:`.payouts` — held claim payments, the release job and operator alerts;
* :mod:`.applications` — applications filed on the portal (queued, then decided);
* :mod:`.orphans` — the orphan record pool reconciled through the registry;
* :mod:`.record_matches` — the resident's decision on a record that may be theirs, and the
  operators' review queue decisions.

Each feature takes the :class:`~.context.PensionContext` built in ``wiring``. Every operation
validates its input first (a bad request changes nothing), talks to other domains only through
the registry port under the procedure the access-rights table allows, and writes its result
together with any inbox document in one transaction (transactional outbox). Request ids sent
to the hub are derived from the application or claim id, so a retried operation asks the same
question again and the registry can answer from its record.

:class:`PensionService` is the one entry point the servicer and the provider use; it only
delegates to the features.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from mynumber_core.calendar import today_jst
from mynumber_core.clock import Clock, utc_now
from mynumber_core.db import Database
from mynumber_core.facts import FormIdentity
from mynumber_core.payout import PayoutPolicy
from mynumber_core.provider import DeliveredEvent, ProvideCall
from mynumber_core.registry_client import RegistryClient
from services.pension.cards import CardSignature, ClaimCards
from services.pension.models import Alert, Enrolment
from services.pension.usecases.applications import PortalApplications
from services.pension.usecases.claims import Claims
from services.pension.usecases.context import PensionContext
from services.pension.usecases.contributions import Contributions
from services.pension.usecases.enrolment import Enrolments
from services.pension.usecases.exemptions import Exemptions
from services.pension.usecases.payouts import Payouts
from services.pension.usecases.record_matches import RecordMatches
from services.pension.usecases.views import (
    ClaimView,
    DueItem,
    ExemptionView,
    RecordView,
    YearView,
)

__all__ = [
    "ClaimView",
    "DueItem",
    "ExemptionView",
    "FormIdentity",
    "PensionContext",
    "PensionService",
    "RecordView",
    "YearView",
    "bootstrap",
]


class PensionService:
    """The pension use cases behind one front; each call goes to its feature module."""

    def __init__(
        self,
        db: Database,
        registry: RegistryClient,
        *,
        wake_outbox: Callable[[], None] = lambda: None,
        wake_applications: Callable[[], None] = lambda: None,
        today: Callable[[], dt.date] = today_jst,
        cards: ClaimCards | None = None,
        payout_policy: PayoutPolicy | None = None,
        clock: Clock = utc_now,
    ) -> None:
        ctx = PensionContext(
            db,
            registry,
            clock=clock,
            today=today,
            wake_outbox=wake_outbox,
            wake_applications=wake_applications,
            cards=cards,
            payout_policy=payout_policy or PayoutPolicy(),
        )
        self._wire(ctx)

    @classmethod
    def from_context(cls, ctx: PensionContext) -> PensionService:
        """The use cases over a context built elsewhere (``wiring``)."""
        service = cls.__new__(cls)
        service._wire(ctx)
        return service

    def _wire(self, ctx: PensionContext) -> None:
        self.ctx = ctx
        self.enrolments = Enrolments(ctx)
        self.contributions = Contributions(ctx, self.enrolments)
        self.exemptions = Exemptions(ctx)
        self.claims = Claims(ctx, self.enrolments)
        self.payouts = Payouts(ctx)
        self.applications = PortalApplications(ctx, self.exemptions, self.claims)
        self.record_matches = RecordMatches(ctx, self.enrolments)

    @property
    def cards(self) -> ClaimCards | None:
        """The card checks claims use (tests may swap in a fake)."""
        return self.ctx.cards

    @cards.setter
    def cards(self, cards: ClaimCards | None) -> None:
        self.ctx.cards = cards

    # enrolment
    def enrol(
        self, identity: FormIdentity, category: int, enrolled_on: str = ""
    ) -> tuple[str, bool]:
        """See :meth:`Enrolments.enrol`."""
        return self.enrolments.enrol(identity, category, enrolled_on)

    def get_record(self, basic_pension_number: str) -> RecordView:
        """See :meth:`Enrolments.get_record`."""
        return self.enrolments.get_record(basic_pension_number)

    def provide_pension_record(self, call: ProvideCall) -> dict[str, Any]:
        """See :meth:`Enrolments.provide_pension_record`."""
        return self.enrolments.provide_pension_record(call)

    def on_address_changed(self, session: Session, event: DeliveredEvent) -> None:
        """See :meth:`Enrolments.on_address_changed`."""
        self.enrolments.on_address_changed(session, event)

    # contributions
    def record_contribution(
        self, basic_pension_number: str, fiscal_year: int, months: int, amount: int, receipt_id: str
    ) -> tuple[int, int, bool]:
        """See :meth:`Contributions.record_contribution`."""
        return self.contributions.record_contribution(
            basic_pension_number, fiscal_year, months, amount, receipt_id
        )

    def amounts_due(self, session: Session, enrolment: Enrolment) -> list[DueItem]:
        """See :meth:`Contributions.amounts_due`."""
        return self.contributions.amounts_due(session, enrolment)

    def provide_amounts_due(self, call: ProvideCall) -> dict[str, Any]:
        """See :meth:`Contributions.provide_amounts_due`."""
        return self.contributions.provide_amounts_due(call)

    def on_payment(self, session: Session, event: DeliveredEvent) -> None:
        """See :meth:`Contributions.on_payment`."""
        self.contributions.on_payment(session, event)

    # exemptions and portal applications
    def apply_exemption(
        self, identity: FormIdentity, fiscal_year: int, application_id: str
    ) -> ExemptionView:
        """See :meth:`Exemptions.apply_exemption`."""
        return self.exemptions.apply_exemption(identity, fiscal_year, application_id)

    def accept_portal_application(self, session: Session, event: DeliveredEvent) -> None:
        """See :meth:`PortalApplications.accept_portal_application`."""
        self.applications.accept_portal_application(session, event)

    def accept_portal_claim(self, session: Session, event: DeliveredEvent) -> None:
        """See :meth:`PortalApplications.accept_portal_claim`."""
        self.applications.accept_portal_claim(session, event)

    def decide_portal_application(self, row: Any, payload: Mapping[str, Any]) -> None:
        """See :meth:`PortalApplications.decide_portal_application`."""
        self.applications.decide_portal_application(row, payload)

    # claims and payouts
    def file_claim(
        self,
        basic_pension_number: str,
        claim_id: str,
        card: CardSignature | None = None,
        claim_pin: str = "",
    ) -> ClaimView:
        """See :meth:`Claims.file_claim`."""
        return self.claims.file_claim(basic_pension_number, claim_id, card, claim_pin)

    def release_held_payments(self) -> tuple[list[ClaimView], int]:
        """See :meth:`Payouts.release_held_payments`."""
        return self.payouts.release_held_payments()

    def approve_shared_account(
        self, basic_pension_number: str, alert_id: str, operator_id: str
    ) -> Alert:
        """See :meth:`Payouts.approve_shared_account`."""
        return self.payouts.approve_shared_account(basic_pension_number, alert_id, operator_id)

    def list_alerts(self, limit: int = 100) -> list[Alert]:
        """See :meth:`Payouts.list_alerts`."""
        return self.payouts.list_alerts(limit)


def bootstrap(ctx: PensionContext) -> PensionService:
    """Wire every feature of the pension service over one context (what ``wiring`` calls)."""
    return PensionService.from_context(ctx)
