"""The tax service's operations, one module per feature.

* :mod:`.taxpayers` — registration, income by year, the withholding slip, the ``income`` item,
  address changes;
* :mod:`.bulk_enrolment`, :mod:`.bulk_income` — many taxpayers, or many years' income, in
  one call;
* :mod:`.assessments` — assessing a year (medical-expense deduction from the insurer), the
  ``tax_summary`` and ``amounts_due`` items, payments from the portal;
* :mod:`.refunds` — refunds under the payout policy, the release job, the operator's review.

Each feature takes the :class:`~.context.TaxContext` built in ``wiring``. Every operation
validates its input first (a bad request changes nothing). Data from other domains comes only
through the registry port under the procedure the access-rights table allows: medical
expenses from the insurer (``tax.medical_deduction``), the payout account from the portal and
the address from the municipality (``tax.refund``). Inbox documents are written to the outbox
in the same transaction as the change.

:class:`TaxService` is the one entry point the servicer and the provider use; it only
delegates to the features.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from mynumber_core.calendar import today_jst
from mynumber_core.clock import Clock, utc_now
from mynumber_core.db import Database
from mynumber_core.errors import DomainError
from mynumber_core.facts import FormIdentity
from mynumber_core.payout import PayoutPolicy
from mynumber_core.provider import DeliveredEvent, ProvideCall
from mynumber_core.registry_client import RegistryClient
from services.tax.models import Alert
from services.tax.usecases.assessments import Assessments
from services.tax.usecases.bulk_enrolment import BulkEnrolment, RawForm, Registered
from services.tax.usecases.bulk_income import BulkIncome, RawIncome
from services.tax.usecases.context import TaxContext
from services.tax.usecases.refunds import Refunds
from services.tax.usecases.taxpayers import Taxpayers
from services.tax.usecases.views import AssessmentView, IncomeView, RefundView, SlipView

__all__ = [
    "AssessmentView",
    "IncomeView",
    "RefundView",
    "SlipView",
    "TaxContext",
    "TaxService",
    "bootstrap",
]


class TaxService:
    """The tax use cases behind one front; each call goes to its feature module."""

    def __init__(
        self,
        db: Database,
        registry: RegistryClient,
        *,
        payout_policy: PayoutPolicy | None = None,
        wake_outbox: Callable[[], None] = lambda: None,
        today: Callable[[], dt.date] = today_jst,
        clock: Clock = utc_now,
    ) -> None:
        ctx = TaxContext(
            db,
            registry,
            clock=clock,
            today=today,
            wake_outbox=wake_outbox,
            payout_policy=payout_policy or PayoutPolicy(),
        )
        self._wire(ctx)

    @classmethod
    def from_context(cls, ctx: TaxContext) -> TaxService:
        """The use cases over a context built elsewhere (``wiring``)."""
        service = cls.__new__(cls)
        service._wire(ctx)
        return service

    def _wire(self, ctx: TaxContext) -> None:
        self.ctx = ctx
        self.taxpayers = Taxpayers(ctx)
        self.bulk = BulkEnrolment(ctx)
        self.bulk_income = BulkIncome(ctx)
        self.assessments = Assessments(ctx)
        self.refunds = Refunds(ctx)

    # taxpayers and income
    def register(self, identity: FormIdentity) -> tuple[str, bool]:
        """See :meth:`Taxpayers.register`."""
        return self.taxpayers.register(identity)

    def register_many(self, forms: Sequence[RawForm]) -> list[Registered | DomainError]:
        """See :meth:`BulkEnrolment.register_many`."""
        return self.bulk.register_many(forms)

    def record_income(
        self,
        reference_number: str,
        year: int,
        salary: int,
        business: int,
        withholding: int,
        social_insurance: int,
    ) -> IncomeView:
        """See :meth:`Taxpayers.record_income`."""
        return self.taxpayers.record_income(
            reference_number, year, salary, business, withholding, social_insurance
        )

    def record_incomes(self, records: Sequence[RawIncome]) -> list[IncomeView | DomainError]:
        """See :meth:`BulkIncome.record_many`."""
        return self.bulk_income.record_many(records)

    def issue_withholding_slip(self, reference_number: str, year: int) -> SlipView:
        """See :meth:`Taxpayers.issue_withholding_slip`."""
        return self.taxpayers.issue_withholding_slip(reference_number, year)

    def provide_income(self, call: ProvideCall) -> dict[str, Any]:
        """See :meth:`Taxpayers.provide_income`."""
        return self.taxpayers.provide_income(call)

    def on_address_changed(self, session: Session, event: DeliveredEvent) -> None:
        """See :meth:`Taxpayers.on_address_changed`."""
        self.taxpayers.on_address_changed(session, event)

    # assessments and amounts due
    def assess_year(self, reference_number: str, year: int) -> AssessmentView:
        """See :meth:`Assessments.assess_year`."""
        return self.assessments.assess_year(reference_number, year)

    def provide_tax_summary(self, call: ProvideCall) -> dict[str, Any]:
        """See :meth:`Assessments.provide_tax_summary`."""
        return self.assessments.provide_tax_summary(call)

    def provide_amounts_due(self, call: ProvideCall) -> dict[str, Any]:
        """See :meth:`Assessments.provide_amounts_due`."""
        return self.assessments.provide_amounts_due(call)

    def on_payment(self, session: Session, event: DeliveredEvent) -> None:
        """See :meth:`Assessments.on_payment`."""
        self.assessments.on_payment(session, event)

    # refunds
    def issue_refund(self, reference_number: str, year: int, claim_pin: str = "") -> RefundView:
        """See :meth:`Refunds.issue_refund`."""
        return self.refunds.issue_refund(reference_number, year, claim_pin)

    def release_held_refunds(self) -> tuple[list[RefundView], int]:
        """See :meth:`Refunds.release_held_refunds`."""
        return self.refunds.release_held_refunds()

    def approve_shared_account(
        self, reference_number: str, alert_id: str, operator_id: str
    ) -> Alert:
        """See :meth:`Refunds.approve_shared_account`."""
        return self.refunds.approve_shared_account(reference_number, alert_id, operator_id)

    def list_alerts(self, limit: int = 100) -> list[Alert]:
        """See :meth:`Refunds.list_alerts`."""
        return self.refunds.list_alerts(limit)


def bootstrap(ctx: TaxContext) -> TaxService:
    """Wire every feature of the tax service over one context (what ``wiring`` calls)."""
    return TaxService.from_context(ctx)
