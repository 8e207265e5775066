"""The exchange hub on both backends: Query (pension → registry → tax) at 1 and 64 in flight
on SQLite and on PostgreSQL, and at 64 in flight through two registry replicas on one
PostgreSQL database, each beside the bare two-hop mTLS echo chain measured in the same run.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from bench import driver
from bench.echo import echo_callable
from bench.table import Row
from mynumber_core.channels import Channels
from mynumber_core.structs import to_struct
from mynumber_core.tls import TlsMaterial
from mynumber_dev.demo import DemoResident
from mynumber_dev.keys import tls_dir
from mynumber_dev.platform import REPO, Platform, drop_databases, pick_port
from mynumber_dev.replicas import Replica, start_replica
from mynumber_dev.seed import seed_platform

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
_SEX = {"male": pb.SEX_MALE, "female": pb.SEX_FEMALE}
YEAR = 2025


class _Chain:
    """The bare two-hop echo chain (client → A → B) over the platform's mTLS material."""

    def __init__(self, var: Path) -> None:
        self.var = var
        self.procs: list[subprocess.Popen[bytes]] = []
        b = self._start(None)
        self.a = self._start(b)

    def _start(self, next_hop: str | None) -> str:
        port = pick_port(None)
        cmd = [sys.executable, "-m", "bench.echo", "--port", str(port)]
        cmd += ["--tls-dir", str(tls_dir(self.var, "tax"))]
        if next_hop:
            cmd += ["--next", next_hop]
        self.procs.append(subprocess.Popen(cmd, cwd=REPO))  # noqa: S603
        address = f"127.0.0.1:{port}"
        grpc.channel_ready_future(self.channel(address)).result(timeout=20)
        return address

    def channel(self, address: str) -> grpc.Channel:
        tls = TlsMaterial(tls_dir(self.var, "pension"))
        return grpc.secure_channel(
            address,
            tls.channel_credentials(),
            options=[("grpc.ssl_target_name_override", "tax")],
        )

    def call(self) -> Callable[[int], object]:
        echo = echo_callable(self.channel(self.a))
        return lambda i: echo(b"x" * 200, timeout=30)

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
            proc.wait(timeout=10)


def _facts(r: DemoResident) -> Any:
    return pb.BasicFacts(name=r.name, birth_date=r.birth_date, sex=_SEX[r.sex], address=r.address)


def _query_fn(channels: Channels, residents: list[DemoResident]) -> Callable[[int], object]:
    """Link every resident as pension, keep those tax has income for; one Query per call."""
    registry = pb_grpc.RegistryStub(channels.channel("registry"))
    hub = pb_grpc.HubStub(channels.channel("registry"))

    def request(token: str) -> Any:
        return pb.QueryRequest(
            token=token,
            provider="tax",
            item="income",
            procedure="pension.exemption",
            request_id=uuid.uuid4().hex,
            params=to_struct({"year": YEAR}),
        )

    tokens = []
    for r in residents:
        token = registry.Link(pb.LinkRequest(my_number=r.my_number, facts=_facts(r))).token
        try:
            hub.Query(request(token), timeout=10)
        except grpc.RpcError:
            continue
        tokens.append(token)
    if not tokens:
        raise RuntimeError("no seeded resident has tax income for the bench year")
    return lambda i: hub.Query(request(tokens[i % len(tokens)]), timeout=30)


def _rows(
    label: str,
    query: Callable[[int], object],
    chain: Callable[[int], object],
    plan: list[tuple[int, int]],
) -> list[Row]:
    rows = []
    for inflight, total in plan:
        project = driver.run(query, total=total, concurrency=inflight)
        base = driver.run(chain, total=total, concurrency=inflight)
        print(
            f"{label} @{inflight} in flight: errors={project.errors} {project.error_kinds} "
            f"p50={project.p50:.1f} ms p99={project.percentile(99):.1f} ms "
            f"{project.per_second:,.0f}/s | chain p50={base.p50:.1f} ms "
            f"{base.per_second:,.0f}/s",
            flush=True,
        )
        rows += [
            Row(
                f"Query, {inflight} in flight ({label})",
                project.per_second,
                base.per_second,
                "ops/s",
                "two-hop echo chain",
            ),
            Row(
                f"Query p50, {inflight} in flight ({label})",
                project.p50,
                base.p50,
                "ms",
                "two-hop echo chain",
            ),
        ]
    return rows


def rows(
    scale: float, residents: int = 200, backends: tuple[str, ...] = ("sqlite", "postgres")
) -> list[Row]:
    """Query rows per backend, and the two-replica row on PostgreSQL."""
    plan = [(1, max(100, int(400 * scale))), (64, max(500, int(3000 * scale)))]
    out: list[Row] = []
    for backend in backends:
        prefix = f"benchhub_{uuid.uuid4().hex[:8]}"
        with tempfile.TemporaryDirectory(prefix=f"mynumber-bench-hub-{backend}-") as tmp:
            var = Path(tmp)
            platform = Platform(
                var=var,
                postgres=PG_SERVER if backend == "postgres" else None,
                services=["registry", "tax", "pension"],
                fixed_ports=False,
                db_prefix=prefix,
            )
            second: Replica | None = None
            chain: _Chain | None = None
            try:
                print(f"hub bench on {backend}: starting registry and tax …", flush=True)
                platform.start()
                people = seed_platform(
                    var, platform.endpoints, platform.services, residents, progress=lambda _: None
                )
                chain = _Chain(var)
                channels = Channels(
                    TlsMaterial(tls_dir(var, "pension")), platform.endpoints, default_timeout=30
                )
                name = "SQLite" if backend == "sqlite" else "PostgreSQL"
                out += _rows(name, _query_fn(channels, people), chain.call(), plan)
                if backend == "postgres":
                    second = start_replica(platform, "registry-2")
                    both = f"{platform.endpoints['registry']},{second.address}"
                    channels = Channels(
                        TlsMaterial(tls_dir(var, "pension")),
                        {**platform.endpoints, "registry": both},
                        default_timeout=30,
                    )
                    out += _rows(
                        "PostgreSQL, 2 registry replicas",
                        _query_fn(channels, people),
                        chain.call(),
                        plan[1:],
                    )
            except Exception:
                for log in sorted((var / "log").glob("registry*.log")):
                    errors = [line for line in log.read_text().splitlines() if '"error"' in line]
                    print(f"{log.name}: {errors[-3:]}", flush=True)
                raise
            finally:
                if second is not None:
                    second.stop()
                if chain is not None:
                    chain.close()
                platform.stop()
                if backend == "postgres":
                    drop_databases(PG_SERVER, prefix)
    return out
