from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InsuredCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSURED_CATEGORY_UNSPECIFIED: _ClassVar[InsuredCategory]
    INSURED_CATEGORY_1: _ClassVar[InsuredCategory]
    INSURED_CATEGORY_2: _ClassVar[InsuredCategory]
    INSURED_CATEGORY_3: _ClassVar[InsuredCategory]

class ExemptionLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXEMPTION_LEVEL_UNSPECIFIED: _ClassVar[ExemptionLevel]
    EXEMPTION_LEVEL_NONE: _ClassVar[ExemptionLevel]
    EXEMPTION_LEVEL_FULL: _ClassVar[ExemptionLevel]
    EXEMPTION_LEVEL_THREE_QUARTERS: _ClassVar[ExemptionLevel]
    EXEMPTION_LEVEL_HALF: _ClassVar[ExemptionLevel]
    EXEMPTION_LEVEL_QUARTER: _ClassVar[ExemptionLevel]

class ClaimStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLAIM_STATUS_UNSPECIFIED: _ClassVar[ClaimStatus]
    CLAIM_STATUS_APPROVED: _ClassVar[ClaimStatus]
    CLAIM_STATUS_REJECTED: _ClassVar[ClaimStatus]
INSURED_CATEGORY_UNSPECIFIED: InsuredCategory
INSURED_CATEGORY_1: InsuredCategory
INSURED_CATEGORY_2: InsuredCategory
INSURED_CATEGORY_3: InsuredCategory
EXEMPTION_LEVEL_UNSPECIFIED: ExemptionLevel
EXEMPTION_LEVEL_NONE: ExemptionLevel
EXEMPTION_LEVEL_FULL: ExemptionLevel
EXEMPTION_LEVEL_THREE_QUARTERS: ExemptionLevel
EXEMPTION_LEVEL_HALF: ExemptionLevel
EXEMPTION_LEVEL_QUARTER: ExemptionLevel
CLAIM_STATUS_UNSPECIFIED: ClaimStatus
CLAIM_STATUS_APPROVED: ClaimStatus
CLAIM_STATUS_REJECTED: ClaimStatus

class OrphanRecordEntry(_message.Message):
    __slots__ = ("record_id", "name_kana", "name_kanji", "birth_date_written", "sex", "prefecture", "employer", "period_start", "period_end", "months")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_KANA_FIELD_NUMBER: _ClassVar[int]
    NAME_KANJI_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    PREFECTURE_FIELD_NUMBER: _ClassVar[int]
    EMPLOYER_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    name_kana: str
    name_kanji: str
    birth_date_written: str
    sex: str
    prefecture: str
    employer: str
    period_start: str
    period_end: str
    months: int
    def __init__(self, record_id: _Optional[str] = ..., name_kana: _Optional[str] = ..., name_kanji: _Optional[str] = ..., birth_date_written: _Optional[str] = ..., sex: _Optional[str] = ..., prefecture: _Optional[str] = ..., employer: _Optional[str] = ..., period_start: _Optional[str] = ..., period_end: _Optional[str] = ..., months: _Optional[int] = ...) -> None: ...

class AddOrphanRecordsRequest(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[OrphanRecordEntry]
    def __init__(self, records: _Optional[_Iterable[_Union[OrphanRecordEntry, _Mapping]]] = ...) -> None: ...

class AddOrphanRecordsResponse(_message.Message):
    __slots__ = ("added", "already_filed")
    ADDED_FIELD_NUMBER: _ClassVar[int]
    ALREADY_FILED_FIELD_NUMBER: _ClassVar[int]
    added: int
    already_filed: int
    def __init__(self, added: _Optional[int] = ..., already_filed: _Optional[int] = ...) -> None: ...

class ReviewQueueRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReviewCandidate(_message.Message):
    __slots__ = ("number", "match_probability", "agreeing")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    MATCH_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    AGREEING_FIELD_NUMBER: _ClassVar[int]
    number: int
    match_probability: float
    agreeing: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, number: _Optional[int] = ..., match_probability: _Optional[float] = ..., agreeing: _Optional[_Iterable[str]] = ...) -> None: ...

class ReviewItem(_message.Message):
    __slots__ = ("record_id", "period_start", "period_end", "employer", "months", "candidates")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    EMPLOYER_FIELD_NUMBER: _ClassVar[int]
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    period_start: str
    period_end: str
    employer: str
    months: int
    candidates: _containers.RepeatedCompositeFieldContainer[ReviewCandidate]
    def __init__(self, record_id: _Optional[str] = ..., period_start: _Optional[str] = ..., period_end: _Optional[str] = ..., employer: _Optional[str] = ..., months: _Optional[int] = ..., candidates: _Optional[_Iterable[_Union[ReviewCandidate, _Mapping]]] = ...) -> None: ...

class ReviewQueueResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ReviewItem]
    def __init__(self, items: _Optional[_Iterable[_Union[ReviewItem, _Mapping]]] = ...) -> None: ...

class DecideReviewRequest(_message.Message):
    __slots__ = ("record_id", "assign_to", "dismiss", "operator_id")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGN_TO_FIELD_NUMBER: _ClassVar[int]
    DISMISS_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    assign_to: int
    dismiss: bool
    operator_id: str
    def __init__(self, record_id: _Optional[str] = ..., assign_to: _Optional[int] = ..., dismiss: _Optional[bool] = ..., operator_id: _Optional[str] = ...) -> None: ...

class DecideReviewResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: str
    def __init__(self, status: _Optional[str] = ...) -> None: ...

class ReconcileOrphansRequest(_message.Message):
    __slots__ = ("batch_size",)
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    batch_size: int
    def __init__(self, batch_size: _Optional[int] = ...) -> None: ...

class ReconcileOrphansProgress(_message.Message):
    __slots__ = ("done", "total", "finished", "bands", "several", "none", "review")
    class BandsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    BANDS_FIELD_NUMBER: _ClassVar[int]
    SEVERAL_FIELD_NUMBER: _ClassVar[int]
    NONE_FIELD_NUMBER: _ClassVar[int]
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    done: int
    total: int
    finished: bool
    bands: _containers.ScalarMap[str, int]
    several: int
    none: int
    review: int
    def __init__(self, done: _Optional[int] = ..., total: _Optional[int] = ..., finished: _Optional[bool] = ..., bands: _Optional[_Mapping[str, int]] = ..., several: _Optional[int] = ..., none: _Optional[int] = ..., review: _Optional[int] = ...) -> None: ...

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

class EnrolRequest(_message.Message):
    __slots__ = ("identity", "category", "enrolled_on")
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ENROLLED_ON_FIELD_NUMBER: _ClassVar[int]
    identity: FormIdentity
    category: InsuredCategory
    enrolled_on: str
    def __init__(self, identity: _Optional[_Union[FormIdentity, _Mapping]] = ..., category: _Optional[_Union[InsuredCategory, str]] = ..., enrolled_on: _Optional[str] = ...) -> None: ...

class EnrolResponse(_message.Message):
    __slots__ = ("basic_pension_number", "already_enrolled")
    BASIC_PENSION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ALREADY_ENROLLED_FIELD_NUMBER: _ClassVar[int]
    basic_pension_number: str
    already_enrolled: bool
    def __init__(self, basic_pension_number: _Optional[str] = ..., already_enrolled: _Optional[bool] = ...) -> None: ...

class GetRecordRequest(_message.Message):
    __slots__ = ("basic_pension_number",)
    BASIC_PENSION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    basic_pension_number: str
    def __init__(self, basic_pension_number: _Optional[str] = ...) -> None: ...

class YearContributions(_message.Message):
    __slots__ = ("fiscal_year", "months_paid", "months_exempt", "amount_paid_yen")
    FISCAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    MONTHS_PAID_FIELD_NUMBER: _ClassVar[int]
    MONTHS_EXEMPT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PAID_YEN_FIELD_NUMBER: _ClassVar[int]
    fiscal_year: int
    months_paid: int
    months_exempt: int
    amount_paid_yen: int
    def __init__(self, fiscal_year: _Optional[int] = ..., months_paid: _Optional[int] = ..., months_exempt: _Optional[int] = ..., amount_paid_yen: _Optional[int] = ...) -> None: ...

class ExemptionDecision(_message.Message):
    __slots__ = ("application_id", "basic_pension_number", "fiscal_year", "income_year", "level", "income_yen", "dependents", "reason", "channel", "rejected")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    BASIC_PENSION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FISCAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    INCOME_YEAR_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    INCOME_YEN_FIELD_NUMBER: _ClassVar[int]
    DEPENDENTS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    basic_pension_number: str
    fiscal_year: int
    income_year: int
    level: ExemptionLevel
    income_yen: int
    dependents: int
    reason: str
    channel: str
    rejected: bool
    def __init__(self, application_id: _Optional[str] = ..., basic_pension_number: _Optional[str] = ..., fiscal_year: _Optional[int] = ..., income_year: _Optional[int] = ..., level: _Optional[_Union[ExemptionLevel, str]] = ..., income_yen: _Optional[int] = ..., dependents: _Optional[int] = ..., reason: _Optional[str] = ..., channel: _Optional[str] = ..., rejected: _Optional[bool] = ...) -> None: ...

class ApplyExemptionRequest(_message.Message):
    __slots__ = ("identity", "fiscal_year", "application_id")
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    FISCAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    identity: FormIdentity
    fiscal_year: int
    application_id: str
    def __init__(self, identity: _Optional[_Union[FormIdentity, _Mapping]] = ..., fiscal_year: _Optional[int] = ..., application_id: _Optional[str] = ...) -> None: ...

class ClaimDecision(_message.Message):
    __slots__ = ("claim_id", "basic_pension_number", "status", "contribution_months", "age", "annual_amount_yen", "reason", "account_reference", "payout_status", "hold_reason")
    CLAIM_ID_FIELD_NUMBER: _ClassVar[int]
    BASIC_PENSION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_MONTHS_FIELD_NUMBER: _ClassVar[int]
    AGE_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_AMOUNT_YEN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_STATUS_FIELD_NUMBER: _ClassVar[int]
    HOLD_REASON_FIELD_NUMBER: _ClassVar[int]
    claim_id: str
    basic_pension_number: str
    status: ClaimStatus
    contribution_months: int
    age: int
    annual_amount_yen: int
    reason: str
    account_reference: str
    payout_status: str
    hold_reason: str
    def __init__(self, claim_id: _Optional[str] = ..., basic_pension_number: _Optional[str] = ..., status: _Optional[_Union[ClaimStatus, str]] = ..., contribution_months: _Optional[int] = ..., age: _Optional[int] = ..., annual_amount_yen: _Optional[int] = ..., reason: _Optional[str] = ..., account_reference: _Optional[str] = ..., payout_status: _Optional[str] = ..., hold_reason: _Optional[str] = ...) -> None: ...

class FileClaimRequest(_message.Message):
    __slots__ = ("basic_pension_number", "claim_id", "card", "claim_pin")
    BASIC_PENSION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CLAIM_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_FIELD_NUMBER: _ClassVar[int]
    CLAIM_PIN_FIELD_NUMBER: _ClassVar[int]
    basic_pension_number: str
    claim_id: str
    card: CardSignature
    claim_pin: str
    def __init__(self, basic_pension_number: _Optional[str] = ..., claim_id: _Optional[str] = ..., card: _Optional[_Union[CardSignature, _Mapping]] = ..., claim_pin: _Optional[str] = ...) -> None: ...

class CardSignature(_message.Message):
    __slots__ = ("certificate_pem", "signature", "nonce")
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    certificate_pem: bytes
    signature: bytes
    nonce: str
    def __init__(self, certificate_pem: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., nonce: _Optional[str] = ...) -> None: ...

class ReleaseHeldPaymentsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReleaseHeldPaymentsResponse(_message.Message):
    __slots__ = ("released", "still_held")
    RELEASED_FIELD_NUMBER: _ClassVar[int]
    STILL_HELD_FIELD_NUMBER: _ClassVar[int]
    released: _containers.RepeatedCompositeFieldContainer[ClaimDecision]
    still_held: int
    def __init__(self, released: _Optional[_Iterable[_Union[ClaimDecision, _Mapping]]] = ..., still_held: _Optional[int] = ...) -> None: ...

class ListAlertsRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("alert_id", "kind", "basic_pension_number", "subject", "detail", "created_at", "approved_by", "approved_at")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BASIC_PENSION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    APPROVED_AT_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    kind: str
    basic_pension_number: str
    subject: str
    detail: str
    created_at: str
    approved_by: str
    approved_at: str
    def __init__(self, alert_id: _Optional[str] = ..., kind: _Optional[str] = ..., basic_pension_number: _Optional[str] = ..., subject: _Optional[str] = ..., detail: _Optional[str] = ..., created_at: _Optional[str] = ..., approved_by: _Optional[str] = ..., approved_at: _Optional[str] = ...) -> None: ...

class ApproveSharedAccountRequest(_message.Message):
    __slots__ = ("basic_pension_number", "alert_id", "operator_id")
    BASIC_PENSION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    basic_pension_number: str
    alert_id: str
    operator_id: str
    def __init__(self, basic_pension_number: _Optional[str] = ..., alert_id: _Optional[str] = ..., operator_id: _Optional[str] = ...) -> None: ...

class ListAlertsResponse(_message.Message):
    __slots__ = ("alerts",)
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    def __init__(self, alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ...) -> None: ...

class RecordContributionRequest(_message.Message):
    __slots__ = ("basic_pension_number", "fiscal_year", "months_paid", "amount_yen", "receipt_id")
    BASIC_PENSION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FISCAL_YEAR_FIELD_NUMBER: _ClassVar[int]
    MONTHS_PAID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_YEN_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    basic_pension_number: str
    fiscal_year: int
    months_paid: int
    amount_yen: int
    receipt_id: str
    def __init__(self, basic_pension_number: _Optional[str] = ..., fiscal_year: _Optional[int] = ..., months_paid: _Optional[int] = ..., amount_yen: _Optional[int] = ..., receipt_id: _Optional[str] = ...) -> None: ...

class RecordContributionResponse(_message.Message):
    __slots__ = ("months_paid_in_year", "contribution_months", "already_recorded")
    MONTHS_PAID_IN_YEAR_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_MONTHS_FIELD_NUMBER: _ClassVar[int]
    ALREADY_RECORDED_FIELD_NUMBER: _ClassVar[int]
    months_paid_in_year: int
    contribution_months: int
    already_recorded: bool
    def __init__(self, months_paid_in_year: _Optional[int] = ..., contribution_months: _Optional[int] = ..., already_recorded: _Optional[bool] = ...) -> None: ...

class PensionRecord(_message.Message):
    __slots__ = ("basic_pension_number", "category", "enrolled_on", "contribution_months", "contributions", "exemptions", "claims")
    BASIC_PENSION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ENROLLED_ON_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_MONTHS_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    EXEMPTIONS_FIELD_NUMBER: _ClassVar[int]
    CLAIMS_FIELD_NUMBER: _ClassVar[int]
    basic_pension_number: str
    category: InsuredCategory
    enrolled_on: str
    contribution_months: int
    contributions: _containers.RepeatedCompositeFieldContainer[YearContributions]
    exemptions: _containers.RepeatedCompositeFieldContainer[ExemptionDecision]
    claims: _containers.RepeatedCompositeFieldContainer[ClaimDecision]
    def __init__(self, basic_pension_number: _Optional[str] = ..., category: _Optional[_Union[InsuredCategory, str]] = ..., enrolled_on: _Optional[str] = ..., contribution_months: _Optional[int] = ..., contributions: _Optional[_Iterable[_Union[YearContributions, _Mapping]]] = ..., exemptions: _Optional[_Iterable[_Union[ExemptionDecision, _Mapping]]] = ..., claims: _Optional[_Iterable[_Union[ClaimDecision, _Mapping]]] = ...) -> None: ...
