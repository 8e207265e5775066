"""The "my information" page asks yearly items for Japan's current year, not UTC's."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest

from services.gateway import domain
from services.gateway.usecases.challenges import SessionInfo
from services.gateway.usecases.context import PortalContext
from services.gateway.usecases.information import Information
from tests.support.fake_registry import FakeRegistry


@pytest.mark.parametrize(
    ("now", "year"),
    [
        (dt.datetime(2026, 12, 31, 14, 59, tzinfo=dt.UTC), 2026),  # 23:59 on 31 Dec in Japan
        (dt.datetime(2026, 12, 31, 15, 0, tzinfo=dt.UTC), 2027),  # 00:00 on 1 Jan in Japan
    ],
)
def test_yearly_items_are_asked_for_the_year_in_japan(now: dt.datetime, year: int) -> None:
    registry = FakeRegistry()
    for info in domain.MY_INFORMATION:
        registry.answers[(info.provider, info.item)] = lambda call: {"ok": True}
    # Information reads only the registry and the clock from its context.
    ctx = cast(Any, PortalContext)(
        db=None, blind=None, registry=registry, cards=None, audience="-", clock=lambda: now
    )
    session = SessionInfo("R1", "tok-1", "h", now + dt.timedelta(minutes=5), grant="g")
    sections = Information(ctx).my_information(session)
    assert [s.status for s in sections] == ["ok"] * len(domain.MY_INFORMATION)
    yearly = [q for q in registry.queries if "year" in q["params"]]
    assert yearly, "no yearly item in MY_INFORMATION"
    assert {q["params"]["year"] for q in yearly} == {year}
