"""The platform under test for the fault suite, started once per backend per module.

Every service runs as its own process, the way ``make run`` starts it
(:class:`mynumber_dev.platform.Platform`), on SQLite files or on a private PostgreSQL cluster
(:mod:`tests.chaos.pgcluster`). Two things are added around it:

* every service except the registry (and the suite's clients) reaches the registry through a
  :class:`~tests.chaos.netfault.TcpRelay`, so the network to the registry can be dropped;
* a :class:`mynumber_dev.platform.Supervisor` polled from a thread restarts any service that
  dies, as Kubernetes would (short backoff, so the suite stays fast). A service can be held
  down on purpose (:meth:`ChaosPlatform.held`).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mynumber_dev.platform import Platform, Supervisor, wait_until_serving
from tests.chaos.netfault import TcpRelay

SERVICES = ["registry", "municipality", "pension", "tax", "health", "gateway"]


@dataclass
class ChaosPlatform(Platform):
    """A :class:`Platform` whose services reach the registry through a relay."""

    relay: TcpRelay | None = None
    messages: list[str] = field(default_factory=list)
    _held: set[str] = field(default_factory=set)
    _supervisor: Supervisor | None = None
    _watching: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _spawn(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Start a process as :class:`Platform` does, but point it at the relay (the
        endpoints are chosen, and the registry's process started, before any other)."""
        if self.relay is None:
            self.relay = TcpRelay(self.endpoints["registry"])
        if kwargs.get("service", name) != "registry":
            self._env[name]["MYNUMBER_ENDPOINTS"] = json.dumps(self.client_endpoints)
        super()._spawn(name, *args, **kwargs)

    @property
    def client_endpoints(self) -> dict[str, str]:
        """The endpoints a caller uses: the registry through the relay."""
        assert self.relay is not None
        return {**self.endpoints, "registry": self.relay.address}

    def supervise(self, interval: float = 0.1) -> None:
        """Start restarting dead services from a background thread."""
        self._supervisor = Supervisor(
            self, say=self.messages.append, initial=0.2, cap=2.0, stable=5.0
        )
        self._watching.set()
        threading.Thread(target=self._watch, args=(interval,), daemon=True).start()

    def _watch(self, interval: float) -> None:
        while self._watching.is_set():
            with self._lock:
                if self._supervisor is not None:
                    held = {n: self.procs.pop(n) for n in self._held if n in self.procs}
                    try:
                        self._supervisor.check()
                    finally:
                        self.procs.update(held)
            time.sleep(interval)

    @property
    def restarts(self) -> dict[str, int]:
        """Restarts the supervisor made, by service."""
        return dict(self._supervisor.restarts) if self._supervisor else {}

    @contextlib.contextmanager
    def held(self, service: str) -> Iterator[None]:
        """The supervisor leaves ``service`` alone inside the block."""
        with self._lock:
            self._held.add(service)
        try:
            yield
        finally:
            with self._lock:
                self._held.discard(service)

    def wait_serving(self, service: str, timeout: float = 180.0) -> float:
        """Block until the service's current process is SERVING; returns when (monotonic).
        A process that dies meanwhile is waited for again (the supervisor restarts it)."""
        deadline = time.monotonic() + timeout
        while True:
            proc = self.procs[service]
            try:
                wait_until_serving(
                    service,
                    proc.health_port,
                    proc.process,
                    proc.log_path,
                    deadline=deadline,
                    timeout=timeout,
                    give_up=lambda: None,
                )
                return time.monotonic()
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def shutdown(self) -> dict[str, Any]:
        """Stop supervising, stop every service, close the relay."""
        self._watching.clear()
        with self._lock:
            self._supervisor = None
        codes = self.stop()
        if self.relay is not None:
            self.relay.close()
        return dict(codes)
