import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mynumber.exchange.v1 import exchange_pb2 as _exchange_pb2
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

class PersonStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PERSON_STATUS_UNSPECIFIED: _ClassVar[PersonStatus]
    PERSON_STATUS_ACTIVE: _ClassVar[PersonStatus]
    PERSON_STATUS_DECEASED: _ClassVar[PersonStatus]
    PERSON_STATUS_NUMBER_REISSUED: _ClassVar[PersonStatus]

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    OUTCOME_PROVIDED: _ClassVar[Outcome]
    OUTCOME_DENIED: _ClassVar[Outcome]
    OUTCOME_FAILED: _ClassVar[Outcome]
    OUTCOME_DELIVERED: _ClassVar[Outcome]
SEX_UNSPECIFIED: Sex
SEX_MALE: Sex
SEX_FEMALE: Sex
PERSON_STATUS_UNSPECIFIED: PersonStatus
PERSON_STATUS_ACTIVE: PersonStatus
PERSON_STATUS_DECEASED: PersonStatus
PERSON_STATUS_NUMBER_REISSUED: PersonStatus
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_PROVIDED: Outcome
OUTCOME_DENIED: Outcome
OUTCOME_FAILED: Outcome
OUTCOME_DELIVERED: Outcome

class BasicFacts(_message.Message):
    __slots__ = ("name", "birth_date", "sex", "address", "name_kana")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NAME_KANA_FIELD_NUMBER: _ClassVar[int]
    name: str
    birth_date: str
    sex: Sex
    address: str
    name_kana: str
    def __init__(self, name: _Optional[str] = ..., birth_date: _Optional[str] = ..., sex: _Optional[_Union[Sex, str]] = ..., address: _Optional[str] = ..., name_kana: _Optional[str] = ...) -> None: ...

class RegisterResidentRequest(_message.Message):
    __slots__ = ("facts", "idempotency_key")
    FACTS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    facts: BasicFacts
    idempotency_key: str
    def __init__(self, facts: _Optional[_Union[BasicFacts, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RegisterResidentResponse(_message.Message):
    __slots__ = ("my_number", "token", "key_version")
    MY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    KEY_VERSION_FIELD_NUMBER: _ClassVar[int]
    my_number: str
    token: str
    key_version: int
    def __init__(self, my_number: _Optional[str] = ..., token: _Optional[str] = ..., key_version: _Optional[int] = ...) -> None: ...

class BulkRegisterRequest(_message.Message):
    __slots__ = ("residents",)
    RESIDENTS_FIELD_NUMBER: _ClassVar[int]
    residents: _containers.RepeatedCompositeFieldContainer[RegisterResidentRequest]
    def __init__(self, residents: _Optional[_Iterable[_Union[RegisterResidentRequest, _Mapping]]] = ...) -> None: ...

class BulkRegisterResponse(_message.Message):
    __slots__ = ("residents",)
    RESIDENTS_FIELD_NUMBER: _ClassVar[int]
    residents: _containers.RepeatedCompositeFieldContainer[RegisterResidentResponse]
    def __init__(self, residents: _Optional[_Iterable[_Union[RegisterResidentResponse, _Mapping]]] = ...) -> None: ...

class LinkRequest(_message.Message):
    __slots__ = ("my_number", "facts")
    MY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    my_number: str
    facts: BasicFacts
    def __init__(self, my_number: _Optional[str] = ..., facts: _Optional[_Union[BasicFacts, _Mapping]] = ...) -> None: ...

class LinkResponse(_message.Message):
    __slots__ = ("token", "key_version")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    KEY_VERSION_FIELD_NUMBER: _ClassVar[int]
    token: str
    key_version: int
    def __init__(self, token: _Optional[str] = ..., key_version: _Optional[int] = ...) -> None: ...

class LinkBatchRequest(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[LinkRequest]
    def __init__(self, records: _Optional[_Iterable[_Union[LinkRequest, _Mapping]]] = ...) -> None: ...

class LinkBatchResult(_message.Message):
    __slots__ = ("code", "message", "token", "key_version")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    KEY_VERSION_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    token: str
    key_version: int
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., token: _Optional[str] = ..., key_version: _Optional[int] = ...) -> None: ...

class LinkBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[LinkBatchResult]
    def __init__(self, results: _Optional[_Iterable[_Union[LinkBatchResult, _Mapping]]] = ...) -> None: ...

class ResolveTokenRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class ResolveTokenResponse(_message.Message):
    __slots__ = ("found", "status", "key_version")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    KEY_VERSION_FIELD_NUMBER: _ClassVar[int]
    found: bool
    status: PersonStatus
    key_version: int
    def __init__(self, found: _Optional[bool] = ..., status: _Optional[_Union[PersonStatus, str]] = ..., key_version: _Optional[int] = ...) -> None: ...

class UpdateFactsRequest(_message.Message):
    __slots__ = ("token", "facts", "deceased")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    DECEASED_FIELD_NUMBER: _ClassVar[int]
    token: str
    facts: BasicFacts
    deceased: bool
    def __init__(self, token: _Optional[str] = ..., facts: _Optional[_Union[BasicFacts, _Mapping]] = ..., deceased: _Optional[bool] = ...) -> None: ...

class UpdateFactsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReissueNumberRequest(_message.Message):
    __slots__ = ("token", "reason", "idempotency_key")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    token: str
    reason: str
    idempotency_key: str
    def __init__(self, token: _Optional[str] = ..., reason: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class ReissueNumberResponse(_message.Message):
    __slots__ = ("my_number",)
    MY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    my_number: str
    def __init__(self, my_number: _Optional[str] = ...) -> None: ...

class SetLocksRequest(_message.Message):
    __slots__ = ("token", "locks")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    LOCKS_FIELD_NUMBER: _ClassVar[int]
    token: str
    locks: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, token: _Optional[str] = ..., locks: _Optional[_Iterable[str]] = ...) -> None: ...

class SetLocksResponse(_message.Message):
    __slots__ = ("locks",)
    LOCKS_FIELD_NUMBER: _ClassVar[int]
    locks: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, locks: _Optional[_Iterable[str]] = ...) -> None: ...

class IssueClaimPinRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class IssueClaimPinResponse(_message.Message):
    __slots__ = ("pin", "year")
    PIN_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    pin: str
    year: int
    def __init__(self, pin: _Optional[str] = ..., year: _Optional[int] = ...) -> None: ...

class VerifyClaimPinRequest(_message.Message):
    __slots__ = ("token", "pin", "procedure")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    PIN_FIELD_NUMBER: _ClassVar[int]
    PROCEDURE_FIELD_NUMBER: _ClassVar[int]
    token: str
    pin: str
    procedure: str
    def __init__(self, token: _Optional[str] = ..., pin: _Optional[str] = ..., procedure: _Optional[str] = ...) -> None: ...

class VerifyClaimPinResponse(_message.Message):
    __slots__ = ("allowed_until",)
    ALLOWED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    allowed_until: _timestamp_pb2.Timestamp
    def __init__(self, allowed_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RotateTokenKeyRequest(_message.Message):
    __slots__ = ("domain",)
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    domain: str
    def __init__(self, domain: _Optional[str] = ...) -> None: ...

class RotateTokenKeyResponse(_message.Message):
    __slots__ = ("key_version",)
    KEY_VERSION_FIELD_NUMBER: _ClassVar[int]
    key_version: int
    def __init__(self, key_version: _Optional[int] = ...) -> None: ...

class GetKeyDirectoryRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetKeyDirectoryResponse(_message.Message):
    __slots__ = ("directory", "verifier_key")
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_KEY_FIELD_NUMBER: _ClassVar[int]
    directory: str
    verifier_key: str
    def __init__(self, directory: _Optional[str] = ..., verifier_key: _Optional[str] = ...) -> None: ...

class ReportUnopenableRequest(_message.Message):
    __slots__ = ("request_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReportUnopenableResponse(_message.Message):
    __slots__ = ("log_index",)
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    log_index: int
    def __init__(self, log_index: _Optional[int] = ...) -> None: ...

class QueryRequest(_message.Message):
    __slots__ = ("token", "provider", "item", "procedure", "request_id", "params", "reply_to")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    PROCEDURE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    token: str
    provider: str
    item: str
    procedure: str
    request_id: str
    params: _struct_pb2.Struct
    reply_to: _exchange_pb2.SealingKey
    def __init__(self, token: _Optional[str] = ..., provider: _Optional[str] = ..., item: _Optional[str] = ..., procedure: _Optional[str] = ..., request_id: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., reply_to: _Optional[_Union[_exchange_pb2.SealingKey, _Mapping]] = ...) -> None: ...

class QueryResponse(_message.Message):
    __slots__ = ("data", "log_index", "sealed", "batch", "position")
    DATA_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    SEALED_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    log_index: int
    sealed: _exchange_pb2.Sealed
    batch: _containers.RepeatedCompositeFieldContainer[BatchMember]
    position: int
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., log_index: _Optional[int] = ..., sealed: _Optional[_Union[_exchange_pb2.Sealed, _Mapping]] = ..., batch: _Optional[_Iterable[_Union[BatchMember, _Mapping]]] = ..., position: _Optional[int] = ...) -> None: ...

class BatchMember(_message.Message):
    __slots__ = ("request_id", "item", "procedure", "params_sha256")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    PROCEDURE_FIELD_NUMBER: _ClassVar[int]
    PARAMS_SHA256_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    item: str
    procedure: str
    params_sha256: str
    def __init__(self, request_id: _Optional[str] = ..., item: _Optional[str] = ..., procedure: _Optional[str] = ..., params_sha256: _Optional[str] = ...) -> None: ...

class BatchQueryRequest(_message.Message):
    __slots__ = ("queries", "reply_to")
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    queries: _containers.RepeatedCompositeFieldContainer[QueryRequest]
    reply_to: _exchange_pb2.SealingKey
    def __init__(self, queries: _Optional[_Iterable[_Union[QueryRequest, _Mapping]]] = ..., reply_to: _Optional[_Union[_exchange_pb2.SealingKey, _Mapping]] = ...) -> None: ...

class BatchResult(_message.Message):
    __slots__ = ("request_id", "code", "message", "data", "log_index", "sealed", "sealed_ref", "position", "provider")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    SEALED_FIELD_NUMBER: _ClassVar[int]
    SEALED_REF_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    code: int
    message: str
    data: _struct_pb2.Struct
    log_index: int
    sealed: _exchange_pb2.Sealed
    sealed_ref: int
    position: int
    provider: str
    def __init__(self, request_id: _Optional[str] = ..., code: _Optional[int] = ..., message: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., log_index: _Optional[int] = ..., sealed: _Optional[_Union[_exchange_pb2.Sealed, _Mapping]] = ..., sealed_ref: _Optional[int] = ..., position: _Optional[int] = ..., provider: _Optional[str] = ...) -> None: ...

class BatchQueryResponse(_message.Message):
    __slots__ = ("results", "members")
    class MembersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: BatchMembers
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[BatchMembers, _Mapping]] = ...) -> None: ...
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BatchResult]
    members: _containers.MessageMap[int, BatchMembers]
    def __init__(self, results: _Optional[_Iterable[_Union[BatchResult, _Mapping]]] = ..., members: _Optional[_Mapping[int, BatchMembers]] = ...) -> None: ...

class BatchMembers(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[BatchMember]
    def __init__(self, items: _Optional[_Iterable[_Union[BatchMember, _Mapping]]] = ...) -> None: ...

class PublishRequest(_message.Message):
    __slots__ = ("token", "event_type", "event_id", "payload", "audience", "procedure", "sealed_payloads")
    class SealedPayloadsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _exchange_pb2.Sealed
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_exchange_pb2.Sealed, _Mapping]] = ...) -> None: ...
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    PROCEDURE_FIELD_NUMBER: _ClassVar[int]
    SEALED_PAYLOADS_FIELD_NUMBER: _ClassVar[int]
    token: str
    event_type: str
    event_id: str
    payload: _struct_pb2.Struct
    audience: _containers.RepeatedScalarFieldContainer[str]
    procedure: str
    sealed_payloads: _containers.MessageMap[str, _exchange_pb2.Sealed]
    def __init__(self, token: _Optional[str] = ..., event_type: _Optional[str] = ..., event_id: _Optional[str] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., audience: _Optional[_Iterable[str]] = ..., procedure: _Optional[str] = ..., sealed_payloads: _Optional[_Mapping[str, _exchange_pb2.Sealed]] = ...) -> None: ...

class PublishResponse(_message.Message):
    __slots__ = ("delivered_to",)
    DELIVERED_TO_FIELD_NUMBER: _ClassVar[int]
    delivered_to: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, delivered_to: _Optional[_Iterable[str]] = ...) -> None: ...

class LogEntry(_message.Message):
    __slots__ = ("index", "time", "requester", "provider", "item", "procedure", "outcome", "reason", "request_id", "leaf", "inclusion_proof", "pending")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    PROCEDURE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LEAF_FIELD_NUMBER: _ClassVar[int]
    INCLUSION_PROOF_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    index: int
    time: _timestamp_pb2.Timestamp
    requester: str
    provider: str
    item: str
    procedure: str
    outcome: Outcome
    reason: str
    request_id: str
    leaf: bytes
    inclusion_proof: _containers.RepeatedScalarFieldContainer[bytes]
    pending: bool
    def __init__(self, index: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., requester: _Optional[str] = ..., provider: _Optional[str] = ..., item: _Optional[str] = ..., procedure: _Optional[str] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ..., leaf: _Optional[bytes] = ..., inclusion_proof: _Optional[_Iterable[bytes]] = ..., pending: _Optional[bool] = ...) -> None: ...

class ListEntriesRequest(_message.Message):
    __slots__ = ("token", "page_size", "after_index", "has_after", "newest_first", "before_index", "has_before", "agency", "time_from", "time_to", "include_pending")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    AFTER_INDEX_FIELD_NUMBER: _ClassVar[int]
    HAS_AFTER_FIELD_NUMBER: _ClassVar[int]
    NEWEST_FIRST_FIELD_NUMBER: _ClassVar[int]
    BEFORE_INDEX_FIELD_NUMBER: _ClassVar[int]
    HAS_BEFORE_FIELD_NUMBER: _ClassVar[int]
    AGENCY_FIELD_NUMBER: _ClassVar[int]
    TIME_FROM_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_PENDING_FIELD_NUMBER: _ClassVar[int]
    token: str
    page_size: int
    after_index: int
    has_after: bool
    newest_first: bool
    before_index: int
    has_before: bool
    agency: str
    time_from: _timestamp_pb2.Timestamp
    time_to: _timestamp_pb2.Timestamp
    include_pending: bool
    def __init__(self, token: _Optional[str] = ..., page_size: _Optional[int] = ..., after_index: _Optional[int] = ..., has_after: _Optional[bool] = ..., newest_first: _Optional[bool] = ..., before_index: _Optional[int] = ..., has_before: _Optional[bool] = ..., agency: _Optional[str] = ..., time_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., include_pending: _Optional[bool] = ...) -> None: ...

class ListEntriesResponse(_message.Message):
    __slots__ = ("entries", "checkpoint", "more")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[LogEntry]
    checkpoint: str
    more: bool
    def __init__(self, entries: _Optional[_Iterable[_Union[LogEntry, _Mapping]]] = ..., checkpoint: _Optional[str] = ..., more: _Optional[bool] = ...) -> None: ...

class GetCheckpointRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCheckpointResponse(_message.Message):
    __slots__ = ("checkpoint", "public_key", "key_name")
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    KEY_NAME_FIELD_NUMBER: _ClassVar[int]
    checkpoint: str
    public_key: bytes
    key_name: str
    def __init__(self, checkpoint: _Optional[str] = ..., public_key: _Optional[bytes] = ..., key_name: _Optional[str] = ...) -> None: ...

class GetConsistencyProofRequest(_message.Message):
    __slots__ = ("first_size", "second_size")
    FIRST_SIZE_FIELD_NUMBER: _ClassVar[int]
    SECOND_SIZE_FIELD_NUMBER: _ClassVar[int]
    first_size: int
    second_size: int
    def __init__(self, first_size: _Optional[int] = ..., second_size: _Optional[int] = ...) -> None: ...

class GetConsistencyProofResponse(_message.Message):
    __slots__ = ("proof",)
    PROOF_FIELD_NUMBER: _ClassVar[int]
    proof: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, proof: _Optional[_Iterable[bytes]] = ...) -> None: ...

class IssueCardAccessChallengeRequest(_message.Message):
    __slots__ = ("serial",)
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    serial: str
    def __init__(self, serial: _Optional[str] = ...) -> None: ...

class IssueCardAccessChallengeResponse(_message.Message):
    __slots__ = ("nonce",)
    NONCE_FIELD_NUMBER: _ClassVar[int]
    nonce: str
    def __init__(self, nonce: _Optional[str] = ...) -> None: ...

class EvaluateCardPinRequest(_message.Message):
    __slots__ = ("serial", "blinded_element", "access_nonce", "access_signature")
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    BLINDED_ELEMENT_FIELD_NUMBER: _ClassVar[int]
    ACCESS_NONCE_FIELD_NUMBER: _ClassVar[int]
    ACCESS_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    serial: str
    blinded_element: bytes
    access_nonce: str
    access_signature: bytes
    def __init__(self, serial: _Optional[str] = ..., blinded_element: _Optional[bytes] = ..., access_nonce: _Optional[str] = ..., access_signature: _Optional[bytes] = ...) -> None: ...

class EvaluateCardPinResponse(_message.Message):
    __slots__ = ("attempt_id", "evaluation", "public_key", "tries_left")
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    TRIES_LEFT_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    evaluation: bytes
    public_key: bytes
    tries_left: int
    def __init__(self, attempt_id: _Optional[str] = ..., evaluation: _Optional[bytes] = ..., public_key: _Optional[bytes] = ..., tries_left: _Optional[int] = ...) -> None: ...

class ConfirmCardPinRequest(_message.Message):
    __slots__ = ("serial", "attempt_id", "ok", "signature", "access_public_key")
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    ACCESS_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    serial: str
    attempt_id: str
    ok: bool
    signature: bytes
    access_public_key: bytes
    def __init__(self, serial: _Optional[str] = ..., attempt_id: _Optional[str] = ..., ok: _Optional[bool] = ..., signature: _Optional[bytes] = ..., access_public_key: _Optional[bytes] = ...) -> None: ...

class ConfirmCardPinResponse(_message.Message):
    __slots__ = ("tries_left", "locked")
    TRIES_LEFT_FIELD_NUMBER: _ClassVar[int]
    LOCKED_FIELD_NUMBER: _ClassVar[int]
    tries_left: int
    locked: bool
    def __init__(self, tries_left: _Optional[int] = ..., locked: _Optional[bool] = ...) -> None: ...

class UnlockCardRequest(_message.Message):
    __slots__ = ("token", "serial")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    token: str
    serial: str
    def __init__(self, token: _Optional[str] = ..., serial: _Optional[str] = ...) -> None: ...

class UnlockCardResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class IssueCardRequest(_message.Message):
    __slots__ = ("token", "csr_pem")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    CSR_PEM_FIELD_NUMBER: _ClassVar[int]
    token: str
    csr_pem: bytes
    def __init__(self, token: _Optional[str] = ..., csr_pem: _Optional[bytes] = ...) -> None: ...

class IssueCardResponse(_message.Message):
    __slots__ = ("serial", "certificate_pem", "ca_certificate_pem")
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    CA_CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    serial: str
    certificate_pem: bytes
    ca_certificate_pem: bytes
    def __init__(self, serial: _Optional[str] = ..., certificate_pem: _Optional[bytes] = ..., ca_certificate_pem: _Optional[bytes] = ...) -> None: ...

class RevokeCardRequest(_message.Message):
    __slots__ = ("token", "serial")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    token: str
    serial: str
    def __init__(self, token: _Optional[str] = ..., serial: _Optional[str] = ...) -> None: ...

class RevokeCardResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetRevocationListRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetRevocationListResponse(_message.Message):
    __slots__ = ("crl_pem", "ca_certificate_pem")
    CRL_PEM_FIELD_NUMBER: _ClassVar[int]
    CA_CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    crl_pem: bytes
    ca_certificate_pem: bytes
    def __init__(self, crl_pem: _Optional[bytes] = ..., ca_certificate_pem: _Optional[bytes] = ...) -> None: ...

class IdentifyCardRequest(_message.Message):
    __slots__ = ("serial",)
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    serial: str
    def __init__(self, serial: _Optional[str] = ...) -> None: ...

class IdentifyCardResponse(_message.Message):
    __slots__ = ("token", "status")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    token: str
    status: PersonStatus
    def __init__(self, token: _Optional[str] = ..., status: _Optional[_Union[PersonStatus, str]] = ...) -> None: ...

class ListSecurityEventsRequest(_message.Message):
    __slots__ = ("kind", "caller", "limit", "before_id")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    BEFORE_ID_FIELD_NUMBER: _ClassVar[int]
    kind: str
    caller: str
    limit: int
    before_id: int
    def __init__(self, kind: _Optional[str] = ..., caller: _Optional[str] = ..., limit: _Optional[int] = ..., before_id: _Optional[int] = ...) -> None: ...

class SecurityEvent(_message.Message):
    __slots__ = ("id", "at", "kind", "caller", "method", "status", "request_id", "number_index", "detail")
    ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_INDEX_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    id: int
    at: _timestamp_pb2.Timestamp
    kind: str
    caller: str
    method: str
    status: str
    request_id: str
    number_index: str
    detail: _struct_pb2.Struct
    def __init__(self, id: _Optional[int] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[str] = ..., caller: _Optional[str] = ..., method: _Optional[str] = ..., status: _Optional[str] = ..., request_id: _Optional[str] = ..., number_index: _Optional[str] = ..., detail: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListSecurityEventsResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[SecurityEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[SecurityEvent, _Mapping]]] = ...) -> None: ...
