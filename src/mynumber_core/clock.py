"""Time helpers every service shares: the current UTC instant, and UTC for naive values.

SQLite hands timezone-aware columns back as naive datetimes; everything stored is UTC, so
:func:`aware` restores the zone. Use cases take a clock (``Callable[[], datetime]``) from wiring
so tests can move time; :func:`utc_now` is the real one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The current instant, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def aware(value: dt.datetime) -> dt.datetime:
    """``value`` with UTC attached when it came back naive (SQLite); aware values unchanged."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
