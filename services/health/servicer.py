"""HealthInsurance servicer: protobuf ↔ use-case values only (errors are domain exceptions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import grpc
from mynumber.healthinsurance.v1 import health_insurance_pb2 as pb
from mynumber.healthinsurance.v1 import health_insurance_pb2_grpc
from mynumber.registry.v1 import registry_pb2

from mynumber_core import errors
from services.health.domain import (
    ChronicCare,
    CoverageStatus,
    ExpenseCategory,
    IncomeCategory,
    PlanType,
)
from services.health.usecases import EnrolCommand, HealthInsurer, InsuredRef

_PLANS = {
    pb.PLAN_TYPE_NATIONAL_HEALTH_INSURANCE: PlanType.NATIONAL_HEALTH_INSURANCE,
    pb.PLAN_TYPE_KYOKAI_KENPO: PlanType.KYOKAI_KENPO,
    pb.PLAN_TYPE_LATE_ELDERLY: PlanType.LATE_ELDERLY,
}
_PLAN_TO_PB = {v: k for k, v in _PLANS.items()}
_INCOME = {
    pb.INCOME_CATEGORY_UNSPECIFIED: IncomeCategory.GENERAL,
    pb.INCOME_CATEGORY_GENERAL: IncomeCategory.GENERAL,
    pb.INCOME_CATEGORY_CERTAIN_INCOME: IncomeCategory.CERTAIN_INCOME,
    pb.INCOME_CATEGORY_ACTIVE_EQUIVALENT: IncomeCategory.ACTIVE_EQUIVALENT,
}
_STATUS_TO_PB = {
    CoverageStatus.ACTIVE: pb.COVERAGE_STATUS_ACTIVE,
    CoverageStatus.LAPSED: pb.COVERAGE_STATUS_LAPSED,
    CoverageStatus.PENDING: pb.COVERAGE_STATUS_PENDING,
}
_CATEGORIES = {
    pb.EXPENSE_CATEGORY_OUTPATIENT: ExpenseCategory.OUTPATIENT,
    pb.EXPENSE_CATEGORY_INPATIENT: ExpenseCategory.INPATIENT,
    pb.EXPENSE_CATEGORY_DENTAL: ExpenseCategory.DENTAL,
    pb.EXPENSE_CATEGORY_PHARMACY: ExpenseCategory.PHARMACY,
    pb.EXPENSE_CATEGORY_HOME_NURSING: ExpenseCategory.HOME_NURSING,
}
_CHRONIC = {
    pb.CHRONIC_CARE_DIALYSIS: ChronicCare.DIALYSIS,
    pb.CHRONIC_CARE_OXYGEN_THERAPY: ChronicCare.OXYGEN_THERAPY,
    pb.CHRONIC_CARE_VENTILATOR: ChronicCare.VENTILATOR,
    pb.CHRONIC_CARE_INSULIN: ChronicCare.INSULIN,
    pb.CHRONIC_CARE_INTRACTABLE_DISEASE: ChronicCare.INTRACTABLE_DISEASE,
}
V = TypeVar("V")

_SEX = {registry_pb2.SEX_MALE: "male", registry_pb2.SEX_FEMALE: "female"}


def _lookup(table: Mapping[Any, V], value: object, message: str) -> V:
    try:
        return table[value]
    except KeyError:
        raise errors.InvalidInput(message) from None


class HealthInsuranceServicer(health_insurance_pb2_grpc.HealthInsuranceServicer):
    """Thin adapter over :class:`HealthInsurer`."""

    def __init__(self, insurer: HealthInsurer) -> None:
        self._insurer = insurer

    def Enrol(self, request: pb.EnrolRequest, context: grpc.ServicerContext) -> pb.EnrolResponse:  # noqa: N802
        plan = _lookup(
            _PLANS,
            request.plan,
            "plan is required: national_health_insurance, kyokai_kenpo or late_elderly",
        )
        income = _lookup(_INCOME, request.income_category, "income_category is not known")
        result = self._insurer.enrol(
            EnrolCommand(
                my_number=request.my_number,
                name=request.facts.name,
                birth_date=request.facts.birth_date,
                sex=_SEX.get(request.facts.sex, ""),
                address=request.facts.address,
                insurer_number=request.insurer_number,
                plan=plan,
                symbol=request.insured.symbol,
                number=request.insured.number,
                branch=request.insured.branch,
                valid_from=request.valid_from,
                valid_to=request.valid_to,
                income=income,
                idempotency_key=request.idempotency_key,
            )
        )
        return pb.EnrolResponse(
            token=result.token,
            coverage_id=result.coverage_id,
            copay_percent=result.copay_percent,
        )

    def CheckEligibility(  # noqa: N802
        self, request: pb.CheckEligibilityRequest, context: grpc.ServicerContext
    ) -> pb.CheckEligibilityResponse:
        subject: str | InsuredRef
        which = request.WhichOneof("subject")
        if which == "token":
            subject = request.token
        elif which == "insured":
            ref = request.insured
            subject = InsuredRef(
                ref.insurer_number, ref.insured.symbol, ref.insured.number, ref.insured.branch
            )
        else:
            raise errors.InvalidInput("give either token or insured (insurer + insured number)")
        result = self._insurer.check_eligibility(subject, request.on_date, request.checked_by)
        return pb.CheckEligibilityResponse(
            status=_STATUS_TO_PB[result.status],
            plan=_PLAN_TO_PB[result.plan],
            copay_percent=result.copay_percent,
            insurer_number=result.insurer_number,
            insured=pb.InsuredNumber(
                symbol=result.insured.symbol,
                number=result.insured.number,
                branch=result.insured.branch,
            ),
            valid_from=result.valid_from.isoformat(),
            valid_to=result.last_day.isoformat() if result.last_day else "",
            check_id=result.check_id,
            token=result.token,
        )

    def RecordMedicalExpense(  # noqa: N802
        self, request: pb.RecordMedicalExpenseRequest, context: grpc.ServicerContext
    ) -> pb.RecordMedicalExpenseResponse:
        category = _lookup(
            _CATEGORIES,
            request.category,
            "category is required: outpatient, inpatient, dental, pharmacy or home_nursing",
        )
        expense_id = self._insurer.record_medical_expense(
            request.token,
            request.date,
            request.provider,
            request.amount_yen,
            category,
            request.idempotency_key,
        )
        return pb.RecordMedicalExpenseResponse(expense_id=expense_id)

    def RecordVaccination(  # noqa: N802
        self, request: pb.RecordVaccinationRequest, context: grpc.ServicerContext
    ) -> pb.RecordVaccinationResponse:
        vaccination_id = self._insurer.record_vaccination(
            request.token, request.vaccine, request.dose, request.date, request.idempotency_key
        )
        return pb.RecordVaccinationResponse(vaccination_id=vaccination_id)

    def SetCareFlags(  # noqa: N802
        self, request: pb.SetCareFlagsRequest, context: grpc.ServicerContext
    ) -> pb.SetCareFlagsResponse:
        chronic = [
            _lookup(_CHRONIC, value, "chronic_care contains an unknown or unspecified value")
            for value in request.chronic_care
        ]
        self._insurer.set_care_flags(
            request.token, request.disability_grade, chronic, request.needs_evacuation_assistance
        )
        return pb.SetCareFlagsResponse()

    def NotifyVaccinationDue(  # noqa: N802
        self, request: pb.NotifyVaccinationDueRequest, context: grpc.ServicerContext
    ) -> pb.NotifyVaccinationDueResponse:
        notice_id = self._insurer.notify_vaccination_due(
            request.token, request.vaccine, request.due_by, request.idempotency_key
        )
        return pb.NotifyVaccinationDueResponse(notice_id=notice_id)
