"""Turn a failed outgoing call back into a domain exception, keeping the remote message.

A service calling the registry re-raises its errors as its own domain errors, so its own
callers see the same status code and a message that says which hop failed.
"""

from __future__ import annotations

import grpc

from mynumber_core import errors


def as_domain_error(exc: grpc.RpcError, peer: str) -> errors.DomainError:
    """The domain exception matching a failed call to ``peer``."""
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    details = exc.details() if hasattr(exc, "details") else ""
    cls = errors.ERROR_BY_STATUS.get(code, errors.Unavailable)
    error = cls(f"{peer}: {details or code.name.lower()}")
    error.relayed = True  # the channel already retried it (see DomainError.relayed)
    return error
