"""Domain exceptions shared by every service, and the one table of what each means on the wire.

Use cases raise these. Each class carries its gRPC status (:attr:`DomainError.grpc_status`), its
HTTP status and error code for the portal's JSON API (:attr:`DomainError.http_status`,
:attr:`DomainError.error_code`): the server interceptor (:mod:`mynumber_core.interceptors`), the
client-side mapping back from a status (:mod:`mynumber_core.rpc_errors`) and the gateway's HTTP
error handler all read them from here. A new kind of error is one new subclass below, with its
three attributes, added to :data:`ERROR_TYPES`.

Messages are written for the caller: they say what is wrong and how to fix it, and they never
contain a My Number, a name or any other personal data.
"""

from __future__ import annotations

from typing import ClassVar

import grpc
from sqlalchemy import exc as sa_exc


class DomainError(Exception):
    """Base class: an expected failure whose message is safe to show the caller."""

    grpc_status: ClassVar[grpc.StatusCode] = grpc.StatusCode.INTERNAL
    http_status: ClassVar[int] = 500
    error_code: ClassVar[str] = "internal"

    relayed: bool = False
    """True for the failure of a call to a peer, which this service's channel already retried
    (:mod:`mynumber_core.channels`): the server then tells its own caller not to retry it again
    (gRPC retry pushback), so retries do not multiply along a chain of calls."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """The request is malformed (maps to INVALID_ARGUMENT)."""

    grpc_status = grpc.StatusCode.INVALID_ARGUMENT
    http_status = 400
    error_code = "invalid_argument"


class NotFound(DomainError):
    """The referenced object does not exist for this caller (NOT_FOUND)."""

    grpc_status = grpc.StatusCode.NOT_FOUND
    http_status = 404
    error_code = "not_found"


class AlreadyExists(DomainError):
    """The object exists already (ALREADY_EXISTS)."""

    grpc_status = grpc.StatusCode.ALREADY_EXISTS
    http_status = 409
    error_code = "already_exists"


class PermissionDenied(DomainError):
    """The caller may not do this (PERMISSION_DENIED)."""

    grpc_status = grpc.StatusCode.PERMISSION_DENIED
    http_status = 403
    error_code = "permission_denied"


class Unauthenticated(DomainError):
    """The caller did not prove who it is (UNAUTHENTICATED)."""

    grpc_status = grpc.StatusCode.UNAUTHENTICATED
    http_status = 401
    error_code = "unauthenticated"


class FailedPrecondition(DomainError):
    """The system is not in a state that allows this (FAILED_PRECONDITION)."""

    grpc_status = grpc.StatusCode.FAILED_PRECONDITION
    http_status = 409
    error_code = "failed_precondition"


class Conflict(DomainError):
    """A concurrent or contradictory change (ABORTED)."""

    grpc_status = grpc.StatusCode.ABORTED
    http_status = 409
    error_code = "conflict"


class RateLimited(DomainError):
    """Too many attempts; try later (RESOURCE_EXHAUSTED)."""

    grpc_status = grpc.StatusCode.RESOURCE_EXHAUSTED
    http_status = 429
    error_code = "rate_limited"


class DeadlineExceeded(DomainError):
    """The caller's deadline passed before the work could be done (DEADLINE_EXCEEDED)."""

    grpc_status = grpc.StatusCode.DEADLINE_EXCEEDED
    http_status = 504
    error_code = "deadline_exceeded"


class Unavailable(DomainError):
    """A dependency is down; the call may be retried with the same idempotency key."""

    grpc_status = grpc.StatusCode.UNAVAILABLE
    http_status = 503
    error_code = "unavailable"


class IntegrityFailure(DomainError):
    """Stored data failed verification (DATA_LOSS): never retried silently."""

    grpc_status = grpc.StatusCode.DATA_LOSS
    http_status = 500
    error_code = "integrity_failure"


ERROR_TYPES: tuple[type[DomainError], ...] = (
    InvalidInput,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    Unauthenticated,
    FailedPrecondition,
    Conflict,
    RateLimited,
    DeadlineExceeded,
    Unavailable,
    IntegrityFailure,
)
"""The error table: one class per gRPC status a use case may end with (each status once)."""

ERROR_BY_STATUS: dict[grpc.StatusCode, type[DomainError]] = {
    cls.grpc_status: cls for cls in ERROR_TYPES
}
"""The reverse of the table: the domain error a failed outgoing call's status stands for."""

_ERROR_BY_CODE: dict[int, type[DomainError]] = {
    int(cls.grpc_status.value[0]): cls for cls in ERROR_TYPES
}


def error_type_of(code: int) -> type[DomainError] | None:
    """The error type a numeric gRPC status code stands for (e.g. one result of a batch): None
    for OK (0), :class:`Unavailable` for a code outside the table."""
    if code == 0:
        return None
    return _ERROR_BY_CODE.get(code, Unavailable)


# SQLSTATE classes and codes that mean "the database cannot serve right now, try again": 08
# connection exception, 53 insufficient resources, 57P01-57P03 admin/crash shutdown or "the
# database system is starting up", 40001 serialization failure and 40P01 deadlock.
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "53", "57P", "40001", "40P01")
_TRANSIENT_SQLITE = ("database is locked", "database table is locked", "disk i/o error")
_TRANSIENT_RPC = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def infrastructure_error(exc: BaseException) -> DomainError | None:
    """The retryable domain error an infrastructure failure stands for, or None for a bug.

    A database that is down, restarting, out of connections or locked, and a peer that cannot
    be reached, are :class:`Unavailable` (the caller retries with the same idempotency key);
    a deadline that ran out on the way to a peer is :class:`DeadlineExceeded`. Anything else
    (a syntax error, a missing table, a constraint nobody expected) is not recognised here and
    stays INTERNAL. The messages name no value from the failed statement.
    """
    if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
        code = exc.code()
        relayed: DomainError
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            relayed = DeadlineExceeded("a downstream service did not answer within the deadline")
        elif code in _TRANSIENT_RPC:
            relayed = Unavailable("a downstream service cannot be reached; retry shortly")
        else:
            return None
        relayed.relayed = True
        return relayed
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return Unavailable("the database has no free connection; retry shortly")
    if isinstance(exc, sa_exc.DBAPIError):
        orig = exc.orig
        sqlstate = str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")
        text = str(orig).lower()
        transient = (
            exc.connection_invalidated
            or sqlstate.startswith(_TRANSIENT_SQLSTATE_PREFIXES)
            # psycopg: no SQLSTATE at all means the server was never reached
            or (
                isinstance(exc, sa_exc.OperationalError)
                and not sqlstate
                and "sqlite" not in type(orig).__module__
            )
            or (isinstance(exc, sa_exc.OperationalError) and text.startswith(_TRANSIENT_SQLITE))
            or isinstance(exc, sa_exc.InterfaceError)
        )
        if transient:
            return Unavailable("the database is unavailable or restarting; retry shortly")
    return None
