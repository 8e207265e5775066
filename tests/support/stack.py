"""Start real services in the test process on free ports, with dev keys in a temp folder.

    with Stack(tmp_path, ["registry", "tax"], database=backend) as stack:
        stub = RegistryStub(stack.channel("registry", as_identity="pension"))

Each service gets its own database (SQLite file or a fresh PostgreSQL database), its own
keyring and certificate, and the endpoints of the others. Nothing is mocked.
"""

from __future__ import annotations

import importlib
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc

from mynumber_core.channels import Channels
from mynumber_core.migrations import upgrade
from mynumber_core.server import RunningServer, start_server
from mynumber_core.settings import ServiceSettings
from mynumber_core.tls import TlsMaterial
from mynumber_dev.keys import ensure_dev_keys, keyring_path, tls_dir
from mynumber_dev.platform import pick_port

DatabaseFactory = Callable[[str], str]
"""Service name → database URL (see tests/conftest.py's ``backend`` fixture)."""


def sqlite_urls(root: Path) -> DatabaseFactory:
    """One SQLite file per service under ``root``."""
    return lambda service: f"sqlite:///{root / 'data' / service}.db"


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1, outside the ephemeral range and
    never handed out before in this process (:func:`mynumber_dev.platform.pick_port`)."""
    return pick_port(None)


def reserved_port() -> socket.socket:
    """A socket bound to a free port on 127.0.0.1 and held, for a server in this process to
    listen on (``uvicorn.Server.run(sockets=[...])``). Unlike :func:`free_port`, nothing else
    can take the port between the pick and the server's start: a CI run lost a module's
    portal when an outgoing connection's ephemeral port landed on a picked one."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


class Stack:
    """A set of services running in this process."""

    def __init__(
        self,
        var: Path,
        services: Iterable[str],
        *,
        database: DatabaseFactory | None = None,
        overrides: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.var = var
        self.services = list(services)
        self.database = database or sqlite_urls(var)
        self.overrides = overrides or {}
        self.servers: dict[str, RunningServer] = {}
        self.apps: dict[str, Any] = {}
        self.endpoints: dict[str, str] = {}
        self._channels: dict[str, Channels] = {}

    def settings_for(self, service: str) -> ServiceSettings:
        """The settings a service runs with inside this stack."""
        values: dict[str, Any] = {
            "service_name": service,
            "database_url": self.database(service),
            "keyring_path": keyring_path(self.var, service),
            "tls_dir": tls_dir(self.var, service),
            "endpoints": self.endpoints,
            "metrics_port": None,
        }
        values.update(self.overrides.get(service, {}))
        module = importlib.import_module(f"services.{service}.wiring")
        settings_cls = getattr(module, "SETTINGS_CLASS", ServiceSettings)
        settings: ServiceSettings = settings_cls(**values)
        return settings

    def start(self) -> Stack:
        """Generate keys, migrate every database, then start every service."""
        ensure_dev_keys(self.var)
        for service in self.services:
            upgrade(service, self.database(service))
        # Every service learns every peer's address at wiring time, so ports are chosen first.
        ports = {service: free_port() for service in self.services}
        self.endpoints.update({s: f"127.0.0.1:{p}" for s, p in ports.items()})
        for service in self.services:
            settings = self.settings_for(service)
            module = importlib.import_module(f"services.{service}.wiring")
            app = module.build_app(settings)
            self.servers[service] = start_server(
                app, TlsMaterial(settings.tls_dir), port=ports[service]
            )
            self.apps[service] = app
        return self

    def stop(self) -> None:
        """Stop every server and close client channels."""
        for channels in self._channels.values():
            channels.close()
        for srv in reversed(list(self.servers.values())):
            srv.stop(0)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def channels(self, identity: str) -> Channels:
        """Client channels presenting ``identity``'s certificate (a service or "operator")."""
        if identity not in self._channels:
            self._channels[identity] = Channels(
                TlsMaterial(tls_dir(self.var, identity)), self.endpoints
            )
        return self._channels[identity]

    def channel(self, service: str, *, as_identity: str) -> grpc.Channel:
        """A channel to ``service`` authenticated as ``as_identity``."""
        return self.channels(as_identity).channel(service)
