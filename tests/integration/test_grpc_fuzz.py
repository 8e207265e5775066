"""gRPC fuzz: every method of every service, well-formed requests with hostile values.

Requests are drawn by hypothesis strategies built from the proto descriptors (every field of
the input message, nested messages, repeated fields, enums with unknown values, timestamps far
outside the datetime range, strings with valid My Numbers, control characters, huge values),
and sent over mTLS under every identity the access table allows for the method. No answer may
be INTERNAL or UNKNOWN: hostile input gets a clear status. The codes seen are printed.
"""

from __future__ import annotations

import collections
import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any

import grpc
import mynumber
import pytest
from google.protobuf import descriptor, message_factory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mynumber_core.interceptors import ANY_PEER
from mynumber_core.settings import SERVICE_NAMES
from tests.support.stack import Stack

FD = descriptor.FieldDescriptor
SEEN: collections.Counter[str] = collections.Counter()

HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "123456789018",
            "１２３４５６７８９０１８",
            "' OR 1=1 --",
            "../../etc/passwd",
            "\x00\x01\u202e",
            "a" * 5000,
            "9" * 64,
            "-1",
            "9999-99-99",
            "0000-00-00",
            "2024-02-30",
            "@tax",
        ]
    ),
)
INTS = st.one_of(st.integers(-(2**31), 2**31 - 1), st.sampled_from([0, -1, 2**31 - 1]))
INT64 = st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from([0, -1, 2**62]))


def _methods() -> list[tuple[str, Any]]:
    found = []
    for info in pkgutil.walk_packages(mynumber.__path__, "mynumber."):
        if info.name.endswith("_pb2"):
            module = importlib.import_module(info.name)
            for service in module.DESCRIPTOR.services_by_name.values():
                for method in service.methods:
                    found.append((f"/{service.full_name}/{method.name}", method))
    return sorted(found, key=lambda x: x[0])


def _field(field: Any, depth: int) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FD.TYPE_MESSAGE:
        if field.message_type.full_name == "google.protobuf.Timestamp":
            return st.builds(
                lambda s, n: {"seconds": s, "nanos": n},
                st.sampled_from([0, -62_135_596_801, 253_402_300_800, -(2**62), 1_700_000_000]),
                st.sampled_from([0, -1, 1_000_000_000]),
            )
        if field.message_type.full_name == "google.protobuf.Struct" or depth > 2:
            return st.just({})
        return _message(field.message_type, depth + 1)
    if kind == FD.TYPE_STRING:
        return HOSTILE_TEXT
    if kind == FD.TYPE_BYTES:
        return st.binary(max_size=64)
    if kind == FD.TYPE_BOOL:
        return st.booleans()
    if kind == FD.TYPE_ENUM:
        return st.integers(-1, len(field.enum_type.values) + 2)
    if kind in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return INT64
    if kind in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return st.integers(0, 2**64 - 1)
    if kind in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
        return st.integers(0, 2**32 - 1)
    if kind in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=32)
    return INTS


def _message(desc: Any, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for field in desc.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = _field(field.message_type.fields_by_name["value"], depth)
            parts[field.name] = st.dictionaries(HOSTILE_TEXT, value, max_size=2)
        elif field.is_repeated:
            parts[field.name] = st.lists(_field(field, depth), max_size=3)
        else:
            parts[field.name] = _field(field, depth)
    return st.fixed_dictionaries({}, optional=parts)


def _fill(target: Any, values: dict[str, Any]) -> None:
    for name, value in values.items():
        field = target.DESCRIPTOR.fields_by_name[name]
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            for key, item in value.items():
                if value_field.message_type is not None:
                    _fill(getattr(target, name)[key], item)
                else:
                    getattr(target, name)[key] = item
        elif field.is_repeated:
            for item in value:
                if field.message_type is not None:
                    _fill(getattr(target, name).add(), item)
                else:
                    getattr(target, name).append(item)
        elif field.message_type is not None:
            _fill(getattr(target, name), value)
            getattr(target, name).SetInParent()
        else:
            setattr(target, name, value)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("fuzz"), SERVICE_NAMES) as running_stack:
        yield running_stack
    print("\nfuzz status codes seen:", dict(sorted(SEEN.items())))


def _owner(stack: Stack, method: str) -> tuple[str, list[str]] | None:
    for service, app in stack.apps.items():
        if method in app.access:
            identities = sorted(i for i in app.access[method] if i != ANY_PEER)
            return service, identities or ["registry"]
    return None


@pytest.mark.parametrize(("method", "desc"), _methods(), ids=[m for m, _ in _methods()])
def test_fuzz_every_method(stack: Stack, method: str, desc: Any) -> None:
    owner = _owner(stack, method)
    if owner is None:
        pytest.skip(f"{method} is served by no service of the stack (it is a client contract)")
    service, identities = owner
    request_class = message_factory.GetMessageClass(desc.input_type)
    response_class = message_factory.GetMessageClass(desc.output_type)
    bad: list[str] = []

    @settings(
        max_examples=6,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(values=_message(desc.input_type), who=st.sampled_from(identities))
    def one(values: dict[str, Any], who: str) -> None:
        request = request_class()
        try:
            _fill(request, values)
        except (ValueError, TypeError, OverflowError):
            return  # not representable on the wire (the client library refuses it)
        call = stack.channel(service, as_identity=who).unary_unary(
            method,
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        try:
            call(request, timeout=15)
            SEEN["OK"] += 1
        except grpc.RpcError as exc:
            SEEN[exc.code().name] += 1
            if exc.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
                bad.append(f"{method} as {who}: {exc.code().name} {exc.details()}")

    one()
    assert bad == []
