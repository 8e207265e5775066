"""The measured sections of ``make bench``; each returns table rows."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
import psycopg
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from bench import driver
from bench.echo import echo_callable
from bench.table import Row
from mynumber_core.channels import Channels
from mynumber_core.tls import TlsMaterial
from mynumber_dev.demo import DemoResident, generate_residents
from mynumber_dev.keys import tls_dir
from mynumber_dev.platform import REPO, Platform, drop_databases, pick_port
from mynumber_dev.seed import seed_platform
from services.registry.tokens import TokenVault

BULK_IN_FLIGHT = 2
"""BulkRegister calls the bench keeps in flight (the registry enrols them concurrently)."""
_SEX = {"male": pb.SEX_MALE, "female": pb.SEX_FEMALE}
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
GATEWAY_LIMITS = {
    "MYNUMBER_RATE_PER_IP": "1000000 per minute",
    "MYNUMBER_RATE_PER_SESSION": "1000000 per minute",
}
START_TIMEOUT = 300.0
"""Seconds every service may take to serve (a loaded shared machine takes minutes)."""


def _facts(r: DemoResident) -> Any:
    return pb.BasicFacts(name=r.name, birth_date=r.birth_date, sex=_SEX[r.sex], address=r.address)


def _ops_per_second(fn: Any, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - started)


def token_schemes(scale: float) -> list[Row]:
    """AES-SIV tokens (no lookup table) against the alternatives, in-process."""
    n = int(50_000 * scale)
    vault = TokenVault(os.urandom(32), os.urandom(32))
    people = [os.urandom(16) for _ in range(1000)]
    tokens = [vault.make("pension", 1, p) for p in people]
    siv_translate = _ops_per_second(
        lambda i: vault.make("tax", 1, vault.open("pension", tokens[i % 1000])[0]),  # type: ignore[index]
        n,
    )
    # Alternative: HMAC tokens; translation needs a token → person lookup table.
    key_p, key_t = os.urandom(32), os.urandom(32)
    table = {hmac.new(key_p, p, hashlib.sha256).hexdigest(): p for p in people}
    hmac_tokens = list(table)
    hmac_translate = _ops_per_second(
        lambda i: hmac.new(key_t, table[hmac_tokens[i % 1000]], hashlib.sha256).hexdigest(), n
    )
    # Alternative: random tokens; translation is two table lookups (and a table per domain).
    rand_p = {secrets.token_urlsafe(24): p for p in people}
    rand_t = {p: secrets.token_urlsafe(24) for p in people}
    rand_tokens = list(rand_p)
    random_translate = _ops_per_second(lambda i: rand_t[rand_p[rand_tokens[i % 1000]]], n)
    issue = _ops_per_second(lambda i: vault.make("tax", 1, people[i % 1000]), n)
    return [
        Row(
            "token translate, AES-SIV (no table)",
            siv_translate,
            hmac_translate,
            "ops/s",
            "HMAC token + in-memory lookup table",
        ),
        Row(
            "token translate, AES-SIV (no table)",
            siv_translate,
            random_translate,
            "ops/s",
            "random token + two in-memory tables",
        ),
        Row("token issue, AES-SIV", issue, hmac_translate, "ops/s", "HMAC token + lookup"),
    ]


class BenchPlatform:
    """The services as processes plus echo baselines, in a temporary var/ folder."""

    def __init__(self, var: Path, residents: int, *, postgres: str | None = None) -> None:
        """On SQLite under ``var``, or on fresh databases of the PostgreSQL server at
        ``postgres`` (dropped on exit)."""
        self.var = var
        self.count = residents
        self.postgres = postgres
        self.db_prefix = f"bench_{uuid.uuid4().hex[:8]}"
        # Every bench client comes from 127.0.0.1, and the portal section keeps each resident
        # busy in a closed loop: the gateway's front-door limits (per IP, per session; still
        # counted on every request) are raised so they measure the pages, not HTTP 429.
        self.platform = Platform(
            var=var,
            fixed_ports=False,
            extra_env=GATEWAY_LIMITS,
            postgres=postgres,
            db_prefix=self.db_prefix,
        )
        self.echo_procs: list[subprocess.Popen[bytes]] = []
        self.residents: list[DemoResident] = []

    def __enter__(self) -> BenchPlatform:
        print(f"starting {', '.join(self.platform.services)} …", flush=True)
        self.platform.start(timeout=START_TIMEOUT)
        print(f"seeding {self.count} residents …", flush=True)
        self.residents = seed_platform(
            self.var,
            self.platform.endpoints,
            self.platform.services,
            self.count,
            progress=lambda msg: print(msg, flush=True),
            portal_url=f"http://127.0.0.1:{self.platform.http_port}",
        )
        self.echo_b = self._echo(None)
        self.echo_a = self._echo(self.echo_b)
        return self

    def _echo(self, next_hop: str | None) -> str:
        port = pick_port(None)
        cmd = [
            sys.executable,
            "-m",
            "bench.echo",
            "--port",
            str(port),
            "--tls-dir",
            str(tls_dir(self.var, "tax")),
        ]
        if next_hop:
            cmd += ["--next", next_hop]
        self.echo_procs.append(subprocess.Popen(cmd, cwd=REPO))  # noqa: S603
        address = f"127.0.0.1:{port}"
        channel = self.channel_to(address, "tax")
        grpc.channel_ready_future(channel).result(timeout=20)
        return address

    def channel_to(self, address: str, server_name: str, identity: str = "pension") -> grpc.Channel:
        """A raw mTLS channel (no interceptors) to an address."""
        tls = TlsMaterial(tls_dir(self.var, identity))
        return grpc.secure_channel(
            address,
            tls.channel_credentials(),
            options=[("grpc.ssl_target_name_override", server_name)],
        )

    def channels(self, identity: str) -> Channels:
        """Platform channels as an identity."""
        return Channels(
            TlsMaterial(tls_dir(self.var, identity)), self.platform.endpoints, default_timeout=30
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for proc in self.echo_procs:
            proc.terminate()
            proc.wait(timeout=10)
        self.platform.stop()
        if self.postgres:
            drop_databases(self.postgres, self.db_prefix)


def registry_operations(bp: BenchPlatform, scale: float) -> list[Row]:
    """Token issuance (Link), bulk registration, against the bare echo."""
    echo = echo_callable(bp.channel_to(bp.echo_b, "tax"))
    payload = b"x" * 200
    n = max(200, int(2000 * scale))
    base = driver.run(lambda i: echo(payload, timeout=10), total=n, concurrency=8)

    people = bp.residents
    registry = pb_grpc.RegistryStub(bp.channels("health").channel("registry"))
    link = driver.run(
        lambda i: registry.Link(
            pb.LinkRequest(
                my_number=people[i % len(people)].my_number, facts=_facts(people[i % len(people)])
            ),
            timeout=10,
        ),
        total=n,
        concurrency=8,
    )

    municipality = pb_grpc.RegistryStub(bp.channels("municipality").channel("registry"))
    batch = 500
    fresh = generate_residents(batch * max(1, int(4 * scale)), seed=int(time.time()))
    batches = [fresh[i : i + batch] for i in range(0, len(fresh), batch)]
    started = time.perf_counter()
    for chunk in batches:
        municipality.BulkRegister(
            pb.BulkRegisterRequest(
                residents=[
                    pb.RegisterResidentRequest(facts=_facts(r), idempotency_key=uuid.uuid4().hex)
                    for r in chunk
                ]
            ),
            timeout=300,
        )
    bulk_rate = len(fresh) / (time.perf_counter() - started)
    bulk_payload = b"x" * 120 * batch
    bulk_echo = driver.run(lambda i: echo(bulk_payload, timeout=30), total=40, concurrency=1)
    return [
        Row(
            "Link → token issued (gRPC, 8 in flight)",
            link.per_second,
            base.per_second,
            "ops/s",
            "bare mTLS echo",
        ),
        Row(
            "BulkRegister residents (500/call)",
            bulk_rate,
            bulk_echo.per_second * batch,
            "residents/s",
            "echo of the same payload size",
        ),
    ]


def exchange(bp: BenchPlatform, scale: float) -> list[Row]:
    """Cross-agency Query (pension → registry → tax) against the bare two-hop echo chain."""
    if "tax" not in bp.platform.procs:
        print("exchange section skipped: the tax service is not in this checkout", flush=True)
        return []
    registry = pb_grpc.RegistryStub(bp.channels("pension").channel("registry"))
    hub = pb_grpc.HubStub(bp.channels("pension").channel("registry"))
    year = 2025
    tokens = []
    for r in bp.residents:
        token = registry.Link(pb.LinkRequest(my_number=r.my_number, facts=_facts(r))).token
        try:  # keep residents the tax office has income on record for
            hub.Query(
                pb.QueryRequest(
                    token=token,
                    provider="tax",
                    item="income",
                    procedure="pension.exemption",
                    request_id=uuid.uuid4().hex,
                    params=_params(year),
                ),
                timeout=10,
            )
        except grpc.RpcError:
            continue
        tokens.append(token)
    if not tokens:
        raise RuntimeError("no seeded resident has tax income for the bench year")

    def query(i: int) -> None:
        hub.Query(
            pb.QueryRequest(
                token=tokens[i % len(tokens)],
                provider="tax",
                item="income",
                procedure="pension.exemption",
                request_id=uuid.uuid4().hex,
                params=_params(year),
            ),
            timeout=30,
        )

    chain = echo_callable(bp.channel_to(bp.echo_a, "tax"))
    rows = []
    for inflight, total in ((1, max(100, int(400 * scale))), (64, max(500, int(3000 * scale)))):
        project = driver.run(query, total=total, concurrency=inflight)
        base = driver.run(
            lambda i: chain(b"x" * 200, timeout=30), total=total, concurrency=inflight
        )
        print(
            f"exchange @{inflight} in flight: errors={project.errors} "
            f"p50={project.p50:.1f} ms p99={project.percentile(99):.1f} ms | chain p50="
            f"{base.p50:.1f} ms p99={base.percentile(99):.1f} ms",
            flush=True,
        )
        rows += [
            Row(
                f"exchange Query, {inflight} in flight",
                project.per_second,
                base.per_second,
                "ops/s",
                "two-hop echo chain",
            ),
            Row(
                f"exchange p50 latency, {inflight} in flight",
                project.p50,
                base.p50,
                "ms",
                "two-hop echo chain",
            ),
            Row(
                f"exchange p99 latency, {inflight} in flight",
                project.percentile(99),
                base.percentile(99),
                "ms",
                "two-hop echo chain",
            ),
        ]
    return rows


def _params(year: int) -> Any:
    from mynumber_core.structs import to_struct

    return to_struct({"year": year})


def _progress(done: int, batch: int, started: float) -> None:
    if done % (batch * 10) == 0:
        print(f"  enrolled {done:,} ({done / (time.perf_counter() - started):,.0f}/s)", flush=True)


def bulk_enrolment(
    var: Path, total: int, batch: int = 10_000, in_flight: int = BULK_IN_FLIGHT
) -> list[Row]:
    """Residents enrolled per second via BulkRegister on PostgreSQL (COPY path), ``in_flight``
    calls at once, beside a plain COPY of rows of the same width into a table with the same
    unique index."""
    prefix = f"bench_{uuid.uuid4().hex[:8]}"
    platform = Platform(
        var=var,
        postgres=PG_SERVER,
        services=["registry"],
        fixed_ports=False,
        db_prefix=prefix,
    )
    platform.start()
    try:
        pool = generate_residents(2000, seed=7)
        stub = pb_grpc.RegistryStub(
            Channels(
                TlsMaterial(tls_dir(var, "municipality")), platform.endpoints, default_timeout=600
            ).channel("registry")
        )

        def request(start: int) -> Any:
            size = min(batch, total - start)
            return pb.BulkRegisterRequest(
                residents=[
                    pb.RegisterResidentRequest(
                        facts=pb.BasicFacts(
                            name=pool[(start + i) % len(pool)].name,
                            birth_date=pool[(start + i) % len(pool)].birth_date,
                            sex=_SEX[pool[(start + i) % len(pool)].sex],
                            address=f"{pool[(start + i) % len(pool)].address}-{start + i}",
                        )
                    )
                    for i in range(size)
                ]
            )

        def send(message: Any) -> int:
            response = stub.BulkRegister(message, timeout=600)
            assert len(response.residents) == len(message.residents)
            return len(message.residents)

        started = time.perf_counter()
        done = 0
        # ``in_flight`` calls at once, as an agency's loader keeps its link busy: the next
        # batch is built and sent while the registry enrols the one before.
        with ThreadPoolExecutor(in_flight) as calls:
            waiting: deque[Future[int]] = deque()
            for start in range(0, total, batch):
                if len(waiting) == in_flight:
                    done += waiting.popleft().result()
                    _progress(done, batch, started)
                waiting.append(calls.submit(send, request(start)))
            while waiting:
                done += waiting.popleft().result()
                _progress(done, batch, started)
        project = total / (time.perf_counter() - started)
        url = platform.database_url("registry").replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE copy_baseline (person_key bytea, number text, number_index text "
                "UNIQUE, facts text)"
            )
            sample_number = "x" * 63
            sample_facts = "y" * 230
            started = time.perf_counter()
            with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY copy_baseline (person_key, number, number_index, facts) FROM STDIN"
                ) as copy,
            ):
                for i in range(total):
                    copy.write_row((os.urandom(16), sample_number, f"k{i:012d}", sample_facts))
            baseline = total / (time.perf_counter() - started)
    finally:
        platform.stop()
        drop_databases(PG_SERVER, prefix)
    return [
        Row(
            f"bulk enrolment, {total:,} residents on PostgreSQL",
            project,
            baseline,
            "residents/s",
            "plain COPY of same-width rows, no crypto",
        ),
    ]
