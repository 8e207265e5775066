"""gRPC ↔ use cases for ``mynumber.tax.v1.Tax`` (conversion only, no rules)."""

from __future__ import annotations

import grpc
from mynumber.tax.v1 import tax_pb2, tax_pb2_grpc

from mynumber_core.alerts import alert_fields
from mynumber_core.facts import FormIdentity
from mynumber_core.interceptors import status_code
from services.tax.models import Alert
from services.tax.usecases import IncomeView, RefundView, TaxService
from services.tax.usecases.bulk_enrolment import RawForm, Registered
from services.tax.usecases.bulk_income import RawIncome


def _income(view: IncomeView) -> tax_pb2.IncomeRecord:
    income = view.income
    return tax_pb2.IncomeRecord(
        reference_number=view.reference_number,
        year=income.year,
        salary_income_yen=income.salary,
        employment_income_yen=income.employment,
        business_income_yen=income.business,
        total_income_yen=income.total,
        withholding_yen=income.withholding,
        social_insurance_yen=income.social_insurance,
    )


def _refund(view: RefundView) -> tax_pb2.Refund:
    return tax_pb2.Refund(
        refund_id=view.refund_id,
        reference_number=view.reference_number,
        year=view.year,
        amount_yen=view.amount,
        status=tax_pb2.REFUND_STATUS_RELEASED if view.released else tax_pb2.REFUND_STATUS_HELD,
        account_reference=view.account_reference,
        hold_reason=view.hold_reason,
        already_issued=view.already_issued,
    )


class TaxServicer(tax_pb2_grpc.TaxServicer):
    """Thin adapter over :class:`TaxService`."""

    def __init__(self, service: TaxService) -> None:
        self._service = service

    def RegisterTaxpayer(  # noqa: N802
        self, request: tax_pb2.RegisterTaxpayerRequest, context: grpc.ServicerContext
    ) -> tax_pb2.RegisterTaxpayerResponse:
        i = request.identity
        number, already = self._service.register(
            FormIdentity.parse(i.my_number, i.name, i.birth_date, i.sex, i.address)
        )
        return tax_pb2.RegisterTaxpayerResponse(reference_number=number, already_registered=already)

    def RegisterTaxpayers(  # noqa: N802
        self, request: tax_pb2.RegisterTaxpayersRequest, context: grpc.ServicerContext
    ) -> tax_pb2.RegisterTaxpayersResponse:
        answers = self._service.register_many(
            [
                RawForm(i.my_number, i.name, i.birth_date, i.sex, i.address)
                for i in request.identities
            ]
        )
        return tax_pb2.RegisterTaxpayersResponse(
            results=[
                tax_pb2.TaxpayerResult(
                    reference_number=a.reference_number, already_registered=a.already
                )
                if isinstance(a, Registered)
                else tax_pb2.TaxpayerResult(code=status_code(a), message=a.message)
                for a in answers
            ]
        )

    def RecordIncome(  # noqa: N802
        self, request: tax_pb2.RecordIncomeRequest, context: grpc.ServicerContext
    ) -> tax_pb2.IncomeRecord:
        return _income(
            self._service.record_income(
                request.reference_number,
                request.year,
                request.salary_income_yen,
                request.business_income_yen,
                request.withholding_yen,
                request.social_insurance_yen,
            )
        )

    def RecordIncomes(  # noqa: N802
        self, request: tax_pb2.RecordIncomesRequest, context: grpc.ServicerContext
    ) -> tax_pb2.RecordIncomesResponse:
        answers = self._service.record_incomes(
            [
                RawIncome(
                    r.reference_number,
                    r.year,
                    r.salary_income_yen,
                    r.business_income_yen,
                    r.withholding_yen,
                    r.social_insurance_yen,
                )
                for r in request.records
            ]
        )
        return tax_pb2.RecordIncomesResponse(
            results=[
                tax_pb2.IncomeResult(record=_income(a))
                if isinstance(a, IncomeView)
                else tax_pb2.IncomeResult(code=status_code(a), message=a.message)
                for a in answers
            ]
        )

    def AssessYear(  # noqa: N802
        self, request: tax_pb2.AssessYearRequest, context: grpc.ServicerContext
    ) -> tax_pb2.Assessment:
        view = self._service.assess_year(request.reference_number, request.year)
        c = view.computation
        return tax_pb2.Assessment(
            reference_number=view.reference_number,
            year=c.year,
            total_income_yen=c.total_income,
            basic_deduction_yen=c.basic_deduction,
            social_insurance_deduction_yen=c.social_insurance_deduction,
            medical_expenses_yen=c.medical_expenses,
            medical_deduction_yen=c.medical_deduction,
            taxable_income_yen=c.taxable_income,
            income_tax_yen=c.income_tax,
            tax_total_yen=c.tax_total,
            withholding_yen=c.withholding,
            paid_yen=c.paid,
            due_yen=c.due,
            refund_yen=c.refund,
            medical_data_found=view.medical_data_found,
        )

    def IssueRefund(  # noqa: N802
        self, request: tax_pb2.IssueRefundRequest, context: grpc.ServicerContext
    ) -> tax_pb2.Refund:
        view = self._service.issue_refund(request.reference_number, request.year, request.claim_pin)
        return _refund(view)

    def ReleaseHeldRefunds(  # noqa: N802
        self, request: tax_pb2.ReleaseHeldRefundsRequest, context: grpc.ServicerContext
    ) -> tax_pb2.ReleaseHeldRefundsResponse:
        released, still = self._service.release_held_refunds()
        return tax_pb2.ReleaseHeldRefundsResponse(
            released=[_refund(v) for v in released], still_held=still
        )

    def ListAlerts(  # noqa: N802
        self, request: tax_pb2.ListAlertsRequest, context: grpc.ServicerContext
    ) -> tax_pb2.ListAlertsResponse:
        return tax_pb2.ListAlertsResponse(
            alerts=[_alert(a) for a in self._service.list_alerts(request.limit)]
        )

    def ApproveSharedAccount(  # noqa: N802
        self, request: tax_pb2.ApproveSharedAccountRequest, context: grpc.ServicerContext
    ) -> tax_pb2.Alert:
        return _alert(
            self._service.approve_shared_account(
                request.reference_number, request.alert_id, request.operator_id
            )
        )

    def IssueWithholdingSlip(  # noqa: N802
        self, request: tax_pb2.IssueWithholdingSlipRequest, context: grpc.ServicerContext
    ) -> tax_pb2.WithholdingSlip:
        view = self._service.issue_withholding_slip(request.reference_number, request.year)
        income = view.income
        return tax_pb2.WithholdingSlip(
            reference_number=view.reference_number,
            year=income.year,
            salary_income_yen=income.salary,
            employment_income_yen=income.employment,
            withholding_yen=income.withholding,
            social_insurance_yen=income.social_insurance,
            document_id=view.document_id,
        )


def _alert(a: Alert) -> tax_pb2.Alert:
    return tax_pb2.Alert(**alert_fields(a), reference_number=a.reference_number)
