"""Group commit keeps every promise: SIGKILL the registry with 32 exchanges in flight.

The registry, tax (the provider) and pension (the requester, whose HPKE key answers are
sealed to) run as processes. 32 client threads keep one Query each in flight; while they do,
the test takes the registry's signed checkpoint, then SIGKILLs the registry. Afterwards, read
straight from the registry's database:

- every exchange that was acknowledged (returned a log index) is in the log, at that index,
  with its request id and outcome;
- the indices are 0..n-1 with no gap and no duplicate, and ``log_head`` says n;
- the stored leaves hash to the newest stored signed checkpoint, and that checkpoint is
  consistent (RFC 9162) with the one taken before the crash;
- a restarted registry signs a checkpoint over every surviving entry, consistent with the
  pre-crash one, and appends the next exchange at index n.

On SQLite with one registry, and on PostgreSQL with two registry replicas appending at once
(16 clients on each) that are both killed.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from mynumber_core.channels import Channels
from mynumber_core.checkpoint import Checkpoint
from mynumber_core.logverifier import TrustedLog, verify_append, verify_checkpoint
from mynumber_core.merkle import consistency_proof, leaf_hash, root_hash
from mynumber_core.structs import to_struct
from mynumber_core.tls import TlsMaterial
from mynumber_dev.demo import DemoResident
from mynumber_dev.keys import tls_dir
from mynumber_dev.platform import Platform, drop_databases
from mynumber_dev.replicas import Replica, start_replica
from mynumber_dev.seed import seed_platform
from tests.support.databases import postgres_available

pytestmark = pytest.mark.e2e
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
IN_FLIGHT = 32
_SEX = {"male": pb.SEX_MALE, "female": pb.SEX_FEMALE}


def _facts(r: DemoResident) -> Any:
    return pb.BasicFacts(name=r.name, birth_date=r.birth_date, sex=_SEX[r.sex], address=r.address)


def _channels(platform: Platform, registry: str) -> Channels:
    endpoints = {**platform.endpoints, "registry": registry}
    return Channels(TlsMaterial(tls_dir(platform.var, "pension")), endpoints, default_timeout=15)


def _query(hub: Any, token: str, request_id: str) -> int:
    response = hub.Query(
        pb.QueryRequest(
            token=token,
            provider="tax",
            item="income",
            procedure="pension.exemption",
            request_id=request_id,
            params=to_struct({"year": 2025}),
        ),
        timeout=15,
    )
    return int(response.log_index)


def _tokens_with_income(channels: Channels, residents: list[DemoResident]) -> list[str]:
    registry = pb_grpc.RegistryStub(channels.channel("registry"))
    hub = pb_grpc.HubStub(channels.channel("registry"))
    tokens = []
    for r in residents:
        token = registry.Link(pb.LinkRequest(my_number=r.my_number, facts=_facts(r))).token
        try:
            _query(hub, token, uuid.uuid4().hex)
        except grpc.RpcError:
            continue
        tokens.append(token)
    assert tokens, "no seeded resident has tax income for 2025"
    return tokens


def _checkpoint(channels: Channels) -> tuple[TrustedLog, Checkpoint]:
    response = pb_grpc.ExchangeLogStub(channels.channel("registry")).GetCheckpoint(
        pb.GetCheckpointRequest(), timeout=10
    )
    key = Ed25519PublicKey.from_public_bytes(response.public_key)
    trusted = TrustedLog(response.key_name, response.key_name, key)
    return trusted, verify_checkpoint(trusted, response.checkpoint)


@dataclass
class Load:
    """32 clients, each keeping one Query in flight, remembering what was acknowledged."""

    hubs: list[Any]
    tokens: list[str]
    acked: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for k in range(IN_FLIGHT):
            hub = self.hubs[k % len(self.hubs)]
            thread = threading.Thread(target=self._client, args=(hub, k), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _client(self, hub: Any, k: int) -> None:
        i = 0
        while not self.stop.is_set():
            request_id = f"crash-{k}-{i}-{uuid.uuid4().hex[:8]}"
            i += 1
            with self.lock:
                self.in_flight += 1
            try:
                index = _query(hub, self.tokens[(k + i) % len(self.tokens)], request_id)
            except grpc.RpcError:
                continue
            finally:
                with self.lock:
                    self.in_flight -= 1
            with self.lock:
                self.acked[request_id] = index

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < count:
            assert time.monotonic() < deadline, f"only {len(self.acked)} exchanges in {timeout} s"
            time.sleep(0.05)

    def finish(self) -> dict[str, int]:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)
        with self.lock:
            return dict(self.acked)


def _crash_and_check(
    platform: Platform,
    addresses: list[str],
    residents: list[DemoResident],
    kill: Any,
) -> None:
    tokens = _tokens_with_income(_channels(platform, ",".join(addresses)), residents)
    hubs = [pb_grpc.HubStub(_channels(platform, a).channel("registry")) for a in addresses]
    load = Load(hubs, tokens)
    load.start()
    load.wait_for(100)
    trusted, before = _checkpoint(_channels(platform, addresses[0]))
    load.wait_for(len(load.acked) + 100)
    with load.lock:
        in_flight_at_kill = load.in_flight
    kill()
    acked = load.finish()
    assert in_flight_at_kill >= IN_FLIGHT - 4, in_flight_at_kill  # (a few were between calls)

    engine = create_engine(platform.database_url("registry"), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    'SELECT "index", request_id, outcome, leaf, leaf_hash FROM log_entries '
                    'ORDER BY "index"'
                )
            ).all()
            head = conn.execute(text("SELECT size FROM log_head WHERE id = 1")).scalar_one()
            latest_note = conn.execute(
                text("SELECT note FROM log_checkpoints ORDER BY size DESC LIMIT 1")
            ).scalar_one()
    finally:
        engine.dispose()
    n = len(rows)
    assert [r[0] for r in rows] == list(range(n)), "indices are dense and unique"
    assert head == n
    by_index = {r[0]: r for r in rows}
    for request_id, index in acked.items():
        assert by_index[index][1] == request_id, "an acknowledged exchange is at its index"
        assert by_index[index][2] == "provided"
    provided = [r[1] for r in rows if r[2] == "provided"]
    assert len(provided) == len(set(provided)), "no exchange was recorded twice"
    hashes = [bytes(r[4]) for r in rows]
    assert all(leaf_hash(bytes(r[3])) == bytes(r[4]) for r in rows)
    latest = verify_checkpoint(trusted, latest_note)
    assert before.size <= latest.size <= n
    assert root_hash(hashes[: latest.size]) == latest.root_hash
    verify_append(before, latest, consistency_proof(hashes[: latest.size], before.size))

    # A restarted registry signs over every surviving entry and carries on at index n.
    restarted = start_replica(platform, "registry-restarted")
    try:
        channels = _channels(platform, restarted.address)
        deadline = time.monotonic() + 10
        _, after = _checkpoint(channels)
        while after.size < n:
            assert time.monotonic() < deadline, "no checkpoint covered the surviving entries"
            time.sleep(0.1)
            _, after = _checkpoint(channels)
        assert after.size == n
        proof = (
            pb_grpc.ExchangeLogStub(channels.channel("registry"))
            .GetConsistencyProof(
                pb.GetConsistencyProofRequest(first_size=before.size, second_size=after.size),
                timeout=10,
            )
            .proof
        )
        verify_append(before, after, list(proof))
        assert after.root_hash == root_hash(hashes)
        hub = pb_grpc.HubStub(channels.channel("registry"))
        assert _query(hub, tokens[0], uuid.uuid4().hex) == n
    finally:
        restarted.stop()


@pytest.fixture
def sqlite_platform(tmp_path: Path) -> Iterator[tuple[Platform, list[DemoResident]]]:
    platform = Platform(var=tmp_path, services=["registry", "tax", "pension"], fixed_ports=False)
    platform.start()
    try:
        residents = seed_platform(
            tmp_path, platform.endpoints, platform.services, 12, progress=lambda _: None
        )
        yield platform, residents
    finally:
        platform.stop()


def test_sigkill_with_32_in_flight_loses_no_acknowledged_exchange_sqlite(
    sqlite_platform: tuple[Platform, list[DemoResident]],
) -> None:
    platform, residents = sqlite_platform
    _crash_and_check(
        platform,
        [platform.endpoints["registry"]],
        residents,
        lambda: platform.kill("registry"),
    )


@pytest.mark.postgres
def test_sigkill_two_replicas_appending_at_once_loses_nothing_postgres(tmp_path: Path) -> None:
    if not postgres_available():
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is not reachable; .ci/run starts it")
    prefix = f"crash_{uuid.uuid4().hex[:8]}"
    platform = Platform(
        var=tmp_path,
        postgres=PG_SERVER,
        services=["registry", "tax", "pension"],
        fixed_ports=False,
        db_prefix=prefix,
    )
    second: Replica | None = None
    try:
        platform.start()
        residents = seed_platform(
            tmp_path, platform.endpoints, platform.services, 12, progress=lambda _: None
        )
        second = start_replica(platform, "registry-2")
        replica = second

        def kill_both() -> None:
            assert replica.process is not None
            replica.process.kill()
            platform.kill("registry")
            replica.process.wait()

        _crash_and_check(
            platform, [platform.endpoints["registry"], second.address], residents, kill_both
        )
    finally:
        if second is not None:
            second.stop()
        platform.stop()
        drop_databases(PG_SERVER, prefix)
