"""Domain exceptions shared by every service.

Use cases raise these; one interceptor (:mod:`mynumber_core.interceptors`) maps them to gRPC
status codes. Messages are written for the caller: they say what is wrong and how to fix it,
and they never contain a My Number, a name or any other personal data.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class: an expected failure whose message is safe to show the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """The request is malformed (maps to INVALID_ARGUMENT)."""


class NotFound(DomainError):
    """The referenced object does not exist for this caller (NOT_FOUND)."""


class AlreadyExists(DomainError):
    """The object exists already (ALREADY_EXISTS)."""


class PermissionDenied(DomainError):
    """The caller may not do this (PERMISSION_DENIED)."""


class Unauthenticated(DomainError):
    """The caller did not prove who it is (UNAUTHENTICATED)."""


class FailedPrecondition(DomainError):
    """The system is not in a state that allows this (FAILED_PRECONDITION)."""


class Conflict(DomainError):
    """A concurrent or contradictory change (ABORTED)."""


class RateLimited(DomainError):
    """Too many attempts; try later (RESOURCE_EXHAUSTED)."""


class DeadlineExceeded(DomainError):
    """The caller's deadline passed before the work could be done (DEADLINE_EXCEEDED)."""


class Unavailable(DomainError):
    """A dependency is down; the call may be retried with the same idempotency key."""


class IntegrityFailure(DomainError):
    """Stored data failed verification (DATA_LOSS): never retried silently."""
