"""The witness service (C2SP tlog-witness add-checkpoint over gRPC), on SQLite and PostgreSQL.

A real witness server is started on loopback with its own key and database; checkpoints are
signed here by a test log key and submitted over mTLS. Every refusal the spec names comes back
with its status and a message saying what to do, and changes nothing; a validly signed but
inconsistent checkpoint is kept as evidence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mynumber.witness.v1 import witness_pb2 as pb
from mynumber.witness.v1 import witness_pb2_grpc

from mynumber_core.channels import Channels
from mynumber_core.checkpoint import Checkpoint, sign_checkpoint, verifier_key
from mynumber_core.cosignature import add_signature_lines, require_quorum
from mynumber_core.merkle import InMemoryMerkleTree
from mynumber_core.tls import TlsMaterial
from mynumber_dev.keys import tls_dir
from tests.support.witnesses import Witnesses, running_witnesses

ORIGIN = "mynumber.local/exchange-log"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"witness test log").digest())
LOG_VKEY = verifier_key(ORIGIN, LOG_KEY.public_key())


class Log:
    """A tiny honest log: entries, a tree, signed checkpoints."""

    def __init__(self, key: Ed25519PrivateKey = LOG_KEY, origin: str = ORIGIN) -> None:
        self.tree = InMemoryMerkleTree()
        self.key, self.origin = key, origin

    def grow(self, n: int, tag: bytes = b"e") -> None:
        for _ in range(n):
            self.tree.append(tag + str(self.tree.size).encode())

    def note(self, size: int | None = None) -> str:
        size = self.tree.size if size is None else size
        return sign_checkpoint(
            Checkpoint(self.origin, size, self.tree.root(size)), ORIGIN, self.key
        )


@pytest.fixture
def witnesses(tmp_path: Path, backend: Any) -> Iterator[Witnesses]:
    with running_witnesses(tmp_path, backend, ["witness-1"], [LOG_VKEY]) as ws:
        yield ws


def _stub(ws: Witnesses, identity: str = "registry") -> Any:
    channels = Channels(TlsMaterial(tls_dir(ws.var, identity)), ws.endpoints)
    return witness_pb2_grpc.WitnessStub(channels.channel("witness-1"))


def _add(stub: Any, old: int, proof: list[bytes], note: str) -> str:
    response = stub.AddCheckpoint(
        pb.AddCheckpointRequest(old_size=old, consistency_proof=proof, checkpoint=note)
    )
    return str(response.cosignatures)


def _refusal(stub: Any, old: int, proof: list[bytes], note: str) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        _add(stub, old, proof, note)
    return caught.value


def test_cosigns_an_append_only_history(witnesses: Witnesses) -> None:
    stub, log = _stub(witnesses), Log()
    log.grow(5)
    first = _add(stub, 0, [], log.note())
    note = add_signature_lines(log.note(), [first])
    [cosig] = require_quorum(note, witnesses.trusted(), 1)
    assert cosig.witness == "witness-1.mynumber.local" and cosig.timestamp > 1_700_000_000
    log.grow(7)
    second = _add(stub, 5, log.tree.consistency_proof(5, 12), log.note())
    require_quorum(add_signature_lines(log.note(), [second]), witnesses.trusted(), 1)
    # Resubmitting the same tree is fine; the C2SP text body works as well.
    body = f"old 12\n\n{log.note()}".encode()
    again = stub.AddCheckpoint(pb.AddCheckpointRequest(body=body)).cosignatures
    require_quorum(add_signature_lines(log.note(), [again]), witnesses.trusted(), 1)
    key = stub.GetWitnessKey(pb.GetWitnessKeyRequest())
    assert key.vkey == witnesses.vkeys()[0]


def test_wrong_old_size_is_a_conflict_naming_the_witness_size(witnesses: Witnesses) -> None:
    stub, log = _stub(witnesses), Log()
    log.grow(4)
    _add(stub, 0, [], log.note())
    log.grow(4)
    error = _refusal(stub, 0, [], log.note())
    assert error.code() == grpc.StatusCode.ABORTED
    assert "last cosigned size 4" in str(error.details())
    assert dict(error.trailing_metadata() or ())["tlog-size"] == "4"
    _add(stub, 4, log.tree.consistency_proof(4, 8), log.note())  # the retry the error asks for


def test_each_refusal_has_its_status_and_changes_nothing(witnesses: Witnesses) -> None:
    stub, log = _stub(witnesses), Log()
    log.grow(6)
    _add(stub, 0, [], log.note())
    log.grow(6)
    proof = log.tree.consistency_proof(6, 12)
    stranger = Log(origin="other.example/log")
    stranger.grow(1)
    cases: list[tuple[int, list[bytes], str, grpc.StatusCode, str]] = [
        (0, [], stranger.note(), grpc.StatusCode.NOT_FOUND, "does not follow"),
        (
            6,
            proof,
            Log(Ed25519PrivateKey.generate()).note(0),
            grpc.StatusCode.PERMISSION_DENIED,
            "not validly signed",
        ),
        (13, proof, log.note(), grpc.StatusCode.INVALID_ARGUMENT, "larger than"),
        (6, [b"\x00" * 32] * 64, log.note(), grpc.StatusCode.INVALID_ARGUMENT, "at most 63"),
        (
            6,
            [bytes(32), *proof[1:]],
            log.note(),
            grpc.StatusCode.FAILED_PRECONDITION,
            "not proven to extend",
        ),
    ]
    bad_signature = log.note().replace(log.note().split("\n")[-2].split(" ")[2][:8], "AAAAAAAA")
    cases.append((6, proof, bad_signature, grpc.StatusCode.PERMISSION_DENIED, "signed"))
    for old, proof_sent, note, status, words in cases:
        error = _refusal(stub, old, proof_sent, note)
        assert error.code() == status, (status, error.details())
        assert words in str(error.details())
    # Nothing moved: the witness still expects old size 6.
    assert _add(stub, 6, proof, log.note())
    [(size, reason)] = witnesses.refused("witness-1")  # only the bad proof was a signed fork
    assert size == 12 and "not proven to extend" in reason


def test_a_fork_of_the_same_size_is_refused_and_kept_as_evidence(witnesses: Witnesses) -> None:
    stub, honest, forked = _stub(witnesses), Log(), Log()
    honest.grow(8)
    forked.grow(7)
    forked.grow(1, tag=b"x")  # same size, a different last entry
    error = _refusal(stub, 0, [b"\x01" * 32], honest.note())
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "must be empty when the old size is 0" in str(error.details())
    _add(stub, 0, [], honest.note())
    error = _refusal(stub, 8, [], forked.note())
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "two different trees of size 8" in str(error.details())
    [_, (size, reason)] = witnesses.refused("witness-1")
    assert size == 8 and "fork" in reason


def test_only_the_registry_and_the_operator_may_submit(witnesses: Witnesses) -> None:
    log = Log()
    log.grow(1)
    error = _refusal(_stub(witnesses, "tax"), 0, [], log.note())
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert _add(_stub(witnesses, "operator"), 0, [], log.note())
