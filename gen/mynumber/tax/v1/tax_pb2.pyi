from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RefundStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REFUND_STATUS_UNSPECIFIED: _ClassVar[RefundStatus]
    REFUND_STATUS_RELEASED: _ClassVar[RefundStatus]
    REFUND_STATUS_HELD: _ClassVar[RefundStatus]
REFUND_STATUS_UNSPECIFIED: RefundStatus
REFUND_STATUS_RELEASED: RefundStatus
REFUND_STATUS_HELD: RefundStatus

class FormIdentity(_message.Message):
    __slots__ = ("my_number", "name", "birth_date", "sex", "address")
    MY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    my_number: str
    name: str
    birth_date: str
    sex: str
    address: str
    def __init__(self, my_number: _Optional[str] = ..., name: _Optional[str] = ..., birth_date: _Optional[str] = ..., sex: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class RegisterTaxpayerRequest(_message.Message):
    __slots__ = ("identity",)
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    identity: FormIdentity
    def __init__(self, identity: _Optional[_Union[FormIdentity, _Mapping]] = ...) -> None: ...

class RegisterTaxpayerResponse(_message.Message):
    __slots__ = ("reference_number", "already_registered")
    REFERENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ALREADY_REGISTERED_FIELD_NUMBER: _ClassVar[int]
    reference_number: str
    already_registered: bool
    def __init__(self, reference_number: _Optional[str] = ..., already_registered: _Optional[bool] = ...) -> None: ...

class RegisterTaxpayersRequest(_message.Message):
    __slots__ = ("identities",)
    IDENTITIES_FIELD_NUMBER: _ClassVar[int]
    identities: _containers.RepeatedCompositeFieldContainer[FormIdentity]
    def __init__(self, identities: _Optional[_Iterable[_Union[FormIdentity, _Mapping]]] = ...) -> None: ...

class TaxpayerResult(_message.Message):
    __slots__ = ("code", "message", "reference_number", "already_registered")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ALREADY_REGISTERED_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    reference_number: str
    already_registered: bool
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., reference_number: _Optional[str] = ..., already_registered: _Optional[bool] = ...) -> None: ...

class RegisterTaxpayersResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[TaxpayerResult]
    def __init__(self, results: _Optional[_Iterable[_Union[TaxpayerResult, _Mapping]]] = ...) -> None: ...

class RecordIncomeRequest(_message.Message):
    __slots__ = ("reference_number", "year", "salary_income_yen", "business_income_yen", "withholding_yen", "social_insurance_yen")
    REFERENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    SALARY_INCOME_YEN_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_INCOME_YEN_FIELD_NUMBER: _ClassVar[int]
    WITHHOLDING_YEN_FIELD_NUMBER: _ClassVar[int]
    SOCIAL_INSURANCE_YEN_FIELD_NUMBER: _ClassVar[int]
    reference_number: str
    year: int
    salary_income_yen: int
    business_income_yen: int
    withholding_yen: int
    social_insurance_yen: int
    def __init__(self, reference_number: _Optional[str] = ..., year: _Optional[int] = ..., salary_income_yen: _Optional[int] = ..., business_income_yen: _Optional[int] = ..., withholding_yen: _Optional[int] = ..., social_insurance_yen: _Optional[int] = ...) -> None: ...

class IncomeRecord(_message.Message):
    __slots__ = ("reference_number", "year", "salary_income_yen", "employment_income_yen", "business_income_yen", "total_income_yen", "withholding_yen", "social_insurance_yen")
    REFERENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    SALARY_INCOME_YEN_FIELD_NUMBER: _ClassVar[int]
    EMPLOYMENT_INCOME_YEN_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_INCOME_YEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_INCOME_YEN_FIELD_NUMBER: _ClassVar[int]
    WITHHOLDING_YEN_FIELD_NUMBER: _ClassVar[int]
    SOCIAL_INSURANCE_YEN_FIELD_NUMBER: _ClassVar[int]
    reference_number: str
    year: int
    salary_income_yen: int
    employment_income_yen: int
    business_income_yen: int
    total_income_yen: int
    withholding_yen: int
    social_insurance_yen: int
    def __init__(self, reference_number: _Optional[str] = ..., year: _Optional[int] = ..., salary_income_yen: _Optional[int] = ..., employment_income_yen: _Optional[int] = ..., business_income_yen: _Optional[int] = ..., total_income_yen: _Optional[int] = ..., withholding_yen: _Optional[int] = ..., social_insurance_yen: _Optional[int] = ...) -> None: ...

class RecordIncomesRequest(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[RecordIncomeRequest]
    def __init__(self, records: _Optional[_Iterable[_Union[RecordIncomeRequest, _Mapping]]] = ...) -> None: ...

class IncomeResult(_message.Message):
    __slots__ = ("code", "message", "record")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    record: IncomeRecord
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., record: _Optional[_Union[IncomeRecord, _Mapping]] = ...) -> None: ...

class RecordIncomesResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[IncomeResult]
    def __init__(self, results: _Optional[_Iterable[_Union[IncomeResult, _Mapping]]] = ...) -> None: ...

class AssessYearRequest(_message.Message):
    __slots__ = ("reference_number", "year")
    REFERENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    reference_number: str
    year: int
    def __init__(self, reference_number: _Optional[str] = ..., year: _Optional[int] = ...) -> None: ...

class Assessment(_message.Message):
    __slots__ = ("reference_number", "year", "total_income_yen", "basic_deduction_yen", "social_insurance_deduction_yen", "medical_expenses_yen", "medical_deduction_yen", "taxable_income_yen", "income_tax_yen", "tax_total_yen", "withholding_yen", "paid_yen", "due_yen", "refund_yen", "medical_data_found")
    REFERENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    TOTAL_INCOME_YEN_FIELD_NUMBER: _ClassVar[int]
    BASIC_DEDUCTION_YEN_FIELD_NUMBER: _ClassVar[int]
    SOCIAL_INSURANCE_DEDUCTION_YEN_FIELD_NUMBER: _ClassVar[int]
    MEDICAL_EXPENSES_YEN_FIELD_NUMBER: _ClassVar[int]
    MEDICAL_DEDUCTION_YEN_FIELD_NUMBER: _ClassVar[int]
    TAXABLE_INCOME_YEN_FIELD_NUMBER: _ClassVar[int]
    INCOME_TAX_YEN_FIELD_NUMBER: _ClassVar[int]
    TAX_TOTAL_YEN_FIELD_NUMBER: _ClassVar[int]
    WITHHOLDING_YEN_FIELD_NUMBER: _ClassVar[int]
    PAID_YEN_FIELD_NUMBER: _ClassVar[int]
    DUE_YEN_FIELD_NUMBER: _ClassVar[int]
    REFUND_YEN_FIELD_NUMBER: _ClassVar[int]
    MEDICAL_DATA_FOUND_FIELD_NUMBER: _ClassVar[int]
    reference_number: str
    year: int
    total_income_yen: int
    basic_deduction_yen: int
    social_insurance_deduction_yen: int
    medical_expenses_yen: int
    medical_deduction_yen: int
    taxable_income_yen: int
    income_tax_yen: int
    tax_total_yen: int
    withholding_yen: int
    paid_yen: int
    due_yen: int
    refund_yen: int
    medical_data_found: bool
    def __init__(self, reference_number: _Optional[str] = ..., year: _Optional[int] = ..., total_income_yen: _Optional[int] = ..., basic_deduction_yen: _Optional[int] = ..., social_insurance_deduction_yen: _Optional[int] = ..., medical_expenses_yen: _Optional[int] = ..., medical_deduction_yen: _Optional[int] = ..., taxable_income_yen: _Optional[int] = ..., income_tax_yen: _Optional[int] = ..., tax_total_yen: _Optional[int] = ..., withholding_yen: _Optional[int] = ..., paid_yen: _Optional[int] = ..., due_yen: _Optional[int] = ..., refund_yen: _Optional[int] = ..., medical_data_found: _Optional[bool] = ...) -> None: ...

class IssueRefundRequest(_message.Message):
    __slots__ = ("reference_number", "year", "claim_pin")
    REFERENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    CLAIM_PIN_FIELD_NUMBER: _ClassVar[int]
    reference_number: str
    year: int
    claim_pin: str
    def __init__(self, reference_number: _Optional[str] = ..., year: _Optional[int] = ..., claim_pin: _Optional[str] = ...) -> None: ...

class ReleaseHeldRefundsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReleaseHeldRefundsResponse(_message.Message):
    __slots__ = ("released", "still_held")
    RELEASED_FIELD_NUMBER: _ClassVar[int]
    STILL_HELD_FIELD_NUMBER: _ClassVar[int]
    released: _containers.RepeatedCompositeFieldContainer[Refund]
    still_held: int
    def __init__(self, released: _Optional[_Iterable[_Union[Refund, _Mapping]]] = ..., still_held: _Optional[int] = ...) -> None: ...

class ListAlertsRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("alert_id", "kind", "reference_number", "subject", "detail", "created_at", "approved_by", "approved_at")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    APPROVED_AT_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    kind: str
    reference_number: str
    subject: str
    detail: str
    created_at: str
    approved_by: str
    approved_at: str
    def __init__(self, alert_id: _Optional[str] = ..., kind: _Optional[str] = ..., reference_number: _Optional[str] = ..., subject: _Optional[str] = ..., detail: _Optional[str] = ..., created_at: _Optional[str] = ..., approved_by: _Optional[str] = ..., approved_at: _Optional[str] = ...) -> None: ...

class ApproveSharedAccountRequest(_message.Message):
    __slots__ = ("reference_number", "alert_id", "operator_id")
    REFERENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    reference_number: str
    alert_id: str
    operator_id: str
    def __init__(self, reference_number: _Optional[str] = ..., alert_id: _Optional[str] = ..., operator_id: _Optional[str] = ...) -> None: ...

class ListAlertsResponse(_message.Message):
    __slots__ = ("alerts",)
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    def __init__(self, alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ...) -> None: ...

class Refund(_message.Message):
    __slots__ = ("refund_id", "reference_number", "year", "amount_yen", "status", "account_reference", "hold_reason", "already_issued")
    REFUND_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_YEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    HOLD_REASON_FIELD_NUMBER: _ClassVar[int]
    ALREADY_ISSUED_FIELD_NUMBER: _ClassVar[int]
    refund_id: str
    reference_number: str
    year: int
    amount_yen: int
    status: RefundStatus
    account_reference: str
    hold_reason: str
    already_issued: bool
    def __init__(self, refund_id: _Optional[str] = ..., reference_number: _Optional[str] = ..., year: _Optional[int] = ..., amount_yen: _Optional[int] = ..., status: _Optional[_Union[RefundStatus, str]] = ..., account_reference: _Optional[str] = ..., hold_reason: _Optional[str] = ..., already_issued: _Optional[bool] = ...) -> None: ...

class IssueWithholdingSlipRequest(_message.Message):
    __slots__ = ("reference_number", "year")
    REFERENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    reference_number: str
    year: int
    def __init__(self, reference_number: _Optional[str] = ..., year: _Optional[int] = ...) -> None: ...

class WithholdingSlip(_message.Message):
    __slots__ = ("reference_number", "year", "salary_income_yen", "employment_income_yen", "withholding_yen", "social_insurance_yen", "document_id")
    REFERENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    SALARY_INCOME_YEN_FIELD_NUMBER: _ClassVar[int]
    EMPLOYMENT_INCOME_YEN_FIELD_NUMBER: _ClassVar[int]
    WITHHOLDING_YEN_FIELD_NUMBER: _ClassVar[int]
    SOCIAL_INSURANCE_YEN_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    reference_number: str
    year: int
    salary_income_yen: int
    employment_income_yen: int
    withholding_yen: int
    social_insurance_yen: int
    document_id: str
    def __init__(self, reference_number: _Optional[str] = ..., year: _Optional[int] = ..., salary_income_yen: _Optional[int] = ..., employment_income_yen: _Optional[int] = ..., withholding_yen: _Optional[int] = ..., social_insurance_yen: _Optional[int] = ..., document_id: _Optional[str] = ...) -> None: ...
