from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Sex(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEX_UNSPECIFIED: _ClassVar[Sex]
    SEX_MALE: _ClassVar[Sex]
    SEX_FEMALE: _ClassVar[Sex]

class ResidentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESIDENT_TYPE_UNSPECIFIED: _ClassVar[ResidentType]
    RESIDENT_TYPE_CITIZEN: _ClassVar[ResidentType]
    RESIDENT_TYPE_FOREIGN: _ClassVar[ResidentType]

class ResidentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESIDENT_STATUS_UNSPECIFIED: _ClassVar[ResidentStatus]
    RESIDENT_STATUS_RESIDENT: _ClassVar[ResidentStatus]
    RESIDENT_STATUS_MOVED_OUT: _ClassVar[ResidentStatus]
    RESIDENT_STATUS_DECEASED: _ClassVar[ResidentStatus]

class CareLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CARE_LEVEL_UNSPECIFIED: _ClassVar[CareLevel]
    CARE_LEVEL_SUPPORT_1: _ClassVar[CareLevel]
    CARE_LEVEL_SUPPORT_2: _ClassVar[CareLevel]
    CARE_LEVEL_CARE_1: _ClassVar[CareLevel]
    CARE_LEVEL_CARE_2: _ClassVar[CareLevel]
    CARE_LEVEL_CARE_3: _ClassVar[CareLevel]
    CARE_LEVEL_CARE_4: _ClassVar[CareLevel]
    CARE_LEVEL_CARE_5: _ClassVar[CareLevel]

class DamageLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DAMAGE_LEVEL_UNSPECIFIED: _ClassVar[DamageLevel]
    DAMAGE_LEVEL_TOTAL_COLLAPSE: _ClassVar[DamageLevel]
    DAMAGE_LEVEL_LONG_TERM_EVACUATION: _ClassVar[DamageLevel]
    DAMAGE_LEVEL_LARGE_SCALE_HALF: _ClassVar[DamageLevel]
    DAMAGE_LEVEL_MEDIUM_SCALE_HALF: _ClassVar[DamageLevel]
SEX_UNSPECIFIED: Sex
SEX_MALE: Sex
SEX_FEMALE: Sex
RESIDENT_TYPE_UNSPECIFIED: ResidentType
RESIDENT_TYPE_CITIZEN: ResidentType
RESIDENT_TYPE_FOREIGN: ResidentType
RESIDENT_STATUS_UNSPECIFIED: ResidentStatus
RESIDENT_STATUS_RESIDENT: ResidentStatus
RESIDENT_STATUS_MOVED_OUT: ResidentStatus
RESIDENT_STATUS_DECEASED: ResidentStatus
CARE_LEVEL_UNSPECIFIED: CareLevel
CARE_LEVEL_SUPPORT_1: CareLevel
CARE_LEVEL_SUPPORT_2: CareLevel
CARE_LEVEL_CARE_1: CareLevel
CARE_LEVEL_CARE_2: CareLevel
CARE_LEVEL_CARE_3: CareLevel
CARE_LEVEL_CARE_4: CareLevel
CARE_LEVEL_CARE_5: CareLevel
DAMAGE_LEVEL_UNSPECIFIED: DamageLevel
DAMAGE_LEVEL_TOTAL_COLLAPSE: DamageLevel
DAMAGE_LEVEL_LONG_TERM_EVACUATION: DamageLevel
DAMAGE_LEVEL_LARGE_SCALE_HALF: DamageLevel
DAMAGE_LEVEL_MEDIUM_SCALE_HALF: DamageLevel

class ForeignResidentDetails(_message.Message):
    __slots__ = ("nationality", "residence_status", "residence_card_number", "period_of_stay_until")
    NATIONALITY_FIELD_NUMBER: _ClassVar[int]
    RESIDENCE_STATUS_FIELD_NUMBER: _ClassVar[int]
    RESIDENCE_CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PERIOD_OF_STAY_UNTIL_FIELD_NUMBER: _ClassVar[int]
    nationality: str
    residence_status: str
    residence_card_number: str
    period_of_stay_until: str
    def __init__(self, nationality: _Optional[str] = ..., residence_status: _Optional[str] = ..., residence_card_number: _Optional[str] = ..., period_of_stay_until: _Optional[str] = ...) -> None: ...

class ResidentFacts(_message.Message):
    __slots__ = ("name", "name_kana", "birth_date", "sex", "address", "resident_type", "foreign")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_KANA_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    FOREIGN_FIELD_NUMBER: _ClassVar[int]
    name: str
    name_kana: str
    birth_date: str
    sex: Sex
    address: str
    resident_type: ResidentType
    foreign: ForeignResidentDetails
    def __init__(self, name: _Optional[str] = ..., name_kana: _Optional[str] = ..., birth_date: _Optional[str] = ..., sex: _Optional[_Union[Sex, str]] = ..., address: _Optional[str] = ..., resident_type: _Optional[_Union[ResidentType, str]] = ..., foreign: _Optional[_Union[ForeignResidentDetails, _Mapping]] = ...) -> None: ...

class RegisterResidentRequest(_message.Message):
    __slots__ = ("resident", "household_id", "relationship", "idempotency_key")
    RESIDENT_FIELD_NUMBER: _ClassVar[int]
    HOUSEHOLD_ID_FIELD_NUMBER: _ClassVar[int]
    RELATIONSHIP_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    resident: ResidentFacts
    household_id: str
    relationship: str
    idempotency_key: str
    def __init__(self, resident: _Optional[_Union[ResidentFacts, _Mapping]] = ..., household_id: _Optional[str] = ..., relationship: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RegisterResidentResponse(_message.Message):
    __slots__ = ("address_number", "household_id", "my_number")
    ADDRESS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    HOUSEHOLD_ID_FIELD_NUMBER: _ClassVar[int]
    MY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    address_number: str
    household_id: str
    my_number: str
    def __init__(self, address_number: _Optional[str] = ..., household_id: _Optional[str] = ..., my_number: _Optional[str] = ...) -> None: ...

class EnrolResidentRequest(_message.Message):
    __slots__ = ("my_number", "resident", "household_id", "relationship", "idempotency_key", "previous_address")
    MY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_FIELD_NUMBER: _ClassVar[int]
    HOUSEHOLD_ID_FIELD_NUMBER: _ClassVar[int]
    RELATIONSHIP_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    my_number: str
    resident: ResidentFacts
    household_id: str
    relationship: str
    idempotency_key: str
    previous_address: str
    def __init__(self, my_number: _Optional[str] = ..., resident: _Optional[_Union[ResidentFacts, _Mapping]] = ..., household_id: _Optional[str] = ..., relationship: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., previous_address: _Optional[str] = ...) -> None: ...

class EnrolResidentResponse(_message.Message):
    __slots__ = ("address_number", "household_id")
    ADDRESS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    HOUSEHOLD_ID_FIELD_NUMBER: _ClassVar[int]
    address_number: str
    household_id: str
    def __init__(self, address_number: _Optional[str] = ..., household_id: _Optional[str] = ...) -> None: ...

class ResidentEnrolment(_message.Message):
    __slots__ = ("my_number", "resident")
    MY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_FIELD_NUMBER: _ClassVar[int]
    my_number: str
    resident: ResidentFacts
    def __init__(self, my_number: _Optional[str] = ..., resident: _Optional[_Union[ResidentFacts, _Mapping]] = ...) -> None: ...

class EnrolResidentsRequest(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[ResidentEnrolment]
    def __init__(self, records: _Optional[_Iterable[_Union[ResidentEnrolment, _Mapping]]] = ...) -> None: ...

class EnrolResidentResult(_message.Message):
    __slots__ = ("code", "message", "address_number", "household_id", "already_enrolled")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    HOUSEHOLD_ID_FIELD_NUMBER: _ClassVar[int]
    ALREADY_ENROLLED_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    address_number: str
    household_id: str
    already_enrolled: bool
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., address_number: _Optional[str] = ..., household_id: _Optional[str] = ..., already_enrolled: _Optional[bool] = ...) -> None: ...

class EnrolResidentsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[EnrolResidentResult]
    def __init__(self, results: _Optional[_Iterable[_Union[EnrolResidentResult, _Mapping]]] = ...) -> None: ...

class GetResidentRequest(_message.Message):
    __slots__ = ("address_number",)
    ADDRESS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    address_number: str
    def __init__(self, address_number: _Optional[str] = ...) -> None: ...

class CareCertification(_message.Message):
    __slots__ = ("address_number", "level", "level_name", "certified_on", "valid_from", "valid_until")
    ADDRESS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    LEVEL_NAME_FIELD_NUMBER: _ClassVar[int]
    CERTIFIED_ON_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    address_number: str
    level: CareLevel
    level_name: str
    certified_on: str
    valid_from: str
    valid_until: str
    def __init__(self, address_number: _Optional[str] = ..., level: _Optional[_Union[CareLevel, str]] = ..., level_name: _Optional[str] = ..., certified_on: _Optional[str] = ..., valid_from: _Optional[str] = ..., valid_until: _Optional[str] = ...) -> None: ...

class Resident(_message.Message):
    __slots__ = ("address_number", "household_id", "relationship", "facts", "status", "status_date", "care", "has_care", "pending_move_out_notices")
    ADDRESS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    HOUSEHOLD_ID_FIELD_NUMBER: _ClassVar[int]
    RELATIONSHIP_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_DATE_FIELD_NUMBER: _ClassVar[int]
    CARE_FIELD_NUMBER: _ClassVar[int]
    HAS_CARE_FIELD_NUMBER: _ClassVar[int]
    PENDING_MOVE_OUT_NOTICES_FIELD_NUMBER: _ClassVar[int]
    address_number: str
    household_id: str
    relationship: str
    facts: ResidentFacts
    status: ResidentStatus
    status_date: str
    care: CareCertification
    has_care: bool
    pending_move_out_notices: int
    def __init__(self, address_number: _Optional[str] = ..., household_id: _Optional[str] = ..., relationship: _Optional[str] = ..., facts: _Optional[_Union[ResidentFacts, _Mapping]] = ..., status: _Optional[_Union[ResidentStatus, str]] = ..., status_date: _Optional[str] = ..., care: _Optional[_Union[CareCertification, _Mapping]] = ..., has_care: _Optional[bool] = ..., pending_move_out_notices: _Optional[int] = ...) -> None: ...

class GetHouseholdRequest(_message.Message):
    __slots__ = ("household_id",)
    HOUSEHOLD_ID_FIELD_NUMBER: _ClassVar[int]
    household_id: str
    def __init__(self, household_id: _Optional[str] = ...) -> None: ...

class HouseholdMember(_message.Message):
    __slots__ = ("address_number", "name", "relationship", "birth_date")
    ADDRESS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RELATIONSHIP_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    address_number: str
    name: str
    relationship: str
    birth_date: str
    def __init__(self, address_number: _Optional[str] = ..., name: _Optional[str] = ..., relationship: _Optional[str] = ..., birth_date: _Optional[str] = ...) -> None: ...

class Household(_message.Message):
    __slots__ = ("household_id", "householder_address_number", "members", "address")
    HOUSEHOLD_ID_FIELD_NUMBER: _ClassVar[int]
    HOUSEHOLDER_ADDRESS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    household_id: str
    householder_address_number: str
    members: _containers.RepeatedCompositeFieldContainer[HouseholdMember]
    address: str
    def __init__(self, household_id: _Optional[str] = ..., householder_address_number: _Optional[str] = ..., members: _Optional[_Iterable[_Union[HouseholdMember, _Mapping]]] = ..., address: _Optional[str] = ...) -> None: ...

class RecordMoveRequest(_message.Message):
    __slots__ = ("address_number", "new_address", "effective_date", "with_household", "idempotency_key")
    ADDRESS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NEW_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_DATE_FIELD_NUMBER: _ClassVar[int]
    WITH_HOUSEHOLD_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    address_number: str
    new_address: str
    effective_date: str
    with_household: bool
    idempotency_key: str
    def __init__(self, address_number: _Optional[str] = ..., new_address: _Optional[str] = ..., effective_date: _Optional[str] = ..., with_household: _Optional[bool] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RecordMoveResponse(_message.Message):
    __slots__ = ("moved", "household_id", "event_ids")
    MOVED_FIELD_NUMBER: _ClassVar[int]
    HOUSEHOLD_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    moved: _containers.RepeatedScalarFieldContainer[str]
    household_id: str
    event_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, moved: _Optional[_Iterable[str]] = ..., household_id: _Optional[str] = ..., event_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class RecordMoveOutRequest(_message.Message):
    __slots__ = ("address_number", "destination_address", "effective_date", "idempotency_key")
    ADDRESS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_DATE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    address_number: str
    destination_address: str
    effective_date: str
    idempotency_key: str
    def __init__(self, address_number: _Optional[str] = ..., destination_address: _Optional[str] = ..., effective_date: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RecordMoveOutResponse(_message.Message):
    __slots__ = ("event_id",)
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    def __init__(self, event_id: _Optional[str] = ...) -> None: ...

class RecordDeathRequest(_message.Message):
    __slots__ = ("address_number", "date_of_death", "idempotency_key")
    ADDRESS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_DEATH_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    address_number: str
    date_of_death: str
    idempotency_key: str
    def __init__(self, address_number: _Optional[str] = ..., date_of_death: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RecordDeathResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CertifyLongTermCareRequest(_message.Message):
    __slots__ = ("address_number", "level", "certified_on", "valid_from", "valid_until", "idempotency_key")
    ADDRESS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    CERTIFIED_ON_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    address_number: str
    level: CareLevel
    certified_on: str
    valid_from: str
    valid_until: str
    idempotency_key: str
    def __init__(self, address_number: _Optional[str] = ..., level: _Optional[_Union[CareLevel, str]] = ..., certified_on: _Optional[str] = ..., valid_from: _Optional[str] = ..., valid_until: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class DeclareDisasterRequest(_message.Message):
    __slots__ = ("name", "area", "declared_on", "assumed_damage", "idempotency_key")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AREA_FIELD_NUMBER: _ClassVar[int]
    DECLARED_ON_FIELD_NUMBER: _ClassVar[int]
    ASSUMED_DAMAGE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    name: str
    area: str
    declared_on: str
    assumed_damage: DamageLevel
    idempotency_key: str
    def __init__(self, name: _Optional[str] = ..., area: _Optional[str] = ..., declared_on: _Optional[str] = ..., assumed_damage: _Optional[_Union[DamageLevel, str]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class Disaster(_message.Message):
    __slots__ = ("disaster_id", "name", "area", "declared_on", "assumed_damage")
    DISASTER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    AREA_FIELD_NUMBER: _ClassVar[int]
    DECLARED_ON_FIELD_NUMBER: _ClassVar[int]
    ASSUMED_DAMAGE_FIELD_NUMBER: _ClassVar[int]
    disaster_id: str
    name: str
    area: str
    declared_on: str
    assumed_damage: DamageLevel
    def __init__(self, disaster_id: _Optional[str] = ..., name: _Optional[str] = ..., area: _Optional[str] = ..., declared_on: _Optional[str] = ..., assumed_damage: _Optional[_Union[DamageLevel, str]] = ...) -> None: ...

class CompileSupportListRequest(_message.Message):
    __slots__ = ("disaster_id", "income_year")
    DISASTER_ID_FIELD_NUMBER: _ClassVar[int]
    INCOME_YEAR_FIELD_NUMBER: _ClassVar[int]
    disaster_id: str
    income_year: int
    def __init__(self, disaster_id: _Optional[str] = ..., income_year: _Optional[int] = ...) -> None: ...

class SupportListEntry(_message.Message):
    __slots__ = ("address_number", "household_id", "relationship", "name", "address", "birth_date", "age", "care_level", "care_flags", "care_flags_known", "needs_evacuation_support", "reasons")
    ADDRESS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    HOUSEHOLD_ID_FIELD_NUMBER: _ClassVar[int]
    RELATIONSHIP_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    AGE_FIELD_NUMBER: _ClassVar[int]
    CARE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    CARE_FLAGS_FIELD_NUMBER: _ClassVar[int]
    CARE_FLAGS_KNOWN_FIELD_NUMBER: _ClassVar[int]
    NEEDS_EVACUATION_SUPPORT_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    address_number: str
    household_id: str
    relationship: str
    name: str
    address: str
    birth_date: str
    age: int
    care_level: str
    care_flags: _containers.RepeatedScalarFieldContainer[str]
    care_flags_known: bool
    needs_evacuation_support: bool
    reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, address_number: _Optional[str] = ..., household_id: _Optional[str] = ..., relationship: _Optional[str] = ..., name: _Optional[str] = ..., address: _Optional[str] = ..., birth_date: _Optional[str] = ..., age: _Optional[int] = ..., care_level: _Optional[str] = ..., care_flags: _Optional[_Iterable[str]] = ..., care_flags_known: _Optional[bool] = ..., needs_evacuation_support: _Optional[bool] = ..., reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class HouseholdSupport(_message.Message):
    __slots__ = ("household_id", "size", "household_income_yen", "income_complete", "support_yen", "basis")
    HOUSEHOLD_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    HOUSEHOLD_INCOME_YEN_FIELD_NUMBER: _ClassVar[int]
    INCOME_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    SUPPORT_YEN_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    household_id: str
    size: int
    household_income_yen: int
    income_complete: bool
    support_yen: int
    basis: str
    def __init__(self, household_id: _Optional[str] = ..., size: _Optional[int] = ..., household_income_yen: _Optional[int] = ..., income_complete: _Optional[bool] = ..., support_yen: _Optional[int] = ..., basis: _Optional[str] = ...) -> None: ...

class SupportList(_message.Message):
    __slots__ = ("disaster_id", "income_year", "residents", "households", "total_support_yen")
    DISASTER_ID_FIELD_NUMBER: _ClassVar[int]
    INCOME_YEAR_FIELD_NUMBER: _ClassVar[int]
    RESIDENTS_FIELD_NUMBER: _ClassVar[int]
    HOUSEHOLDS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SUPPORT_YEN_FIELD_NUMBER: _ClassVar[int]
    disaster_id: str
    income_year: int
    residents: _containers.RepeatedCompositeFieldContainer[SupportListEntry]
    households: _containers.RepeatedCompositeFieldContainer[HouseholdSupport]
    total_support_yen: int
    def __init__(self, disaster_id: _Optional[str] = ..., income_year: _Optional[int] = ..., residents: _Optional[_Iterable[_Union[SupportListEntry, _Mapping]]] = ..., households: _Optional[_Iterable[_Union[HouseholdSupport, _Mapping]]] = ..., total_support_yen: _Optional[int] = ...) -> None: ...

class ReissueNumberRequest(_message.Message):
    __slots__ = ("address_number", "reason", "idempotency_key")
    ADDRESS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    address_number: str
    reason: str
    idempotency_key: str
    def __init__(self, address_number: _Optional[str] = ..., reason: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class ReissueNumberResponse(_message.Message):
    __slots__ = ("my_number",)
    MY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    my_number: str
    def __init__(self, my_number: _Optional[str] = ...) -> None: ...

class ListLettersRequest(_message.Message):
    __slots__ = ("address_number",)
    ADDRESS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    address_number: str
    def __init__(self, address_number: _Optional[str] = ...) -> None: ...

class Letter(_message.Message):
    __slots__ = ("id", "kind", "address", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    address: str
    created_at: str
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., address: _Optional[str] = ..., created_at: _Optional[str] = ...) -> None: ...

class ListLettersResponse(_message.Message):
    __slots__ = ("letters",)
    LETTERS_FIELD_NUMBER: _ClassVar[int]
    letters: _containers.RepeatedCompositeFieldContainer[Letter]
    def __init__(self, letters: _Optional[_Iterable[_Union[Letter, _Mapping]]] = ...) -> None: ...
