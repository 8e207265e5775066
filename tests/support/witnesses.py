"""Start real log witnesses (``services.witness``) in the test process, on free ports.

    with running_witnesses(var, backend, ["witness-1", "witness-2"], [log_vkey]) as ws:
        ws.endpoints  # {"witness-1": "127.0.0.1:port", ...}

Each witness has its own dev certificate, keyring and database, as in ``make run``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from mynumber_core.cosignature import Witness
from mynumber_core.db import Database
from mynumber_core.migrations import upgrade
from mynumber_core.server import RunningServer, start_server
from mynumber_core.tls import TlsMaterial
from mynumber_dev.keys import ensure_dev_keys, keyring_path, tls_dir
from mynumber_dev.witnesses import key_name, witness_vkey
from services.witness.models import RefusedCheckpoint
from services.witness.wiring import WitnessSettings, build_app

DatabaseFactory = Callable[[str], str]


@dataclass
class Witnesses:
    """Running witnesses: their addresses, trusted keys and use cases."""

    var: Path
    servers: dict[str, RunningServer] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)

    def trusted(self) -> list[Witness]:
        """The witnesses' cosigner keys, as a client pins them."""
        return [Witness.from_vkey(witness_vkey(self.var, name)) for name in self.servers]

    def vkeys(self) -> list[str]:
        """Their verifier keys."""
        return [witness_vkey(self.var, name) for name in self.servers]

    def refused(self, name: str) -> list[tuple[int, str]]:
        """(size, reason) of every checkpoint the witness refused as inconsistent."""
        db = Database.from_url(self.urls[name])
        try:
            with db.transaction() as session:
                rows = session.scalars(select(RefusedCheckpoint).order_by(RefusedCheckpoint.id))
                return [(row.size, row.reason) for row in rows]
        finally:
            db.dispose()


@contextmanager
def running_witnesses(
    var: Path, database: DatabaseFactory, names: Sequence[str], trusted_logs: Sequence[str]
) -> Iterator[Witnesses]:
    """Start ``names`` (e.g. ``witness-1``) following the logs with these verifier keys."""
    ensure_dev_keys(var)
    result = Witnesses(var)
    try:
        for name in names:
            url = result.urls[name] = database(name)
            upgrade("witness", url)
            settings = WitnessSettings(
                service_name="witness",
                database_url=url,
                keyring_path=keyring_path(var, name),
                tls_dir=tls_dir(var, name),
                metrics_port=None,
                witness_name=key_name(name),
                instance_name=name,
                trusted_logs=list(trusted_logs),
            )
            server = start_server(build_app(settings), TlsMaterial(settings.tls_dir))
            result.servers[name] = server
            result.endpoints[name] = f"127.0.0.1:{server.port}"
        yield result
    finally:
        for server in result.servers.values():
            server.stop(0)
