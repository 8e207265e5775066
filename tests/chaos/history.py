"""A Jepsen-style history of client operations, and the checks run on it after the faults.

Client threads record every operation they attempt (:class:`Op`: kind, key, start, end, the
gRPC status it ended with and the value it returned) in a :class:`History`. Once the faults are
over, the test reads what the platform actually holds (:class:`Observed`: the registry's
exchange log, the pension applications, the municipality's outbox, each agency's processed
events and health's address versions) and :func:`check` compares the two:

* **lost**: an acknowledged write the platform does not hold (an OK query whose log index does
  not carry its request id, an OK exemption without its stored decision or its logged income
  query, an OK move whose events are not in the outbox or were not delivered to every agency);
* **duplicated**: an idempotent retry that took effect twice (a request id provided twice in
  the log, an event delivered or applied twice by one agency, more outbox events than moves);
* **problems**: anything else that breaks an invariant (log indices not dense, address
  versions that do not add up to the deliveries).

The checker knows nothing of gRPC or databases: it is plain data in, findings out, so its unit
tests (``test_history.py``) plant each violation and see it caught.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

OK = "OK"
QUERY, EXEMPTION, MOVE = "query", "exemption", "move"
PROVIDED, DELIVERED = "provided", "delivered"


@dataclass(frozen=True)
class Op:
    """One client operation as the client saw it."""

    kind: str
    key: str
    """The request id / application id / idempotency key the client sent."""
    start: float
    end: float
    status: str
    """The gRPC status name the call ended with ("OK" when acknowledged)."""
    value: Any = None
    """What an acknowledged call returned: a log index (query), event ids (move)."""
    phase: str = ""
    """The fault that was running when the operation started."""
    subject: str = ""
    """Whom the operation is about (a mover's label), for per-person checks."""

    @property
    def ok(self) -> bool:
        """Acknowledged by the platform."""
        return self.status == OK


class History:
    """A thread-safe, append-only list of operations plus the current fault phase."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._ops: list[Op] = []
        self.phase = "warm-up"

    def now(self) -> float:
        """The history's clock (monotonic seconds)."""
        return self._clock()

    def record(self, op: Op) -> None:
        """Append one finished operation."""
        with self._lock:
            self._ops.append(op)

    def run(
        self,
        kind: str,
        key: str,
        call: Callable[[], T],
        *,
        value: Callable[[T], Any] = lambda result: result,
        status_of: Callable[[BaseException], str | None] = lambda exc: None,
        subject: str = "",
    ) -> T | None:
        """Run ``call`` and record it: OK with ``value(result)``, or the status name that
        ``status_of`` reads from the exception (an exception it does not recognise is
        recorded as ``UNKNOWN`` and re-raised, so a bug in the test is not hidden)."""
        phase, start = self.phase, self.now()
        try:
            result = call()
        except BaseException as exc:
            status = status_of(exc)
            self.record(Op(kind, key, start, self.now(), status or "UNKNOWN", None, phase, subject))
            if status is None:
                raise
            return None
        self.record(Op(kind, key, start, self.now(), OK, value(result), phase, subject))
        return result

    def ops(self) -> list[Op]:
        """A snapshot of every operation recorded so far, in completion order."""
        with self._lock:
            return list(self._ops)


@dataclass(frozen=True)
class LogRow:
    """One exchange-log entry as stored by the registry."""

    index: int
    requester: str
    provider: str
    request_id: str
    outcome: str


@dataclass
class Observed:
    """What the platform holds once the faults are over."""

    log: Sequence[LogRow]
    exemptions: set[str] = field(default_factory=set)
    """Application ids pension has a decision for."""
    outbox_moves: Sequence[str] = field(default_factory=list)
    """Ids of the municipality's address_changed outbox events (one row per event)."""
    processed: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Agency → the event ids in its processed-events table (one row per application)."""
    receivers: frozenset[str] = frozenset()
    """The agencies every move must reach."""
    address_versions: int | None = None
    """Sum of health's address versions over the movers (one increment per applied move)."""


@dataclass
class Findings:
    """The checker's verdict."""

    operations: int
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Nothing lost, nothing duplicated, no other problem."""
        return not (self.lost or self.duplicated or self.problems)

    def summary(self) -> str:
        """The report's one line."""
        return (
            f"history checked: {self.operations} operations, {len(self.lost)} lost, "
            f"{len(self.duplicated)} duplicated, {len(self.problems)} other problems"
        )


def _counts(items: Iterable[str]) -> Counter[str]:
    return Counter(items)


def check(ops: Sequence[Op], observed: Observed) -> Findings:
    """Compare the history with what the platform holds (see the module docstring)."""
    found = Findings(operations=len(ops))
    log = list(observed.log)
    indices = [row.index for row in log]
    if sorted(indices) != list(range(len(log))):
        found.problems.append(
            f"log indices are not 0..{len(log) - 1} without gap or repeat "
            f"({len(log)} rows, {len(set(indices))} distinct)"
        )
    by_index = {row.index: row for row in log}
    provided = _counts(
        f"{row.requester}/{row.request_id}" for row in log if row.outcome == PROVIDED
    )
    for key, n in provided.items():
        if n > 1:
            found.duplicated.append(f"request id {key} provided {n} times in the log")
    delivered = _counts(
        f"{row.request_id}->{row.provider}" for row in log if row.outcome == DELIVERED
    )
    for key, n in delivered.items():
        if n > 1:
            found.duplicated.append(f"event {key} delivered {n} times in the log")

    for op in ops:
        if not op.ok:
            continue
        if op.kind == QUERY:
            row = by_index.get(int(op.value))
            if row is None or row.request_id != op.key or row.outcome != PROVIDED:
                found.lost.append(f"query {op.key} acknowledged at index {op.value}, not there")
        elif op.kind == EXEMPTION:
            if op.key not in observed.exemptions:
                found.lost.append(f"exemption {op.key} acknowledged, no decision stored")
            if provided[f"pension/{op.key}:income"] == 0:
                found.lost.append(f"exemption {op.key} acknowledged, its income query not logged")

    outbox = _counts(observed.outbox_moves)
    for event_id, n in outbox.items():
        if n > 1:
            found.duplicated.append(f"outbox event {event_id} stored {n} times")
    moves = [op for op in ops if op.kind == MOVE]
    acked_events = [e for op in moves if op.ok for e in op.value]
    for event_id in acked_events:
        if event_id not in outbox:
            found.lost.append(f"move event {event_id} acknowledged, not in the outbox")
            continue
        for receiver in sorted(observed.receivers):
            if delivered[f"{event_id}->{receiver}"] == 0:
                found.lost.append(f"move event {event_id} never delivered to {receiver}")
    acked_keys = _counts(op.key for op in moves if op.ok)
    for key, n in acked_keys.items():
        if n > 1:
            found.problems.append(f"move key {key} used by {n} acknowledged operations")
    unacknowledged = sum(1 for op in moves if not op.ok)
    extra = len(set(outbox) - set(acked_events))
    if extra > unacknowledged:
        found.duplicated.append(
            f"{extra} outbox move events no acknowledged move returned, but only "
            f"{unacknowledged} moves failed (a retried move took effect twice)"
        )
    for agency, events in observed.processed.items():
        for event_id, n in _counts(events).items():
            if n > 1:
                found.duplicated.append(f"{agency} applied event {event_id} {n} times")
    for event_id in set(outbox):
        for receiver in sorted(observed.receivers):
            applied = event_id in set(observed.processed.get(receiver, ()))
            logged = delivered[f"{event_id}->{receiver}"] > 0
            if logged and not applied and receiver in observed.processed:
                found.lost.append(
                    f"event {event_id} logged as delivered to {receiver}, not applied"
                )
    if observed.address_versions is not None and "health" in observed.processed:
        applied_at_health = len(set(observed.processed["health"]) & set(outbox))
        if observed.address_versions != applied_at_health:
            found.problems.append(
                f"health's address versions add up to {observed.address_versions}, "
                f"but it applied {applied_at_health} address changes"
            )
    return found


@dataclass(frozen=True)
class Window:
    """One fault: when it began, when it was healed (or the killed service served again)."""

    name: str
    start: float
    healed: float


def errors_by_status(ops: Sequence[Op]) -> dict[str, dict[str, int]]:
    """Phase → status name → count of failed operations (OK is left out)."""
    table: dict[str, dict[str, int]] = {}
    for op in ops:
        if not op.ok:
            row = table.setdefault(op.phase, {})
            row[op.status] = row.get(op.status, 0) + 1
    return table


def recovery_seconds(ops: Sequence[Op], window: Window, kinds: Iterable[str]) -> float | None:
    """Seconds from the fault's start until an operation of ``kinds`` that started after it
    was acknowledged (the platform answered again); None if none was."""
    wanted = set(kinds)
    ends = [op.end for op in ops if op.ok and op.kind in wanted and op.start >= window.start]
    return round(min(ends) - window.start, 3) if ends else None
