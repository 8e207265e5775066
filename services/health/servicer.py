"""HealthInsurance servicer: protobuf ↔ use-case values only (errors are domain exceptions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import grpc
from mynumber.healthinsurance.v1 import health_insurance_pb2 as pb
from mynumber.healthinsurance.v1 import health_insurance_pb2_grpc
from mynumber.registry.v1 import registry_pb2

from mynumber_core import errors
from mynumber_core.interceptors import status_code
from services.health.domain import (
    ChronicCare,
    CoverageStatus,
    ExpenseCategory,
    IncomeCategory,
    PlanType,
)
from services.health.usecases import UseCases
from services.health.usecases.bulk_enrolment import Member
from services.health.usecases.eligibility import InsuredRef
from services.health.usecases.enrolment import EnrolCommand

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


def _command(request: pb.EnrolRequest) -> EnrolCommand:
    """The enrolment as received (InvalidInput for a plan or income category not known)."""
    plan = _lookup(
        _PLANS,
        request.plan,
        "plan is required: national_health_insurance, kyokai_kenpo or late_elderly",
    )
    income = _lookup(_INCOME, request.income_category, "income_category is not known")
    return EnrolCommand(
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


class HealthInsuranceServicer(health_insurance_pb2_grpc.HealthInsuranceServicer):
    """Thin adapter: each method delegates to one feature of the use cases."""

    def __init__(self, usecases: UseCases) -> None:
        self._uc = usecases

    def Enrol(self, request: pb.EnrolRequest, context: grpc.ServicerContext) -> pb.EnrolResponse:  # noqa: N802
        result = self._uc.enrolment.enrol(_command(request))
        return pb.EnrolResponse(
            token=result.token,
            coverage_id=result.coverage_id,
            copay_percent=result.copay_percent,
        )

    def EnrolMembers(  # noqa: N802
        self, request: pb.EnrolMembersRequest, context: grpc.ServicerContext
    ) -> pb.EnrolMembersResponse:
        commands: list[EnrolCommand | errors.InvalidInput] = []
        for member in request.members:
            try:
                commands.append(_command(member))
            except errors.InvalidInput as exc:  # answered for this record; the others go on
                commands.append(exc)
        return pb.EnrolMembersResponse(
            results=[
                pb.MemberResult(
                    token=a.enrolled.token,
                    coverage_id=a.enrolled.coverage_id,
                    copay_percent=a.enrolled.copay_percent,
                    already_enrolled=a.already,
                )
                if isinstance(a, Member)
                else pb.MemberResult(code=status_code(a), message=a.message)
                for a in self._uc.bulk_enrolment.enrol_many(commands)
            ]
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
        result = self._uc.eligibility.check_eligibility(
            subject, request.on_date, request.checked_by
        )
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
        expense_id = self._uc.expenses.record_medical_expense(
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
        vaccination_id = self._uc.vaccinations.record_vaccination(
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
        self._uc.care_flags.set_care_flags(
            request.token, request.disability_grade, chronic, request.needs_evacuation_assistance
        )
        return pb.SetCareFlagsResponse()

    def NotifyVaccinationDue(  # noqa: N802
        self, request: pb.NotifyVaccinationDueRequest, context: grpc.ServicerContext
    ) -> pb.NotifyVaccinationDueResponse:
        notice_id = self._uc.vaccinations.notify_vaccination_due(
            request.token, request.vaccine, request.due_by, request.idempotency_key
        )
        return pb.NotifyVaccinationDueResponse(notice_id=notice_id)
