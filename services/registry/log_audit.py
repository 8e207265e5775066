"""The auditor's read access to the whole exchange log (service ``LogAudit``).

A monitor (``mynumber log monitor``) replays every leaf from entry 0 and recomputes the tree;
it never trusts the registry's root. Leaves are read straight from ``log_entries``, in index
order, only below the log's current size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from mynumber.registry.v1 import log_audit_pb2, log_audit_pb2_grpc
from sqlalchemy import select

from mynumber_core import errors
from mynumber_core.db import Database
from services.registry.models import LogEntry

MAX_LEAVES = 1000
"""Leaves per GetLeaves call at most."""


class LogLeaves:
    """Reads ranges of leaves."""

    def __init__(self, db: Database, size: Callable[[], int]) -> None:
        self._db = db
        self._size = size

    def leaves(self, start: int, end: int) -> list[bytes]:
        """The leaf bytes of entries ``[start, end)``; clear errors for a bad range."""
        if end < start:
            raise errors.InvalidInput("end must not be below start")
        if end - start > MAX_LEAVES:
            raise errors.InvalidInput(f"ask for at most {MAX_LEAVES} leaves per call")
        size = self._size()
        if end > size:
            raise errors.InvalidInput(f"the log has {size} entries; end must be at most {size}")
        with self._db.transaction() as session:
            rows = list(
                session.execute(
                    select(LogEntry.index, LogEntry.leaf)
                    .where(LogEntry.index >= start, LogEntry.index < end)
                    .order_by(LogEntry.index)
                )
            )
        return [bytes(leaf) for _, leaf in rows]


class LogAuditServicer(log_audit_pb2_grpc.LogAuditServicer):
    """The LogAudit API."""

    def __init__(self, leaves: LogLeaves) -> None:
        self._leaves = leaves

    def GetLeaves(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        return log_audit_pb2.GetLeavesResponse(
            leaves=self._leaves.leaves(request.start, request.end)
        )
