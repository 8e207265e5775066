"""Conversion between ``google.protobuf.Struct`` payloads and plain dictionaries."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from google.protobuf import struct_pb2

MAX_PAYLOAD_BYTES = 64 * 1024


def to_struct(data: Mapping[str, Any] | None) -> struct_pb2.Struct:
    """A Struct from a JSON-compatible mapping (dates must already be strings)."""
    message = struct_pb2.Struct()
    if data:
        message.update(dict(data))
    return message


def from_struct(message: struct_pb2.Struct) -> dict[str, Any]:
    """A dict from a Struct; integral floats come back as ints.

    The same dict ``json_format.MessageToDict`` gives (then integral floats as ints), read
    field by field: the generic ProtoJSON printer was 6 % of the hub's CPU per lookup in a
    batch (issue 10's profile). An infinite or NaN number is refused with ``ValueError``,
    as ``MessageToDict`` refuses it."""
    return {key: _value(value) for key, value in message.fields.items()}


def _value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        number = value.number_value
        if math.isinf(number) or math.isnan(number):
            raise ValueError("a Struct number must be finite (JSON has no NaN or Infinity)")
        return int(number) if number.is_integer() else number
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return from_struct(value.struct_value)
    if kind == "list_value":
        return [_value(item) for item in value.list_value.values]
    return None  # null_value, or no kind set
