"""Operator alerts that agencies raise about held payouts (e.g. an account shared by
unrelated residents), and the clerk's approval after review — one definition for every
agency that pays out.

A domain declares ``class Alert(AlertMixin, Base)`` adding its own identifier column and its
encrypted ``detail`` and ``approved_account`` columns.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import DateTime, String, select
from sqlalchemy.orm import Mapped, mapped_column

from mynumber_core.db import Database
from mynumber_core.errors import InvalidInput

_OPERATOR_ID = re.compile(r"[A-Z]{1,3}-[0-9]{3,8}")
_ALERT_ID = re.compile(r"[0-9a-f]{32}")
MAX_LIST = 1000


class AlertMixin:
    """The columns every agency's ``alerts`` table shares."""

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    approved_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """The operator (staff id) who approved the held payout after review (None: not yet)."""
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


def parse_operator_id(raw: str) -> str:
    """An approving clerk's staff id such as ``K-20417`` (recorded with the approval)."""
    if not isinstance(raw, str) or _OPERATOR_ID.fullmatch(raw) is None:
        raise InvalidInput(
            "operator_id must be the approving clerk's staff id, e.g. 'K-20417' "
            "(1-3 capital letters, '-', 3-8 digits)"
        )
    return raw


def parse_alert_id(raw: str) -> str:
    """An alert id as ListAlerts shows it (32 lowercase hex digits)."""
    if not isinstance(raw, str) or _ALERT_ID.fullmatch(raw) is None:
        raise InvalidInput("alert_id must be an alert id as ListAlerts shows it")
    return raw


def recent_alerts(db: Database, model: type[Any], limit: int = 100) -> list[Any]:
    """Operator alerts, newest first (``limit`` 0 means 100)."""
    if not 0 <= limit <= MAX_LIST:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIST} (0 = 100)")
    with db.transaction() as session:
        return list(
            session.scalars(select(model).order_by(model.created_at.desc()).limit(limit or 100))
        )


def alert_fields(alert: Any) -> dict[str, str]:
    """The fields every agency's ``Alert`` message shares, from an alert row (the servicers add
    their own identifier field): ``pb.Alert(**alert_fields(row), reference_number=...)``."""
    return {
        "alert_id": alert.id,
        "kind": alert.kind,
        "subject": alert.subject,
        "detail": alert.detail,
        "created_at": alert.created_at.isoformat(),
        "approved_by": alert.approved_by or "",
        "approved_at": alert.approved_at.isoformat() if alert.approved_at else "",
    }
