import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IssueChallengeRequest(_message.Message):
    __slots__ = ("audience", "action")
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    audience: str
    action: str
    def __init__(self, audience: _Optional[str] = ..., action: _Optional[str] = ...) -> None: ...

class IssueChallengeResponse(_message.Message):
    __slots__ = ("nonce", "issued_at", "expires_at")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    nonce: str
    issued_at: int
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, nonce: _Optional[str] = ..., issued_at: _Optional[int] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OpenGrantRequest(_message.Message):
    __slots__ = ("certificate_pem", "nonce", "audience", "issued_at", "signature")
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    certificate_pem: str
    nonce: str
    audience: str
    issued_at: int
    signature: bytes
    def __init__(self, certificate_pem: _Optional[str] = ..., nonce: _Optional[str] = ..., audience: _Optional[str] = ..., issued_at: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class OpenGrantResponse(_message.Message):
    __slots__ = ("grant", "token", "expires_at", "serial")
    GRANT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    grant: str
    token: str
    expires_at: _timestamp_pb2.Timestamp
    serial: str
    def __init__(self, grant: _Optional[str] = ..., token: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., serial: _Optional[str] = ...) -> None: ...

class EndGrantRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EndGrantResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RecordPayoutAccountRequest(_message.Message):
    __slots__ = ("token", "account", "salt")
    class AccountEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    SALT_FIELD_NUMBER: _ClassVar[int]
    token: str
    account: _containers.ScalarMap[str, str]
    salt: bytes
    def __init__(self, token: _Optional[str] = ..., account: _Optional[_Mapping[str, str]] = ..., salt: _Optional[bytes] = ...) -> None: ...

class RecordPayoutAccountResponse(_message.Message):
    __slots__ = ("commitment", "changed_at")
    COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    commitment: str
    changed_at: _timestamp_pb2.Timestamp
    def __init__(self, commitment: _Optional[str] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetPayoutAttestationRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class GetPayoutAttestationResponse(_message.Message):
    __slots__ = ("commitment", "changed_at", "confirmed_at")
    COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_AT_FIELD_NUMBER: _ClassVar[int]
    commitment: str
    changed_at: _timestamp_pb2.Timestamp
    confirmed_at: _timestamp_pb2.Timestamp
    def __init__(self, commitment: _Optional[str] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., confirmed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AuthoriseEventRequest(_message.Message):
    __slots__ = ("token", "event_type", "procedure")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROCEDURE_FIELD_NUMBER: _ClassVar[int]
    token: str
    event_type: str
    procedure: str
    def __init__(self, token: _Optional[str] = ..., event_type: _Optional[str] = ..., procedure: _Optional[str] = ...) -> None: ...

class AuthoriseEventResponse(_message.Message):
    __slots__ = ("event_id", "expires_at")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, event_id: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RegisterPasskeyRequest(_message.Message):
    __slots__ = ("token", "credential_json", "challenge", "origin")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_JSON_FIELD_NUMBER: _ClassVar[int]
    CHALLENGE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    token: str
    credential_json: str
    challenge: bytes
    origin: str
    def __init__(self, token: _Optional[str] = ..., credential_json: _Optional[str] = ..., challenge: _Optional[bytes] = ..., origin: _Optional[str] = ...) -> None: ...

class RegisterPasskeyResponse(_message.Message):
    __slots__ = ("credential_id",)
    CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    credential_id: str
    def __init__(self, credential_id: _Optional[str] = ...) -> None: ...

class OpenPasskeyGrantRequest(_message.Message):
    __slots__ = ("nonce", "audience", "credential_json")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_JSON_FIELD_NUMBER: _ClassVar[int]
    nonce: str
    audience: str
    credential_json: str
    def __init__(self, nonce: _Optional[str] = ..., audience: _Optional[str] = ..., credential_json: _Optional[str] = ...) -> None: ...
