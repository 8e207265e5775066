"""Witnessing: the registry sends each new checkpoint to two real witnesses and serves the
cosignatures with it; a split view is caught; the auditor's monitor (``mynumber log monitor``)
replays the served log and catches entries edited or deleted in the database.

The registry runs as a real gRPC server (background checkpointer on) with two witness servers,
each with its own key and database. Entries are appended by a second log store over the same
database (as another replica would), and the registry's checkpointer signs and gets them
witnessed. A client pinning the witness keys requires both cosignatures.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc
from mynumber.witness.v1 import witness_pb2, witness_pb2_grpc
from sqlalchemy import delete, select

from mynumber_cli.__main__ import cli
from mynumber_core.checkpoint import Checkpoint, sign_checkpoint
from mynumber_core.cosignature import QuorumError, require_quorum
from mynumber_core.db import Database
from mynumber_core.keyring import Keyring
from mynumber_core.logverifier import TrustedLog, verify_checkpoint, verify_update
from mynumber_core.merkle import InMemoryMerkleTree
from mynumber_dev.keys import ensure_dev_keys, keyring_path
from mynumber_dev.witnesses import log_vkey, write_trust_file
from services.registry.exchange_log import CHECKPOINT_ORIGIN, ExchangeLogStore, NewEntry
from services.registry.models import LogEntry
from tests.support.stack import Stack
from tests.support.witnesses import Witnesses, running_witnesses

NAMES = ["witness-1", "witness-2"]


@dataclass
class Env:
    stack: Stack
    witnesses: Witnesses
    writer: ExchangeLogStore
    writer_db: Database
    key: Ed25519PrivateKey

    def log_stub(self) -> Any:
        return registry_pb2_grpc.ExchangeLogStub(
            self.stack.channel("registry", as_identity="gateway")
        )

    def note_of_size(self, size: int, timeout: float = 10.0) -> str:
        """The served checkpoint once it covers ``size`` entries."""
        deadline = time.monotonic() + timeout
        while True:
            note = str(self.log_stub().GetCheckpoint(pb.GetCheckpointRequest()).checkpoint)
            if int(note.split("\n")[1]) >= size or time.monotonic() > deadline:
                return note
            time.sleep(0.05)


def _entry(n: int) -> NewEntry:
    return NewEntry(
        requester="pension",
        provider="tax",
        item="income",
        procedure="pension.exemption",
        outcome="answered",
        reason="",
        request_id=f"req-{n}",
        citizen_tag=f"tag-{n % 3}",
        fingerprint="",
    )


@pytest.fixture
def env(tmp_path: Path, backend: Any) -> Iterator[Env]:
    ensure_dev_keys(tmp_path)
    with running_witnesses(tmp_path, backend, NAMES, [log_vkey(tmp_path)]) as witnesses:
        stack = Stack(
            tmp_path,
            ["registry"],
            database=backend,
            overrides={"registry": {"witnesses": NAMES, "checkpoint_interval_ms": 50}},
        )
        stack.endpoints.update(witnesses.endpoints)
        with stack:
            seed = Keyring.load(keyring_path(tmp_path, "registry")).keyset("log-signing")
            key = Ed25519PrivateKey.from_private_bytes(seed.active_key)
            db = Database.from_url(backend("registry"))
            writer = ExchangeLogStore(db, key)
            try:
                yield Env(stack, witnesses, writer, db, key)
            finally:
                db.dispose()


def test_every_served_checkpoint_carries_both_cosignatures(env: Env) -> None:
    trusted = TrustedLog.from_verifier_key(log_vkey(env.stack.var))
    for n in range(5):
        env.writer.record_one(_entry(n))
    first_note = env.note_of_size(5)
    first = verify_checkpoint(trusted, first_note)
    assert first.size == 5
    cosigs = require_quorum(first_note, env.witnesses.trusted(), 2)
    assert sorted(c.witness for c in cosigs) == [
        "witness-1.mynumber.local",
        "witness-2.mynumber.local",
    ]
    for n in range(5, 12):
        env.writer.record_one(_entry(n))
    second_note = env.note_of_size(12)
    proof = (
        env.log_stub()
        .GetConsistencyProof(pb.GetConsistencyProofRequest(first_size=5, second_size=12))
        .proof
    )
    assert verify_update(trusted, first, second_note, list(proof)).size == 12
    require_quorum(second_note, env.witnesses.trusted(), 2)  # witnessed from size 5 on
    for name in NAMES:
        assert env.witnesses.refused(name) == []


def test_a_split_view_is_refused_by_the_witnesses_and_rejected_by_the_client(env: Env) -> None:
    for n in range(6):
        env.writer.record_one(_entry(n))
    honest = env.note_of_size(6)
    assert int(honest.split("\n")[1]) == 6
    # The registry (its real key) shows resident A another tree of the same size.
    other = InMemoryMerkleTree()
    for n in range(6):
        other.append(f"a different history {n}".encode())
    forked = sign_checkpoint(
        Checkpoint(CHECKPOINT_ORIGIN, 6, other.root()), CHECKPOINT_ORIGIN, env.key
    )
    trusted = TrustedLog.from_verifier_key(log_vkey(env.stack.var))
    assert verify_checkpoint(trusted, forked).size == 6  # validly signed by the log...
    with pytest.raises(QuorumError, match="0 of the 2 trusted witnesses"):
        require_quorum(forked, env.witnesses.trusted(), 2)  # ...but no witness saw it
    # Asking the witnesses to cosign it fails: they saw another tree of size 6.
    for name in NAMES:
        stub = witness_pb2_grpc.WitnessStub(env.stack.channel(name, as_identity="registry"))
        with pytest.raises(grpc.RpcError) as caught:
            stub.AddCheckpoint(witness_pb2.AddCheckpointRequest(old_size=6, checkpoint=forked))
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "two different trees of size 6" in str(caught.value.details())
        [(size, _)] = env.witnesses.refused(name)
        assert size == 6


def test_the_monitor_replays_the_served_log_and_catches_database_edits(env: Env) -> None:
    var = env.stack.var
    (var / "endpoints.json").write_text(json.dumps(env.stack.endpoints))
    write_trust_file(var, NAMES)
    for n in range(40):
        env.writer.record_one(_entry(n))
    env.note_of_size(40)

    def monitor(*args: str) -> Any:
        return CliRunner().invoke(cli, ["--var", str(var), "log", "monitor", *args])

    first = monitor()
    assert first.exit_code == 0, first.output
    assert "log OK: 40 entries (40 checked from entry 0)" in first.output
    assert "witness-1.mynumber.local, witness-2.mynumber.local" in first.output
    for n in range(40, 50):
        env.writer.record_one(_entry(n))
    env.note_of_size(50)
    second = monitor()
    assert "log OK: 50 entries (10 checked from entry 40)" in second.output, second.output
    # An operator edits one stored entry: replaying from 0 no longer adds up.
    with env.writer_db.transaction() as session:
        row = session.scalars(select(LogEntry).where(LogEntry.index == 7)).one()
        row.leaf = bytes(row.leaf).replace(b'"pension"', b'"health"', 1)
    edited = monitor("--from-zero")
    assert edited.exit_code == 2
    assert "do not add up to the signed checkpoint of size 50" in edited.output
    with env.writer_db.transaction() as session:
        session.execute(delete(LogEntry).where(LogEntry.index == 3))
    deleted = monitor("--from-zero")
    assert deleted.exit_code == 2 and "entries are missing" in deleted.output
