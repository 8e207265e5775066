from mynumber.registry.v1 import registry_pb2 as _registry_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PlanType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLAN_TYPE_UNSPECIFIED: _ClassVar[PlanType]
    PLAN_TYPE_NATIONAL_HEALTH_INSURANCE: _ClassVar[PlanType]
    PLAN_TYPE_KYOKAI_KENPO: _ClassVar[PlanType]
    PLAN_TYPE_LATE_ELDERLY: _ClassVar[PlanType]

class IncomeCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INCOME_CATEGORY_UNSPECIFIED: _ClassVar[IncomeCategory]
    INCOME_CATEGORY_GENERAL: _ClassVar[IncomeCategory]
    INCOME_CATEGORY_CERTAIN_INCOME: _ClassVar[IncomeCategory]
    INCOME_CATEGORY_ACTIVE_EQUIVALENT: _ClassVar[IncomeCategory]

class CoverageStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COVERAGE_STATUS_UNSPECIFIED: _ClassVar[CoverageStatus]
    COVERAGE_STATUS_ACTIVE: _ClassVar[CoverageStatus]
    COVERAGE_STATUS_LAPSED: _ClassVar[CoverageStatus]
    COVERAGE_STATUS_PENDING: _ClassVar[CoverageStatus]

class ExpenseCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPENSE_CATEGORY_UNSPECIFIED: _ClassVar[ExpenseCategory]
    EXPENSE_CATEGORY_OUTPATIENT: _ClassVar[ExpenseCategory]
    EXPENSE_CATEGORY_INPATIENT: _ClassVar[ExpenseCategory]
    EXPENSE_CATEGORY_DENTAL: _ClassVar[ExpenseCategory]
    EXPENSE_CATEGORY_PHARMACY: _ClassVar[ExpenseCategory]
    EXPENSE_CATEGORY_HOME_NURSING: _ClassVar[ExpenseCategory]

class ChronicCare(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHRONIC_CARE_UNSPECIFIED: _ClassVar[ChronicCare]
    CHRONIC_CARE_DIALYSIS: _ClassVar[ChronicCare]
    CHRONIC_CARE_OXYGEN_THERAPY: _ClassVar[ChronicCare]
    CHRONIC_CARE_VENTILATOR: _ClassVar[ChronicCare]
    CHRONIC_CARE_INSULIN: _ClassVar[ChronicCare]
    CHRONIC_CARE_INTRACTABLE_DISEASE: _ClassVar[ChronicCare]
PLAN_TYPE_UNSPECIFIED: PlanType
PLAN_TYPE_NATIONAL_HEALTH_INSURANCE: PlanType
PLAN_TYPE_KYOKAI_KENPO: PlanType
PLAN_TYPE_LATE_ELDERLY: PlanType
INCOME_CATEGORY_UNSPECIFIED: IncomeCategory
INCOME_CATEGORY_GENERAL: IncomeCategory
INCOME_CATEGORY_CERTAIN_INCOME: IncomeCategory
INCOME_CATEGORY_ACTIVE_EQUIVALENT: IncomeCategory
COVERAGE_STATUS_UNSPECIFIED: CoverageStatus
COVERAGE_STATUS_ACTIVE: CoverageStatus
COVERAGE_STATUS_LAPSED: CoverageStatus
COVERAGE_STATUS_PENDING: CoverageStatus
EXPENSE_CATEGORY_UNSPECIFIED: ExpenseCategory
EXPENSE_CATEGORY_OUTPATIENT: ExpenseCategory
EXPENSE_CATEGORY_INPATIENT: ExpenseCategory
EXPENSE_CATEGORY_DENTAL: ExpenseCategory
EXPENSE_CATEGORY_PHARMACY: ExpenseCategory
EXPENSE_CATEGORY_HOME_NURSING: ExpenseCategory
CHRONIC_CARE_UNSPECIFIED: ChronicCare
CHRONIC_CARE_DIALYSIS: ChronicCare
CHRONIC_CARE_OXYGEN_THERAPY: ChronicCare
CHRONIC_CARE_VENTILATOR: ChronicCare
CHRONIC_CARE_INSULIN: ChronicCare
CHRONIC_CARE_INTRACTABLE_DISEASE: ChronicCare

class InsuredNumber(_message.Message):
    __slots__ = ("symbol", "number", "branch")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    number: str
    branch: str
    def __init__(self, symbol: _Optional[str] = ..., number: _Optional[str] = ..., branch: _Optional[str] = ...) -> None: ...

class EnrolRequest(_message.Message):
    __slots__ = ("my_number", "facts", "insurer_number", "plan", "insured", "valid_from", "valid_to", "income_category", "idempotency_key")
    MY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    INSURER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    INSURED_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_TO_FIELD_NUMBER: _ClassVar[int]
    INCOME_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    my_number: str
    facts: _registry_pb2.BasicFacts
    insurer_number: str
    plan: PlanType
    insured: InsuredNumber
    valid_from: str
    valid_to: str
    income_category: IncomeCategory
    idempotency_key: str
    def __init__(self, my_number: _Optional[str] = ..., facts: _Optional[_Union[_registry_pb2.BasicFacts, _Mapping]] = ..., insurer_number: _Optional[str] = ..., plan: _Optional[_Union[PlanType, str]] = ..., insured: _Optional[_Union[InsuredNumber, _Mapping]] = ..., valid_from: _Optional[str] = ..., valid_to: _Optional[str] = ..., income_category: _Optional[_Union[IncomeCategory, str]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class EnrolResponse(_message.Message):
    __slots__ = ("token", "coverage_id", "copay_percent")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_ID_FIELD_NUMBER: _ClassVar[int]
    COPAY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    token: str
    coverage_id: str
    copay_percent: int
    def __init__(self, token: _Optional[str] = ..., coverage_id: _Optional[str] = ..., copay_percent: _Optional[int] = ...) -> None: ...

class EnrolMembersRequest(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[EnrolRequest]
    def __init__(self, members: _Optional[_Iterable[_Union[EnrolRequest, _Mapping]]] = ...) -> None: ...

class MemberResult(_message.Message):
    __slots__ = ("code", "message", "token", "coverage_id", "copay_percent", "already_enrolled")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_ID_FIELD_NUMBER: _ClassVar[int]
    COPAY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    ALREADY_ENROLLED_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    token: str
    coverage_id: str
    copay_percent: int
    already_enrolled: bool
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., token: _Optional[str] = ..., coverage_id: _Optional[str] = ..., copay_percent: _Optional[int] = ..., already_enrolled: _Optional[bool] = ...) -> None: ...

class EnrolMembersResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[MemberResult]
    def __init__(self, results: _Optional[_Iterable[_Union[MemberResult, _Mapping]]] = ...) -> None: ...

class InsuredRef(_message.Message):
    __slots__ = ("insurer_number", "insured")
    INSURER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    INSURED_FIELD_NUMBER: _ClassVar[int]
    insurer_number: str
    insured: InsuredNumber
    def __init__(self, insurer_number: _Optional[str] = ..., insured: _Optional[_Union[InsuredNumber, _Mapping]] = ...) -> None: ...

class CheckEligibilityRequest(_message.Message):
    __slots__ = ("token", "insured", "on_date", "checked_by")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    INSURED_FIELD_NUMBER: _ClassVar[int]
    ON_DATE_FIELD_NUMBER: _ClassVar[int]
    CHECKED_BY_FIELD_NUMBER: _ClassVar[int]
    token: str
    insured: InsuredRef
    on_date: str
    checked_by: str
    def __init__(self, token: _Optional[str] = ..., insured: _Optional[_Union[InsuredRef, _Mapping]] = ..., on_date: _Optional[str] = ..., checked_by: _Optional[str] = ...) -> None: ...

class CheckEligibilityResponse(_message.Message):
    __slots__ = ("status", "plan", "copay_percent", "insurer_number", "insured", "valid_from", "valid_to", "check_id", "token")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    COPAY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    INSURER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    INSURED_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_TO_FIELD_NUMBER: _ClassVar[int]
    CHECK_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    status: CoverageStatus
    plan: PlanType
    copay_percent: int
    insurer_number: str
    insured: InsuredNumber
    valid_from: str
    valid_to: str
    check_id: str
    token: str
    def __init__(self, status: _Optional[_Union[CoverageStatus, str]] = ..., plan: _Optional[_Union[PlanType, str]] = ..., copay_percent: _Optional[int] = ..., insurer_number: _Optional[str] = ..., insured: _Optional[_Union[InsuredNumber, _Mapping]] = ..., valid_from: _Optional[str] = ..., valid_to: _Optional[str] = ..., check_id: _Optional[str] = ..., token: _Optional[str] = ...) -> None: ...

class RecordMedicalExpenseRequest(_message.Message):
    __slots__ = ("token", "date", "provider", "amount_yen", "category", "idempotency_key")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_YEN_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    token: str
    date: str
    provider: str
    amount_yen: int
    category: ExpenseCategory
    idempotency_key: str
    def __init__(self, token: _Optional[str] = ..., date: _Optional[str] = ..., provider: _Optional[str] = ..., amount_yen: _Optional[int] = ..., category: _Optional[_Union[ExpenseCategory, str]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RecordMedicalExpenseResponse(_message.Message):
    __slots__ = ("expense_id",)
    EXPENSE_ID_FIELD_NUMBER: _ClassVar[int]
    expense_id: str
    def __init__(self, expense_id: _Optional[str] = ...) -> None: ...

class RecordVaccinationRequest(_message.Message):
    __slots__ = ("token", "vaccine", "dose", "date", "idempotency_key")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DOSE_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    token: str
    vaccine: str
    dose: int
    date: str
    idempotency_key: str
    def __init__(self, token: _Optional[str] = ..., vaccine: _Optional[str] = ..., dose: _Optional[int] = ..., date: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RecordVaccinationResponse(_message.Message):
    __slots__ = ("vaccination_id",)
    VACCINATION_ID_FIELD_NUMBER: _ClassVar[int]
    vaccination_id: str
    def __init__(self, vaccination_id: _Optional[str] = ...) -> None: ...

class SetCareFlagsRequest(_message.Message):
    __slots__ = ("token", "disability_grade", "chronic_care", "needs_evacuation_assistance")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    DISABILITY_GRADE_FIELD_NUMBER: _ClassVar[int]
    CHRONIC_CARE_FIELD_NUMBER: _ClassVar[int]
    NEEDS_EVACUATION_ASSISTANCE_FIELD_NUMBER: _ClassVar[int]
    token: str
    disability_grade: int
    chronic_care: _containers.RepeatedScalarFieldContainer[ChronicCare]
    needs_evacuation_assistance: bool
    def __init__(self, token: _Optional[str] = ..., disability_grade: _Optional[int] = ..., chronic_care: _Optional[_Iterable[_Union[ChronicCare, str]]] = ..., needs_evacuation_assistance: _Optional[bool] = ...) -> None: ...

class SetCareFlagsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NotifyVaccinationDueRequest(_message.Message):
    __slots__ = ("token", "vaccine", "due_by", "idempotency_key")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DUE_BY_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    token: str
    vaccine: str
    due_by: str
    idempotency_key: str
    def __init__(self, token: _Optional[str] = ..., vaccine: _Optional[str] = ..., due_by: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class NotifyVaccinationDueResponse(_message.Message):
    __slots__ = ("notice_id",)
    NOTICE_ID_FIELD_NUMBER: _ClassVar[int]
    notice_id: str
    def __init__(self, notice_id: _Optional[str] = ...) -> None: ...
