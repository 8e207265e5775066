"""``from_struct`` reads a Struct into the same dict as protobuf's ProtoJSON printer (integral
floats as ints), and ``to_struct`` / ``from_struct`` round-trip JSON-like data."""

from __future__ import annotations

import math
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core.structs import from_struct, to_struct

_SCALARS = (
    st.none()
    | st.booleans()
    | st.text(max_size=8)
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def _printer(message: struct_pb2.Struct) -> dict[str, Any]:
    """The previous implementation: protobuf's printer, then integral floats as ints."""

    def ints(value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, dict):
            return {k: ints(v) for k, v in value.items()}
        if isinstance(value, list):
            return [ints(v) for v in value]
        return value

    return ints(json_format.MessageToDict(message))


@given(st.dictionaries(st.text(max_size=6), _JSON, max_size=6))
def test_from_struct_reads_what_the_protojson_printer_reads(data: dict[str, Any]) -> None:
    message = to_struct(data)
    got = from_struct(message)
    assert got == _printer(message)
    assert repr(got) == repr(_printer(message))  # the same types too (int against float)


@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
def test_a_number_json_cannot_carry_is_refused_as_the_printer_refuses_it(number: float) -> None:
    message = struct_pb2.Struct()
    message.fields["x"].number_value = number
    with pytest.raises(ValueError):
        _printer(message)
    with pytest.raises(ValueError, match="finite"):
        from_struct(message)
