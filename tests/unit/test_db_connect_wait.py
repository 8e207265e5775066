"""Opening a PostgreSQL connection waits for a restarting server (mynumber_core.db).

The rule (which errors are waited on, the backoff, the budget capped by the call's deadline)
is checked here with a scripted ``connect`` and a fake clock; tests/chaos/test_db_restart.py
checks it against a real PostgreSQL server that is stopped and started again.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core.db import connect_waiting, restarting


class Refused(Exception):
    """What psycopg raises when nothing listens: no SQLSTATE."""

    sqlstate = None


class Refusal(Exception):
    """A running server's FATAL answer to a connection attempt (psycopg: no SQLSTATE)."""

    sqlstate = None


class Coded(Exception):
    """A server error with a SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _script(failures: list[Exception]) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def connect() -> str:
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return "connection"

    return calls, connect


@pytest.mark.parametrize(
    ("error", "waited"),
    [
        (Refused(), True),
        (Coded("57P03"), True),  # the database system is starting up
        (Coded("08006"), True),  # connection failure
        (Coded("28P01"), False),  # password authentication failed
        (Coded("3D000"), False),  # database does not exist
        (Coded("57P01"), False),  # admin shutdown of a session: not a connect-time state
        (Refusal("failed: FATAL:  the database system is starting up"), True),
        (Refusal("failed: FATAL:  the database system is in recovery mode"), True),
        (Refusal("failed: FATAL:  sorry, too many clients already"), True),
        (Refusal('failed: FATAL:  database "x" does not exist'), False),
        (Refusal('failed: FATAL:  role "x" does not exist'), False),
        (Refusal('failed: FATAL:  password authentication failed for user "x"'), False),
        (ValueError("not a driver error"), False),
    ],
)
def test_which_connection_errors_mean_the_server_is_restarting(
    error: Exception, waited: bool
) -> None:
    assert restarting(error) is waited


def test_a_restarting_server_is_waited_for_with_backoff() -> None:
    clock = Clock()
    calls, connect = _script([Refused(), Refused(), Coded("57P03"), Refused(), Refused()])
    result = connect_waiting(connect, wait=10, sleep=clock.sleep, clock=lambda: clock.now)
    assert result == "connection"
    assert len(calls) == 6
    assert clock.sleeps == [0.05, 0.1, 0.2, 0.4, 0.5]


def test_a_server_that_stays_down_fails_after_the_budget() -> None:
    clock = Clock()
    calls, connect = _script([Refused()] * 1000)
    with pytest.raises(Refused):
        connect_waiting(connect, wait=2.0, sleep=clock.sleep, clock=lambda: clock.now)
    assert clock.now <= 2.0
    assert len(calls) > 3


def test_the_budget_never_passes_the_calls_deadline() -> None:
    clock = Clock()
    _, connect = _script([Refused()] * 1000)
    with pytest.raises(Refused):
        connect_waiting(
            connect,
            wait=10,
            remaining=lambda: 0.3,
            sleep=clock.sleep,
            clock=lambda: clock.now,
        )
    assert clock.now <= 0.75 * 0.3


def test_other_errors_fail_at_once() -> None:
    clock = Clock()
    calls, connect = _script([Coded("28P01")])
    with pytest.raises(Coded):
        connect_waiting(connect, wait=10, sleep=clock.sleep, clock=lambda: clock.now)
    assert calls == [1] and clock.sleeps == []


@given(
    failures=st.integers(min_value=0, max_value=40),
    wait=st.floats(min_value=0, max_value=20, allow_nan=False),
)
def test_it_connects_when_the_server_returns_in_time_and_never_overruns(
    failures: int, wait: float
) -> None:
    clock = Clock()
    calls, connect = _script([Refused()] * failures)
    try:
        result = connect_waiting(connect, wait=wait, sleep=clock.sleep, clock=lambda: clock.now)
    except Refused:
        assert len(calls) <= failures
    else:
        assert result == "connection" and len(calls) == failures + 1
    assert clock.now <= wait
