from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SealingKey(_message.Message):
    __slots__ = ("domain", "key_id", "suite", "public_key")
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SUITE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    domain: str
    key_id: str
    suite: str
    public_key: bytes
    def __init__(self, domain: _Optional[str] = ..., key_id: _Optional[str] = ..., suite: _Optional[str] = ..., public_key: _Optional[bytes] = ...) -> None: ...

class Sealed(_message.Message):
    __slots__ = ("key_id", "suite", "ciphertext")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SUITE_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    suite: str
    ciphertext: bytes
    def __init__(self, key_id: _Optional[str] = ..., suite: _Optional[str] = ..., ciphertext: _Optional[bytes] = ...) -> None: ...

class GetSealingKeyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ProvideRequest(_message.Message):
    __slots__ = ("token", "item", "procedure", "request_id", "requester", "params", "recipient")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    PROCEDURE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    token: str
    item: str
    procedure: str
    request_id: str
    requester: str
    params: _struct_pb2.Struct
    recipient: SealingKey
    def __init__(self, token: _Optional[str] = ..., item: _Optional[str] = ..., procedure: _Optional[str] = ..., request_id: _Optional[str] = ..., requester: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., recipient: _Optional[_Union[SealingKey, _Mapping]] = ...) -> None: ...

class ProvideResponse(_message.Message):
    __slots__ = ("data", "sealed")
    DATA_FIELD_NUMBER: _ClassVar[int]
    SEALED_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    sealed: Sealed
    def __init__(self, data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., sealed: _Optional[_Union[Sealed, _Mapping]] = ...) -> None: ...

class BatchItem(_message.Message):
    __slots__ = ("token", "item", "procedure", "request_id", "params")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    PROCEDURE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    token: str
    item: str
    procedure: str
    request_id: str
    params: _struct_pb2.Struct
    def __init__(self, token: _Optional[str] = ..., item: _Optional[str] = ..., procedure: _Optional[str] = ..., request_id: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ProvideBatchRequest(_message.Message):
    __slots__ = ("requester", "recipient", "items")
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    requester: str
    recipient: SealingKey
    items: _containers.RepeatedCompositeFieldContainer[BatchItem]
    def __init__(self, requester: _Optional[str] = ..., recipient: _Optional[_Union[SealingKey, _Mapping]] = ..., items: _Optional[_Iterable[_Union[BatchItem, _Mapping]]] = ...) -> None: ...

class BatchAnswer(_message.Message):
    __slots__ = ("request_id", "code", "message")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    code: int
    message: str
    def __init__(self, request_id: _Optional[str] = ..., code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class ProvideBatchResponse(_message.Message):
    __slots__ = ("answers", "sealed")
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    SEALED_FIELD_NUMBER: _ClassVar[int]
    answers: _containers.RepeatedCompositeFieldContainer[BatchAnswer]
    sealed: Sealed
    def __init__(self, answers: _Optional[_Iterable[_Union[BatchAnswer, _Mapping]]] = ..., sealed: _Optional[_Union[Sealed, _Mapping]] = ...) -> None: ...

class DeliverRequest(_message.Message):
    __slots__ = ("token", "event_type", "event_id", "publisher", "payload", "sealed_payload", "procedure")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLISHER_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SEALED_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PROCEDURE_FIELD_NUMBER: _ClassVar[int]
    token: str
    event_type: str
    event_id: str
    publisher: str
    payload: _struct_pb2.Struct
    sealed_payload: Sealed
    procedure: str
    def __init__(self, token: _Optional[str] = ..., event_type: _Optional[str] = ..., event_id: _Optional[str] = ..., publisher: _Optional[str] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., sealed_payload: _Optional[_Union[Sealed, _Mapping]] = ..., procedure: _Optional[str] = ...) -> None: ...

class DeliverResponse(_message.Message):
    __slots__ = ("applied",)
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    def __init__(self, applied: _Optional[bool] = ...) -> None: ...
