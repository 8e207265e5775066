"""Japanese time: fiscal years, ages and calendar years are counted in JST (UTC+9)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")


def today_jst() -> dt.date:
    """Today's date in Japan."""
    return dt.datetime.now(JST).date()
