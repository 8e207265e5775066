"""Scale-out end to end: two registry replicas on one PostgreSQL database behind client-side
round-robin.

Both replicas are ``python -m services.registry`` processes with the same database, keyring
and certificate; clients dial ``"host1:port1,host2:port2"`` through
:class:`mynumber_core.channels.Channels` (``ipv4:`` target, ``round_robin`` policy). The test
shows that both serve calls, that tokens do not depend on the replica, and that queries
through both leave one exchange log: unique, increasing indexes and checkpoints that agree
and prove consistency across replicas.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_core.channels import Channels
from mynumber_core.logverifier import TrustedLog, verify_append, verify_checkpoint
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
_SEX = {"male": pb.SEX_MALE, "female": pb.SEX_FEMALE}


class TwoReplicas:
    """The platform (registry + tax) plus a second registry replica."""

    def __init__(self, platform: Platform, second: Replica, residents: list[DemoResident]):
        self.platform = platform
        first = platform.procs["registry"]
        self.replicas = [Replica(platform.endpoints["registry"], first.log_path), second]
        self.residents = residents

    def channels(self, identity: str, registry: str | None = None) -> Channels:
        """Channels as ``identity``; the registry is both replicas unless one is named."""
        both = ",".join(r.address for r in self.replicas)
        endpoints = {**self.platform.endpoints, "registry": registry or both}
        return Channels(TlsMaterial(tls_dir(self.platform.var, identity)), endpoints)


@pytest.fixture(scope="module")
def two_replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoReplicas]:
    """Registry ×2 and tax as processes on PostgreSQL, seeded with a few residents."""
    if not postgres_available():
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is not reachable; .ci/run starts it")
    var = tmp_path_factory.mktemp("scale-out")
    prefix = f"scale_{uuid.uuid4().hex[:8]}"
    platform = Platform(
        var=var,
        postgres=PG_SERVER,
        services=["registry", "tax", "pension"],
        fixed_ports=False,
        db_prefix=prefix,
    )
    second: Replica | None = None
    try:
        platform.start()
        residents = seed_platform(
            var, platform.endpoints, platform.services, 8, progress=lambda _: None
        )
        second = start_replica(platform, "registry-2")
        yield TwoReplicas(platform, second, residents)
    finally:
        if second is not None:
            second.stop()
        platform.stop()
        drop_databases(PG_SERVER, prefix)


def _facts(r: DemoResident) -> Any:
    return pb.BasicFacts(name=r.name, birth_date=r.birth_date, sex=_SEX[r.sex], address=r.address)


def _calls(log_path: Path, method: str) -> int:
    count = 0
    for raw in log_path.read_bytes().splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("event") == "rpc" and line.get("method") == method:
            count += 1
    return count


def _checkpoint(channels: Channels) -> tuple[TrustedLog, str]:
    response = pb_grpc.ExchangeLogStub(channels.channel("registry")).GetCheckpoint(
        pb.GetCheckpointRequest(), timeout=10
    )
    key = Ed25519PublicKey.from_public_bytes(response.public_key)
    return TrustedLog(response.key_name, response.key_name, key), response.checkpoint


@pytest.mark.postgres
def test_round_robin_reaches_both_replicas_and_tokens_do_not_depend_on_the_replica(
    two_replicas: TwoReplicas,
) -> None:
    tr = two_replicas
    before = [_calls(r.log_path, "Link") for r in tr.replicas]
    balanced = pb_grpc.RegistryStub(tr.channels("pension").channel("registry"))
    direct = [
        pb_grpc.RegistryStub(tr.channels("pension", r.address).channel("registry"))
        for r in tr.replicas
    ]
    for r in tr.residents:
        request = pb.LinkRequest(my_number=r.my_number, facts=_facts(r))
        tokens = {balanced.Link(request, timeout=10).token for _ in range(2)}
        tokens |= {stub.Link(request, timeout=10).token for stub in direct}
        assert len(tokens) == 1, "the same person has one pension token on every replica"
    time.sleep(0.2)  # the log lines are written as each call ends
    after = [_calls(r.log_path, "Link") for r in tr.replicas]
    served = [a - b for a, b in zip(after, before, strict=True)]
    # Each replica got its direct calls plus a share of the balanced ones.
    n = len(tr.residents)
    assert all(s > n for s in served), served
    assert sum(served) == 4 * n


@pytest.mark.postgres
def test_queries_through_both_replicas_leave_one_consistent_log(
    two_replicas: TwoReplicas,
) -> None:
    tr = two_replicas
    per_replica = [tr.channels("pension", r.address) for r in tr.replicas]
    registry = pb_grpc.RegistryStub(per_replica[0].channel("registry"))
    tokens = [
        registry.Link(pb.LinkRequest(my_number=r.my_number, facts=_facts(r)), timeout=10).token
        for r in tr.residents
    ]
    trusted, first_note = _checkpoint(per_replica[0])
    first = verify_checkpoint(trusted, first_note)

    # Two writers per replica at once, each remembering the indexes it was given.
    indexes: dict[str, list[int]] = {}
    failures: list[str] = []

    def writer(name: str, channels: Channels, rounds: int) -> None:
        hub = pb_grpc.HubStub(channels.channel("registry"))
        mine: list[int] = []
        for i in range(rounds):
            token = tokens[i % len(tokens)]
            # A permitted query (provided, or failed when tax has no income on record) and a
            # refused one: both are recorded in the log.
            procedure = "pension.exemption" if i % 3 else "tax.refund"
            try:
                response = hub.Query(
                    pb.QueryRequest(
                        token=token,
                        provider="tax",
                        item="income",
                        procedure=procedure,
                        request_id=uuid.uuid4().hex,
                        params=to_struct({"year": 2025}),
                    ),
                    timeout=15,
                )
                mine.append(response.log_index)
            except grpc.RpcError as exc:
                if exc.code() not in (
                    grpc.StatusCode.PERMISSION_DENIED,
                    grpc.StatusCode.NOT_FOUND,
                    grpc.StatusCode.FAILED_PRECONDITION,
                ):
                    failures.append(f"{name}: {exc.code().name} {exc.details()}")
        indexes[name] = mine

    rounds = 24
    threads = [
        threading.Thread(target=writer, args=(f"r{k}-w{w}", per_replica[k], rounds))
        for k in (0, 1)
        for w in (0, 1)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    assert len(indexes) == 4
    every = [i for mine in indexes.values() for i in mine]
    assert len(every) > 4 * rounds // 2, "most queries were provided and returned an index"
    assert len(every) == len(set(every)), "no index was handed out twice"
    for name, mine in indexes.items():
        assert mine == sorted(mine) and len(set(mine)) == len(mine), name  # strictly increasing
    assert min(every) >= first.size

    # Checkpoints are signed off the exchange path (at most every 200 ms, by either replica)
    # and stored once per size: wait until the newest covers every entry written above.
    deadline = time.monotonic() + 10
    while verify_checkpoint(trusted, _checkpoint(per_replica[0])[1]).size <= max(every):
        assert time.monotonic() < deadline, "no checkpoint covered the new entries in 10 s"
        time.sleep(0.05)
    time.sleep(0.5)  # and let the last entries' checkpoint (if any) land
    # Both replicas now serve the same checkpoint: same size, same root, one key.
    notes = [_checkpoint(c) for c in per_replica]
    assert notes[0][1] == notes[1][1]
    checkpoints = [verify_checkpoint(trusted, note) for _, note in notes]
    assert checkpoints[0].size == checkpoints[1].size
    assert checkpoints[0].root_hash == checkpoints[1].root_hash
    assert checkpoints[0].size >= first.size + 4 * rounds  # denied queries are logged too
    assert checkpoints[0].size > max(every)

    # A consistency proof from either replica links the first checkpoint (from replica 1)
    # to the latest one (from replica 2).
    for channels in per_replica:
        proof = (
            pb_grpc.ExchangeLogStub(channels.channel("registry"))
            .GetConsistencyProof(
                pb.GetConsistencyProofRequest(
                    first_size=first.size, second_size=checkpoints[1].size
                ),
                timeout=10,
            )
            .proof
        )
        verify_append(first, checkpoints[1], list(proof))


def test_an_address_list_must_be_ip_literals(tmp_path: Path) -> None:
    channels = Channels(
        TlsMaterial(tmp_path),
        {
            "registry": "127.0.0.1:50051, 127.0.0.1:50061",
            "tax": "[::1]:50054,[::1]:50064",
            "health": "registry-0.registry:50051,registry-1.registry:50051",
            "pension": "registry.mynumber.svc:50051",
        },
    )
    assert channels.target("registry") == "ipv4:127.0.0.1:50051,127.0.0.1:50061"
    assert channels.target("tax") == "ipv6:[::1]:50054,[::1]:50064"
    assert channels.target("pension") == "registry.mynumber.svc:50051"  # DNS: all its records
    with pytest.raises(RuntimeError, match="IP:port"):
        channels.target("health")
