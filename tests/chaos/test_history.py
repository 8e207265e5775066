"""The history checker catches each violation it exists for (planted here), and passes a
clean history. Plain data, no services: these run in milliseconds."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.chaos.history import (
    DELIVERED,
    EXEMPTION,
    MOVE,
    OK,
    PROVIDED,
    QUERY,
    History,
    LogRow,
    Observed,
    Op,
    Window,
    check,
    errors_by_status,
    recovery_seconds,
)

RECEIVERS = frozenset({"pension", "tax", "health"})


def _op(kind: str, key: str, status: str = OK, value: object = None, start: float = 0.0) -> Op:
    return Op(kind, key, start, start + 0.1, status, value, "fault")


def _clean() -> tuple[list[Op], Observed]:
    """Two queries, one exemption, one move: everything where it belongs."""
    log = [
        LogRow(0, "pension", "tax", "q-1", PROVIDED),
        LogRow(1, "pension", "tax", "q-2", PROVIDED),
        LogRow(2, "pension", "tax", "app-1:income", PROVIDED),
        LogRow(3, "pension", "municipality", "app-1:household", PROVIDED),
        *(
            LogRow(4 + i, "municipality", r, "ev-1", DELIVERED)
            for i, r in enumerate(sorted(RECEIVERS))
        ),
    ]
    ops = [
        _op(QUERY, "q-1", value=0),
        _op(QUERY, "q-2", value=1),
        _op(QUERY, "q-3", status="UNAVAILABLE"),
        _op(EXEMPTION, "app-1"),
        _op(MOVE, "m-1", value=["ev-1"]),
    ]
    observed = Observed(
        log=log,
        exemptions={"app-1"},
        outbox_moves=["ev-1"],
        processed={r: ["ev-1"] for r in RECEIVERS},
        receivers=RECEIVERS,
        address_versions=1,
    )
    return ops, observed


def test_a_clean_history_passes() -> None:
    ops, observed = _clean()
    findings = check(ops, observed)
    assert findings.clean, findings
    assert findings.summary() == (
        "history checked: 5 operations, 0 lost, 0 duplicated, 0 other problems"
    )


def test_a_lost_acknowledged_query_is_caught() -> None:
    ops, observed = _clean()
    observed.log = [r for r in observed.log if r.request_id != "q-2"]
    observed.log = [LogRow(i, *_fields(r)) for i, r in enumerate(observed.log)]
    findings = check(ops, observed)
    assert findings.lost == ["query q-2 acknowledged at index 1, not there"]
    assert not findings.duplicated


def _fields(row: LogRow) -> tuple[str, str, str, str]:
    return row.requester, row.provider, row.request_id, row.outcome


def test_a_query_at_the_wrong_index_is_lost() -> None:
    ops, observed = _clean()
    ops[0] = _op(QUERY, "q-1", value=1)  # the client was told index 1, which holds q-2
    assert check(ops, observed).lost == ["query q-1 acknowledged at index 1, not there"]


def test_a_retry_provided_twice_is_a_duplicate() -> None:
    ops, observed = _clean()
    observed.log = [*observed.log, LogRow(len(observed.log), "pension", "tax", "q-1", PROVIDED)]
    findings = check(ops, observed)
    assert findings.duplicated == ["request id pension/q-1 provided 2 times in the log"]


def test_a_failed_attempt_then_a_provided_retry_is_not_a_duplicate() -> None:
    ops, observed = _clean()
    observed.log = [*observed.log, LogRow(len(observed.log), "pension", "tax", "q-3", "failed")]
    assert check(ops, observed).clean


def test_gaps_and_repeats_in_the_log_indices_are_problems() -> None:
    ops, observed = _clean()
    observed.log = [*observed.log[:-1], LogRow(99, *_fields(observed.log[-1]))]
    assert any("not 0.." in p for p in check(ops, observed).problems)


def test_a_lost_exemption_decision_and_its_unlogged_query_are_caught() -> None:
    ops, observed = _clean()
    observed.exemptions = set()
    observed.log = [r for r in observed.log if r.request_id != "app-1:income"]
    observed.log = [LogRow(i, *_fields(r)) for i, r in enumerate(observed.log)]
    assert sorted(check(ops, observed).lost) == [
        "exemption app-1 acknowledged, its income query not logged",
        "exemption app-1 acknowledged, no decision stored",
    ]


def test_a_move_missing_from_the_outbox_or_an_agency_is_lost() -> None:
    ops, observed = _clean()
    observed.outbox_moves = []
    assert check(ops, observed).lost == ["move event ev-1 acknowledged, not in the outbox"]
    ops, observed = _clean()
    observed.log = [r for r in observed.log if not (r.request_id == "ev-1" and r.provider == "tax")]
    observed.log = [LogRow(i, *_fields(r)) for i, r in enumerate(observed.log)]
    assert check(ops, observed).lost == ["move event ev-1 never delivered to tax"]


def test_a_move_delivered_or_applied_twice_is_a_duplicate() -> None:
    ops, observed = _clean()
    observed.log = [
        *observed.log,
        LogRow(len(observed.log), "municipality", "tax", "ev-1", DELIVERED),
    ]
    assert check(ops, observed).duplicated == ["event ev-1->tax delivered 2 times in the log"]
    ops, observed = _clean()
    observed.processed = {**observed.processed, "health": ["ev-1", "ev-1"]}
    assert check(ops, observed).duplicated == ["health applied event ev-1 2 times"]


def test_a_retried_move_that_took_effect_twice_is_a_duplicate() -> None:
    """The retry's second event is in the outbox though only one move was made and it
    succeeded: the idempotency key did not hold."""
    ops, observed = _clean()
    observed.outbox_moves = ["ev-1", "ev-2"]
    findings = check(ops, observed)
    assert any("took effect twice" in d for d in findings.duplicated)
    # With one failed move, one unreported event is allowed (it may have taken effect).
    ops.append(_op(MOVE, "m-2", status="UNAVAILABLE"))
    assert not any("took effect twice" in d for d in check(ops, observed).duplicated)


def test_an_address_change_applied_without_its_version_is_a_problem() -> None:
    ops, observed = _clean()
    observed.address_versions = 2
    assert check(ops, observed).problems == [
        "health's address versions add up to 2, but it applied 1 address changes"
    ]


def test_history_records_ok_and_failures_and_reraises_what_it_cannot_name() -> None:
    ticks = itertools.count()
    history = History(clock=lambda: float(next(ticks)))
    history.phase = "kill registry"
    assert history.run(QUERY, "a", lambda: 7) == 7

    def unavailable() -> int:
        raise TimeoutError("x")

    assert history.run(QUERY, "b", unavailable, status_of=lambda exc: "UNAVAILABLE") is None
    with pytest.raises(ValueError):
        history.run(QUERY, "c", lambda: int("x"))
    ops = history.ops()
    assert [(o.key, o.status, o.value, o.phase) for o in ops] == [
        ("a", OK, 7, "kill registry"),
        ("b", "UNAVAILABLE", None, "kill registry"),
        ("c", "UNKNOWN", None, "kill registry"),
    ]
    assert errors_by_status(ops) == {"kill registry": {"UNAVAILABLE": 1, "UNKNOWN": 1}}


def test_recovery_is_the_first_acknowledgement_of_an_operation_started_after_the_fault() -> None:
    ops = [
        Op(QUERY, "old", 0.5, 3.0, OK),  # started before the fault: does not count
        Op(QUERY, "a", 1.2, 2.5, "UNAVAILABLE"),
        Op(QUERY, "b", 1.5, 4.0, OK),
        Op(MOVE, "m", 1.1, 3.5, OK, ["e"]),
    ]
    assert recovery_seconds(ops, Window("kill", 1.0, 2.0), [QUERY]) == 3.0
    assert recovery_seconds(ops, Window("kill", 1.0, 2.0), [EXEMPTION]) is None


@given(
    n=st.integers(min_value=1, max_value=30),
    drop=st.integers(min_value=0, max_value=29),
)
def test_dropping_any_acknowledged_query_is_always_caught(n: int, drop: int) -> None:
    drop %= n
    ops = [_op(QUERY, f"q-{i}", value=i) for i in range(n)]
    rows = [LogRow(i, "pension", "tax", f"q-{i}", PROVIDED) for i in range(n)]
    assert check(ops, Observed(log=rows)).clean
    kept = [r for r in rows if r.index != drop]
    renumbered = [LogRow(i, *_fields(r)) for i, r in enumerate(kept)]
    assert check(ops, Observed(log=renumbered)).lost
