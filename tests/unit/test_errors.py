"""The error table: every domain error maps to one gRPC status and back, and to its HTTP code."""

from __future__ import annotations

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core import errors
from mynumber_core.card import CardError, CardRejected, RejectReason
from mynumber_core.interceptors import status_code, status_for
from mynumber_core.rpc_errors import as_domain_error
from services.gateway.usecases.information import section_status
from services.gateway.web.app import status_of


class _Failed(grpc.RpcError):
    """A failed outgoing call as grpc raises it."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def test_each_status_belongs_to_one_error_type() -> None:
    statuses = [cls.grpc_status for cls in errors.ERROR_TYPES]
    assert len(set(statuses)) == len(statuses)
    assert grpc.StatusCode.OK not in statuses
    assert set(errors.ERROR_TYPES) == {
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and cls.__base__ is errors.DomainError
    }


@pytest.mark.parametrize("cls", errors.ERROR_TYPES, ids=lambda c: c.__name__)
def test_round_trip_through_a_call(cls: type[errors.DomainError]) -> None:
    raised = cls("what is wrong and how to fix it")
    assert status_for(raised) is cls.grpc_status
    assert status_code(raised) == cls.grpc_status.value[0]
    back = as_domain_error(_Failed(status_for(raised), raised.message), "registry")
    assert type(back) is cls
    assert back.message == "registry: what is wrong and how to fix it"
    assert status_of(raised) == (cls.http_status, cls.error_code)


def test_subclasses_inherit_their_row() -> None:
    assert status_for(CardError("bad PIN format")) is grpc.StatusCode.INVALID_ARGUMENT
    rejected = CardRejected(RejectReason.REVOKED, "the card was revoked")
    assert status_for(rejected) is grpc.StatusCode.UNAUTHENTICATED
    assert status_of(rejected) == (401, "unauthenticated")


def test_unknown_status_is_unavailable_and_the_base_is_internal() -> None:
    back = as_domain_error(_Failed(grpc.StatusCode.UNKNOWN, ""), "tax")
    assert type(back) is errors.Unavailable
    assert back.message == "tax: unknown"
    assert status_for(errors.DomainError("x")) is grpc.StatusCode.INTERNAL
    assert status_of(errors.DomainError("x")) == (500, "internal")


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_a_numeric_code_stands_for_its_table_row(code: int) -> None:
    kind = errors.error_type_of(code)
    by_code = {int(cls.grpc_status.value[0]): cls for cls in errors.ERROR_TYPES}
    if code == 0:
        assert kind is None
    else:
        assert kind is by_code.get(code, errors.Unavailable)


def test_my_information_sections_follow_the_table() -> None:
    assert section_status(grpc.StatusCode.OK.value[0]) == "ok"
    assert section_status(grpc.StatusCode.NOT_FOUND.value[0]) == "no_record"
    assert section_status(grpc.StatusCode.PERMISSION_DENIED.value[0]) == "denied"
    for code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        assert section_status(code.value[0]) == "unavailable"
    assert section_status(99) == "unavailable"
