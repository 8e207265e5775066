"""Run the whole platform as processes, the way ``make run`` does (and the e2e tests do).

Each service is its own ``python -m services.<name>`` process with its own database, keyring
and certificate; the launcher migrates the databases first (as the Kubernetes Job does),
waits for every service's grpc.health.v1 status to be SERVING, and stops them with SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg import sql

from mynumber_core.migrations import upgrade
from mynumber_core.settings import SERVICE_NAMES
from mynumber_dev.keys import ensure_dev_keys, keyring_path, tls_dir

BASE_PORTS = {
    "registry": 50051,
    "municipality": 50052,
    "pension": 50053,
    "tax": 50054,
    "health": 50055,
    "gateway": 50056,
}
HTTP_PORT = 8080
REPO = Path(__file__).resolve().parents[2]


def available_services() -> list[str]:
    """Services present in this checkout, in start order (the registry first)."""
    return [s for s in SERVICE_NAMES if (REPO / "services" / s / "wiring.py").exists()]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_port(preferred: int | None) -> int:
    """``preferred`` when free, else any free port."""
    if preferred and _port_free(preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@dataclass
class Platform:
    """The launcher: keys, databases, processes, endpoints."""

    var: Path
    postgres: str | None = None
    services: list[str] = field(default_factory=available_services)
    fixed_ports: bool = True
    db_prefix: str = "mynumber"
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, ServiceProcess] = field(default_factory=dict)
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
            upgrade(service, urls[service])
        ports = {s: pick_port(BASE_PORTS[s] if self.fixed_ports else None) for s in self.services}
        self.endpoints = {s: f"127.0.0.1:{p}" for s, p in ports.items()}
        self.http_port = pick_port(HTTP_PORT if self.fixed_ports else None)
        for service in self.services:
            health_port = pick_port(None)
            metrics_port = pick_port(None)
            env = {
                **os.environ,
                "MYNUMBER_GRPC_PORT": str(ports[service]),
                "MYNUMBER_HEALTH_PORT": str(health_port),
                "MYNUMBER_METRICS_PORT": str(metrics_port),
                "MYNUMBER_DATABASE_URL": urls[service],
                "MYNUMBER_KEYRING_PATH": str(keyring_path(self.var, service)),
                "MYNUMBER_TLS_DIR": str(tls_dir(self.var, service)),
                "MYNUMBER_ENDPOINTS": json.dumps(self.endpoints),
                "MYNUMBER_LOG_FORMAT": "json",
                "MYNUMBER_HTTP_PORT": str(self.http_port),
                "PYTHONPATH": os.pathsep.join(
                    [
                        str(REPO),
                        str(REPO / "src"),
                        str(REPO / "gen"),
                        os.environ.get("PYTHONPATH", ""),
                    ]
                ),
                **self.extra_env,
            }
            log_path = self.var / "log" / f"{service}.log"
            log_file: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - the child owns it
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", f"services.{service}"],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
            log_file.close()
            self.procs[service] = ServiceProcess(
                service, ports[service], health_port, metrics_port, process, log_path
            )
        self._wait_serving(timeout)
        (self.var / "endpoints.json").write_text(json.dumps(self.endpoints, indent=2))

    def _wait_serving(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            with grpc.insecure_channel(f"127.0.0.1:{proc.health_port}") as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                while True:
                    if proc.process.poll() is not None:
                        tail = proc.log_path.read_text(errors="replace")[-2000:]
                        self.stop()
                        raise RuntimeError(f"{proc.name} exited during start-up:\n{tail}")
                    try:
                        status = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                        if status == health_pb2.HealthCheckResponse.SERVING:
                            break
                    except grpc.RpcError:
                        pass
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(f"{proc.name} did not become SERVING in {timeout} s")
                    time.sleep(0.1)

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
