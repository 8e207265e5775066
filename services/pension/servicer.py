"""gRPC ↔ use cases for ``mynumber.pension.v1.Pension`` (conversion only, no rules)."""

from __future__ import annotations

import grpc
from mynumber.pension.v1 import pension_pb2, pension_pb2_grpc

from mynumber_core.alerts import alert_fields
from mynumber_core.facts import FormIdentity
from services.pension.cards import CardSignature
from services.pension.domain import ExemptionLevel
from services.pension.models import Alert
from services.pension.usecases import ClaimView, ExemptionView, PensionService

_LEVELS = {
    ExemptionLevel.NONE: pension_pb2.EXEMPTION_LEVEL_NONE,
    ExemptionLevel.FULL: pension_pb2.EXEMPTION_LEVEL_FULL,
    ExemptionLevel.THREE_QUARTERS: pension_pb2.EXEMPTION_LEVEL_THREE_QUARTERS,
    ExemptionLevel.HALF: pension_pb2.EXEMPTION_LEVEL_HALF,
    ExemptionLevel.QUARTER: pension_pb2.EXEMPTION_LEVEL_QUARTER,
}


def _identity(msg: pension_pb2.FormIdentity) -> FormIdentity:
    return FormIdentity.parse(msg.my_number, msg.name, msg.birth_date, msg.sex, msg.address)


def _exemption(view: ExemptionView) -> pension_pb2.ExemptionDecision:
    return pension_pb2.ExemptionDecision(
        application_id=view.application_id,
        basic_pension_number=view.basic_pension_number,
        fiscal_year=view.fiscal_year,
        income_year=view.income_year,
        level=_LEVELS[view.level],
        income_yen=view.income,
        dependents=view.dependents,
        reason=view.reason,
        channel=view.channel,
        rejected=view.rejected,
    )


def _claim(view: ClaimView) -> pension_pb2.ClaimDecision:
    return pension_pb2.ClaimDecision(
        claim_id=view.claim_id,
        basic_pension_number=view.basic_pension_number,
        status=pension_pb2.CLAIM_STATUS_APPROVED
        if view.approved
        else pension_pb2.CLAIM_STATUS_REJECTED,
        contribution_months=view.contribution_months,
        age=view.age,
        annual_amount_yen=view.annual_amount,
        reason=view.reason,
        account_reference=view.account_reference,
        payout_status=view.payout_status,
        hold_reason=view.hold_reason,
    )


class PensionServicer(pension_pb2_grpc.PensionServicer):
    """Thin adapter over :class:`PensionService`."""

    def __init__(self, service: PensionService) -> None:
        self._service = service

    def Enrol(  # noqa: N802
        self, request: pension_pb2.EnrolRequest, context: grpc.ServicerContext
    ) -> pension_pb2.EnrolResponse:
        number, already = self._service.enrol(
            _identity(request.identity), request.category, request.enrolled_on
        )
        return pension_pb2.EnrolResponse(basic_pension_number=number, already_enrolled=already)

    def GetRecord(  # noqa: N802
        self, request: pension_pb2.GetRecordRequest, context: grpc.ServicerContext
    ) -> pension_pb2.PensionRecord:
        record = self._service.get_record(request.basic_pension_number)
        return pension_pb2.PensionRecord(
            basic_pension_number=record.basic_pension_number,
            category=int(record.category),  # type: ignore[arg-type]
            enrolled_on=record.enrolled_on.isoformat(),
            contribution_months=record.contribution_months,
            contributions=[
                pension_pb2.YearContributions(
                    fiscal_year=y.fiscal_year,
                    months_paid=y.months_paid,
                    months_exempt=y.months_exempt,
                    amount_paid_yen=y.amount_paid,
                )
                for y in record.years
            ],
            exemptions=[_exemption(e) for e in record.exemptions],
            claims=[_claim(c) for c in record.claims],
        )

    def RecordContribution(  # noqa: N802
        self, request: pension_pb2.RecordContributionRequest, context: grpc.ServicerContext
    ) -> pension_pb2.RecordContributionResponse:
        in_year, total, already = self._service.record_contribution(
            request.basic_pension_number,
            request.fiscal_year,
            request.months_paid,
            request.amount_yen,
            request.receipt_id,
        )
        return pension_pb2.RecordContributionResponse(
            months_paid_in_year=in_year, contribution_months=total, already_recorded=already
        )

    def ApplyExemption(  # noqa: N802
        self, request: pension_pb2.ApplyExemptionRequest, context: grpc.ServicerContext
    ) -> pension_pb2.ExemptionDecision:
        return _exemption(
            self._service.apply_exemption(
                _identity(request.identity), request.fiscal_year, request.application_id
            )
        )

    def FileClaim(  # noqa: N802
        self, request: pension_pb2.FileClaimRequest, context: grpc.ServicerContext
    ) -> pension_pb2.ClaimDecision:
        card = None
        if request.HasField("card"):
            card = CardSignature(
                bytes(request.card.certificate_pem),
                bytes(request.card.signature),
                request.card.nonce,
            )
        return _claim(
            self._service.file_claim(
                request.basic_pension_number, request.claim_id, card, request.claim_pin
            )
        )

    def ReleaseHeldPayments(  # noqa: N802
        self, request: pension_pb2.ReleaseHeldPaymentsRequest, context: grpc.ServicerContext
    ) -> pension_pb2.ReleaseHeldPaymentsResponse:
        released, still = self._service.release_held_payments()
        return pension_pb2.ReleaseHeldPaymentsResponse(
            released=[_claim(v) for v in released], still_held=still
        )

    def ListAlerts(  # noqa: N802
        self, request: pension_pb2.ListAlertsRequest, context: grpc.ServicerContext
    ) -> pension_pb2.ListAlertsResponse:
        return pension_pb2.ListAlertsResponse(
            alerts=[_alert(a) for a in self._service.list_alerts(request.limit)]
        )

    def ApproveSharedAccount(  # noqa: N802
        self, request: pension_pb2.ApproveSharedAccountRequest, context: grpc.ServicerContext
    ) -> pension_pb2.Alert:
        return _alert(
            self._service.approve_shared_account(
                request.basic_pension_number, request.alert_id, request.operator_id
            )
        )


def _alert(a: Alert) -> pension_pb2.Alert:
    return pension_pb2.Alert(**alert_fields(a), basic_pension_number=a.basic_pension_number)
