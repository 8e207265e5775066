"""Run the whole platform as processes, the way ``make run`` does (and the e2e tests do).

Each service is its own ``python -m services.<name>`` process with its own database, keyring
and certificate; the launcher migrates the databases first (as the Kubernetes Job does),
waits for every service's grpc.health.v1 status to be SERVING, and stops them with SIGTERM.
``Platform(replicas={"tax": 3})`` runs several processes of a service on its one database
(``tax``, ``tax-2``, ``tax-3``), as a Deployment's replicas: every endpoint then lists all of
them (``"127.0.0.1:p1,127.0.0.1:p2,…"``, which :class:`mynumber_core.channels.Channels` dials
round robin), and gateway replicas share the first one's public origin, as pods behind one
Ingress do.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg import sql

from mynumber_core.migrations import upgrade
from mynumber_core.settings import SERVICE_NAMES
from mynumber_dev import witnesses
from mynumber_dev.keys import DEV_WITNESSES, ensure_dev_keys, keyring_path, tls_dir

BASE_PORTS = {
    "registry": 50051,
    "municipality": 50052,
    "pension": 50053,
    "tax": 50054,
    "health": 50055,
    "gateway": 50056,
    **witnesses.BASE_PORTS,
}
HTTP_PORT = 8080
REPO = Path(__file__).resolve().parents[2]


def available_services() -> list[str]:
    """Services present in this checkout, in start order (the registry first)."""
    present = [s for s in SERVICE_NAMES if (REPO / "services" / s / "wiring.py").exists()]
    if (REPO / "services" / "witness" / "wiring.py").exists():
        present += DEV_WITNESSES
    return present


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


_HANDED_OUT: set[int] = set()
"""Ports :func:`pick_port` gave out in this process. A picked port is free only until its
service binds it, so two picks must never return the same port: a launcher starting a dozen
processes saw a gateway's HTTP port answered by another process's gRPC server."""


def ephemeral_port_range() -> tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (Linux; else IANA's)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 49152, 65535


def pick_port(preferred: int | None) -> int:
    """``preferred`` when free, else a free port this process has not handed out yet.

    Picks come from below the kernel's ephemeral range: a port taken from that range (as a
    bind to port 0 does) can be given to some outgoing connection before the service binds it,
    and a CI run lost a portal to exactly that ("address already in use")."""
    if preferred and preferred not in _HANDED_OUT and _port_free(preferred):
        _HANDED_OUT.add(preferred)
        return preferred
    low, high = ephemeral_port_range()
    span = (10_000, low - 1) if low > 11_000 else (high + 1, 65_535)
    for _ in range(500):
        port = random.randint(*span)
        if port not in _HANDED_OUT and _port_free(port):
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("no free port that was not handed out already")


def postgres_url(base: str, service: str, prefix: str = "mynumber") -> str:
    """Create the service's database on the server at ``base`` if missing; return its URL."""
    name = f"{prefix}_{service}"
    admin = base.replace("postgresql+psycopg://", "postgresql://").rstrip("/") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{base.rstrip('/')}/{name}"


def drop_databases(base: str, prefix: str) -> None:
    """Drop every database named ``<prefix>_*`` on the server at ``base``."""
    admin = base.replace("postgresql+psycopg://", "postgresql://").rstrip("/") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{prefix}\\_%",)
            )
        ]
        for name in names:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@dataclass
class ServiceProcess:
    """One running service."""

    name: str
    port: int
    health_port: int
    metrics_port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    service: str = ""
    """The service it runs (``name`` without a replica suffix)."""
    http_port: int = 0
    """The gateway's HTTP port (0 for the other services)."""

    def __post_init__(self) -> None:
        self.service = self.service or self.name


@dataclass
class Platform:
    """The launcher: keys, databases, processes, endpoints."""

    var: Path
    postgres: str | None = None
    services: list[str] = field(default_factory=available_services)
    fixed_ports: bool = True
    db_prefix: str = "mynumber"
    extra_env: dict[str, str] = field(default_factory=dict)
    replicas: dict[str, int] = field(default_factory=dict)
    """Processes per service (default 1); the extra ones are named ``<service>-2`` and on."""
    procs: dict[str, ServiceProcess] = field(default_factory=dict)
    _env: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    endpoints: dict[str, str] = field(default_factory=dict)
    http_port: int = 0

    def database_url(self, service: str) -> str:
        """SQLite under var/data by default, or a database on the PostgreSQL server."""
        if self.postgres:
            return postgres_url(self.postgres, service, self.db_prefix)
        return f"sqlite:///{self.var / 'data' / service}.db"

    def start(self, *, timeout: float = 60.0) -> None:
        """Keys → migrations → processes → wait until every service is SERVING."""
        ensure_dev_keys(self.var)
        (self.var / "log").mkdir(parents=True, exist_ok=True)
        urls = {s: self.database_url(s) for s in self.services}
        for service in self.services:
            upgrade(witnesses.module_of(service), urls[service])
        counts = {s: max(1, self.replicas.get(s, 1)) for s in self.services}
        ports = {
            s: [
                pick_port(BASE_PORTS[s] if self.fixed_ports and k == 0 else None)
                for k in range(counts[s])
            ]
            for s in self.services
        }
        self.endpoints = {s: ",".join(f"127.0.0.1:{p}" for p in ports[s]) for s in self.services}
        self.http_port = pick_port(HTTP_PORT if self.fixed_ports else None)
        for service in self.services:
            for k, port in enumerate(ports[service]):
                name = service if k == 0 else f"{service}-{k + 1}"
                http_port = self.http_port if k == 0 else pick_port(None)
                health_port = pick_port(None)
                metrics_port = pick_port(None)
                self._env[name] = {
                    **os.environ,
                    "MYNUMBER_GRPC_PORT": str(port),
                    "MYNUMBER_HEALTH_PORT": str(health_port),
                    "MYNUMBER_METRICS_PORT": str(metrics_port),
                    "MYNUMBER_DATABASE_URL": urls[service],
                    "MYNUMBER_KEYRING_PATH": str(keyring_path(self.var, service)),
                    "MYNUMBER_TLS_DIR": str(tls_dir(self.var, service)),
                    "MYNUMBER_ENDPOINTS": json.dumps(self.endpoints),
                    "MYNUMBER_LOG_FORMAT": "json",
                    "MYNUMBER_HTTP_PORT": str(http_port),
                    "PYTHONPATH": os.pathsep.join(
                        [
                            str(REPO),
                            str(REPO / "src"),
                            str(REPO / "gen"),
                            os.environ.get("PYTHONPATH", ""),
                        ]
                    ),
                    **self._replica_env(service, counts[service]),
                    **self._witness_env(service),
                    **self.extra_env,
                }
                self._spawn(
                    name,
                    port,
                    health_port,
                    metrics_port,
                    service=service,
                    http_port=http_port if service == "gateway" else 0,
                )
        self._wait_serving(timeout)
        witnesses.write_trust_file(self.var, [s for s in self.services if s in DEV_WITNESSES])
        (self.var / "endpoints.json").write_text(json.dumps(self.endpoints, indent=2))

    def _replica_env(self, service: str, count: int) -> dict[str, str]:
        """Gateway replicas name one public origin in their login challenges (the first
        one's, standing for the Ingress), so a login may continue on any replica."""
        if service == "gateway" and count > 1:
            return {"MYNUMBER_PUBLIC_ORIGIN": f"http://127.0.0.1:{self.http_port}"}
        return {}

    def http_ports(self) -> list[int]:
        """The HTTP port of every running gateway replica (first: ``http_port``)."""
        return [p.http_port for p in self.procs.values() if p.service == "gateway"]

    def _spawn(
        self,
        name: str,
        port: int,
        health_port: int,
        metrics_port: int,
        *,
        service: str,
        http_port: int = 0,
    ) -> None:
        """Start (or start again) one process of ``service``, called ``name``, with its
        environment and ports."""
        log_path = self.var / "log" / f"{name}.log"
        log_file: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - the child owns it
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", f"services.{witnesses.module_of(service)}"],
            env=self._env[name],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        log_file.close()
        self.procs[name] = ServiceProcess(
            name, port, health_port, metrics_port, process, log_path, service, http_port
        )

    def restart(self, name: str) -> ServiceProcess:
        """Start a service process again on the same ports (after it died); does not wait for
        it."""
        old = self.procs[name]
        if old.process.poll() is None:
            old.process.kill()
            old.process.wait()
        self._spawn(
            name,
            old.port,
            old.health_port,
            old.metrics_port,
            service=old.service,
            http_port=old.http_port,
        )
        return self.procs[name]

    def _witness_env(self, service: str) -> dict[str, str]:
        """A witness's key name and log; the witnesses the registry asks and the portal
        publishes."""
        if service in DEV_WITNESSES:
            return witnesses.witness_env(self.var, service)
        if service in ("registry", "gateway"):  # asks them / publishes their keys
            return {
                "MYNUMBER_WITNESSES": json.dumps([w for w in self.services if w in DEV_WITNESSES])
            }
        return {}

    def _wait_serving(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            wait_until_serving(
                proc.name,
                proc.health_port,
                proc.process,
                proc.log_path,
                deadline=deadline,
                timeout=timeout,
                give_up=self.stop,
            )

    def stop(self, grace: float = 15.0) -> dict[str, int | None]:
        """SIGTERM every service (reverse order) and wait; returns their exit codes."""
        for proc in reversed(list(self.procs.values())):
            if proc.process.poll() is None:
                proc.process.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for proc in self.procs.values():
            try:
                codes[proc.name] = proc.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.process.kill()
                codes[proc.name] = proc.process.wait()
        self.procs.clear()
        return codes

    def kill(self, service: str) -> None:
        """SIGKILL one service (crash tests)."""
        proc = self.procs.pop(service)
        proc.process.kill()
        proc.process.wait()


class Supervisor:
    """Restarts services of a running :class:`Platform` that die, as Kubernetes would: it
    says so, waits (exponential backoff from ``initial`` to ``cap`` seconds, reset once a
    service has stayed up ``stable`` seconds) and starts the service again on the same ports,
    leaving the other services alone. Call :meth:`check` periodically."""

    def __init__(
        self,
        platform: Platform,
        say: Callable[[str], None] = print,
        *,
        initial: float = 1.0,
        cap: float = 30.0,
        stable: float = 60.0,
    ) -> None:
        self.platform = platform
        self._say = say
        self._initial, self._cap, self._stable = initial, cap, stable
        self._backoff: dict[str, float] = {}
        self._due: dict[str, float] = {}
        now = time.monotonic()
        self._up_since: dict[str, float] = dict.fromkeys(platform.procs, now)
        self.restarts: dict[str, int] = {}

    def check(self) -> None:
        """Notice dead services, and restart those whose backoff has passed."""
        now = time.monotonic()
        for name, proc in list(self.platform.procs.items()):
            code = proc.process.poll()
            if code is None:
                if now - self._up_since.get(name, now) >= self._stable:
                    self._backoff.pop(name, None)
                continue
            due = self._due.get(name)
            if due is None:
                delay = self._backoff.get(name, self._initial)
                self._backoff[name] = min(delay * 2, self._cap)
                self._due[name] = now + delay
                self._say(
                    f"{name} exited with {code}; restarting it in {delay:.1f} s "
                    f"(see {proc.log_path}); the other services keep running"
                )
            elif now >= due:
                del self._due[name]
                restarted = self.platform.restart(name)
                self._up_since[name] = now
                self.restarts[name] = self.restarts.get(name, 0) + 1
                self._say(f"{name} restarted (pid {restarted.process.pid})")


def wait_until_serving(
    name: str,
    health_port: int,
    process: subprocess.Popen[bytes],
    log_path: Path,
    *,
    deadline: float,
    timeout: float,
    give_up: Callable[[], object],
) -> None:
    """Poll a started service's gRPC health endpoint until it is SERVING. If the process
    exits first or ``deadline`` (``time.monotonic``) passes, ``give_up()`` (stop what was
    started) and raise RuntimeError with the end of its log or the ``timeout`` it had."""
    with grpc.insecure_channel(f"127.0.0.1:{health_port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                give_up()
                raise RuntimeError(f"{name} exited during start-up:\n{tail}")
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                give_up()
                raise RuntimeError(f"{name} did not become SERVING in {timeout} s")
            time.sleep(0.1)
