"""Client load for the fault suite: a few threads, every operation recorded in the history.

* ``query`` threads: ``Hub.Query`` as pension for a resident's income at tax, each with a
  fresh request id (registry → tax; the channel's retry policy resends the same id);
* an ``exemption`` thread: ``Pension.ApplyExemption`` at the counter with a fresh application
  id (pension → registry → tax and municipality; the decision is stored and sent to the inbox);
* a ``move`` thread: ``Municipality.RecordMove`` with a fresh idempotency key, each mover in
  turn to a new address (the moving one-stop: the outbox relays it through the registry to
  pension, tax and health).

:meth:`Load.pause` lets the in-flight operations finish and holds the threads, so the checks
read a platform at rest; :meth:`Load.resume` carries on.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from mynumber.municipality.v1 import municipality_pb2 as mpb
from mynumber.pension.v1 import pension_pb2 as ppb
from mynumber.registry.v1 import registry_pb2 as rpb

from mynumber_core.structs import to_struct
from tests.chaos.history import EXEMPTION, MOVE, QUERY, History
from tests.e2e.clients import Clients, Person

CALL_TIMEOUT = 8.0
"""Every client call's deadline (seconds)."""


def status_of(exc: BaseException) -> str | None:
    """The status name of a failed gRPC call; None for anything else (a bug: re-raised)."""
    if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
        return str(exc.code().name)
    return None


@dataclass
class Resident:
    """A resident the load acts on: the person and their pension token."""

    person: Person
    pension_token: str
    label: str
    tokens: dict[str, str] = field(default_factory=dict)
    """The resident's token at each agency."""


@dataclass
class Load:
    """The client threads."""

    history: History
    clients: Clients
    residents: list[Resident]
    """Who queries and exemptions are about (they never move: a form carries the address)."""
    movers: list[Resident]
    """Who moves."""
    income_year: int
    fiscal_year: int
    query_threads: int = 3
    crashes: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _running: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: int = 0
    _threads: list[threading.Thread] = field(default_factory=list)
    _addresses: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def start(self) -> None:
        """Start every client thread."""
        self._running.set()
        loops: list[tuple[str, Callable[[int], None]]] = [
            *((f"query-{k}", self._query) for k in range(self.query_threads)),
            ("exemption", self._exemption),
            ("move", self._move),
        ]
        for k, (name, step) in enumerate(loops):
            thread = threading.Thread(target=self._loop, args=(step, k), name=name, daemon=True)
            self._threads.append(thread)
            thread.start()

    def _loop(self, step: Callable[[int], None], k: int) -> None:
        i = 0
        while not self._stop.is_set():
            self._running.wait()
            if self._stop.is_set():
                return
            with self._lock:
                self._in_flight += 1
            try:
                step(k + i)
            except Exception as exc:  # a bug in the suite or an unexpected exception type
                self.crashes.append(f"{threading.current_thread().name}: {exc!r}")
                return
            finally:
                with self._lock:
                    self._in_flight -= 1
            i += 1

    def _query(self, n: int) -> None:
        resident = self.residents[n % len(self.residents)]
        request_id = f"chaos-q-{uuid.uuid4().hex}"
        hub = self.clients.hub("pension")
        self.history.run(
            QUERY,
            request_id,
            lambda: hub.Query(
                rpb.QueryRequest(
                    token=resident.pension_token,
                    provider="tax",
                    item="income",
                    procedure="pension.exemption",
                    request_id=request_id,
                    params=to_struct({"year": self.income_year}),
                ),
                timeout=CALL_TIMEOUT,
            ),
            value=lambda response: int(response.log_index),
            status_of=status_of,
            subject=resident.label,
        )

    def _exemption(self, n: int) -> None:
        resident = self.residents[n % len(self.residents)]
        app_id = f"CHAOS-{uuid.uuid4().hex[:24]}"
        self.history.run(
            EXEMPTION,
            app_id,
            lambda: self.clients.pension().ApplyExemption(
                ppb.ApplyExemptionRequest(
                    identity=resident.person.form(ppb),
                    fiscal_year=self.fiscal_year,
                    application_id=app_id,
                ),
                timeout=CALL_TIMEOUT,
            ),
            value=lambda decision: decision.level,
            status_of=status_of,
            subject=resident.label,
        )
        time.sleep(0.1)

    def _move(self, n: int) -> None:
        resident = self.movers[n % len(self.movers)]
        key = f"chaos-m-{uuid.uuid4().hex}"
        address = f"岩手県盛岡市大通{next(self._addresses)}丁目1番1号"

        def move() -> Any:
            return self.clients.municipality().RecordMove(
                mpb.RecordMoveRequest(
                    address_number=resident.person.address_number,
                    new_address=address,
                    effective_date=time.strftime("%Y-%m-%d"),
                    idempotency_key=key,
                ),
                timeout=CALL_TIMEOUT,
            )

        self.history.run(
            MOVE,
            key,
            move,
            value=lambda response: list(response.event_ids),
            status_of=status_of,
            subject=resident.label,
        )
        time.sleep(1.0)

    def pause(self, timeout: float = 60.0) -> None:
        """Hold the threads once their current operation is done."""
        self._running.clear()
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._in_flight == 0:
                    return
            assert time.monotonic() < deadline, "client operations did not finish"
            time.sleep(0.05)

    def resume(self) -> None:
        """Carry on after :meth:`pause`."""
        self._running.set()

    def stop(self) -> None:
        """Stop every thread."""
        self._stop.set()
        self._running.set()
        for thread in self._threads:
            thread.join(timeout=30)
