"""Conversion between ``google.protobuf.Struct`` payloads and plain dictionaries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2

MAX_PAYLOAD_BYTES = 64 * 1024


def to_struct(data: Mapping[str, Any] | None) -> struct_pb2.Struct:
    """A Struct from a JSON-compatible mapping (dates must already be strings)."""
    message = struct_pb2.Struct()
    if data:
        message.update(dict(data))
    return message


def from_struct(message: struct_pb2.Struct) -> dict[str, Any]:
    """A dict from a Struct; integral floats come back as ints."""
    return _ints(json_format.MessageToDict(message))


def _ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value
