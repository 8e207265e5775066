from mynumber.exchange.v1 import exchange_pb2 as _exchange_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrphanRecordFacts(_message.Message):
    __slots__ = ("record_id", "name_kana", "name_kanji", "birth_date_written", "sex", "prefecture")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_KANA_FIELD_NUMBER: _ClassVar[int]
    NAME_KANJI_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    PREFECTURE_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    name_kana: str
    name_kanji: str
    birth_date_written: str
    sex: str
    prefecture: str
    def __init__(self, record_id: _Optional[str] = ..., name_kana: _Optional[str] = ..., name_kanji: _Optional[str] = ..., birth_date_written: _Optional[str] = ..., sex: _Optional[str] = ..., prefecture: _Optional[str] = ...) -> None: ...

class ReconcileRequest(_message.Message):
    __slots__ = ("records", "request_id", "threshold")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[OrphanRecordFacts]
    request_id: str
    threshold: float
    def __init__(self, records: _Optional[_Iterable[_Union[OrphanRecordFacts, _Mapping]]] = ..., request_id: _Optional[str] = ..., threshold: _Optional[float] = ...) -> None: ...

class ReconcileCandidate(_message.Message):
    __slots__ = ("token", "notify_reference", "match_probability", "agreeing", "log_index")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    MATCH_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    AGREEING_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    token: str
    notify_reference: str
    match_probability: float
    agreeing: _containers.RepeatedScalarFieldContainer[str]
    log_index: int
    def __init__(self, token: _Optional[str] = ..., notify_reference: _Optional[str] = ..., match_probability: _Optional[float] = ..., agreeing: _Optional[_Iterable[str]] = ..., log_index: _Optional[int] = ...) -> None: ...

class RecordCandidates(_message.Message):
    __slots__ = ("record_id", "candidates")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    candidates: _containers.RepeatedCompositeFieldContainer[ReconcileCandidate]
    def __init__(self, record_id: _Optional[str] = ..., candidates: _Optional[_Iterable[_Union[ReconcileCandidate, _Mapping]]] = ...) -> None: ...

class ReconcileResponse(_message.Message):
    __slots__ = ("results", "threshold")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[RecordCandidates]
    threshold: float
    def __init__(self, results: _Optional[_Iterable[_Union[RecordCandidates, _Mapping]]] = ..., threshold: _Optional[float] = ...) -> None: ...

class CandidateNoticeRequest(_message.Message):
    __slots__ = ("notify_reference", "event_type", "event_id", "procedure", "sealed_payload")
    NOTIFY_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    PROCEDURE_FIELD_NUMBER: _ClassVar[int]
    SEALED_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    notify_reference: str
    event_type: str
    event_id: str
    procedure: str
    sealed_payload: _exchange_pb2.Sealed
    def __init__(self, notify_reference: _Optional[str] = ..., event_type: _Optional[str] = ..., event_id: _Optional[str] = ..., procedure: _Optional[str] = ..., sealed_payload: _Optional[_Union[_exchange_pb2.Sealed, _Mapping]] = ...) -> None: ...

class CandidateNoticeResponse(_message.Message):
    __slots__ = ("token", "log_index")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    token: str
    log_index: int
    def __init__(self, token: _Optional[str] = ..., log_index: _Optional[int] = ...) -> None: ...
