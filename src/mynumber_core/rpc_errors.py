"""Turn a failed outgoing call back into a domain exception, keeping the remote message.

A service calling the registry re-raises its errors as its own domain errors, so its own
callers see the same status code and a message that says which hop failed.
"""

from __future__ import annotations

import grpc

from mynumber_core import errors

_ERROR_BY_STATUS: dict[grpc.StatusCode, type[errors.DomainError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidInput,
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: errors.Unauthenticated,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.ABORTED: errors.Conflict,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.RateLimited,
    grpc.StatusCode.DEADLINE_EXCEEDED: errors.DeadlineExceeded,
    grpc.StatusCode.UNAVAILABLE: errors.Unavailable,
    grpc.StatusCode.DATA_LOSS: errors.IntegrityFailure,
}


def as_domain_error(exc: grpc.RpcError, peer: str) -> errors.DomainError:
    """The domain exception matching a failed call to ``peer``."""
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    details = exc.details() if hasattr(exc, "details") else ""
    cls = _ERROR_BY_STATUS.get(code, errors.Unavailable)
    return cls(f"{peer}: {details or code.name.lower()}")
