"""The exchange log (やりとり履歴) is what the resident sees, and it is tamper-evident.

Invariant 4: the portal lists one person's entries with RFC 9162 inclusion proofs against a
signed checkpoint, checkpoints are provably append-only (consistency proofs), and an operator
who edits, deletes, reorders or truncates rows in the database is caught by a verifier that
kept an earlier checkpoint. The verifier here uses only mynumber_core.logverifier and the
public key the registry hands out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from mynumber.registry.v1 import registry_pb2 as pb
from sqlalchemy import text

from mynumber_core.checkpoint import CheckpointError
from mynumber_core.db import Database
from mynumber_core.keyring import Keyring
from mynumber_core.logverifier import (
    HistoryRewrittenError,
    InclusionError,
    LogVerificationError,
    TrustedLog,
    verify_append,
    verify_checkpoint,
    verify_entry_inclusion,
    verify_update,
)
from mynumber_core.merkle import leaf_hash
from mynumber_dev.keys import keyring_path
from services.registry.exchange_log import ExchangeLogStore
from tests.integration.registry.conftest import RegistryEnv, Resident
from tests.integration.registry.test_hub import ALL, publish_request, query, rid

OUTCOMES = {
    pb.OUTCOME_PROVIDED: "provided",
    pb.OUTCOME_DENIED: "denied",
    pb.OUTCOME_FAILED: "failed",
    pb.OUTCOME_DELIVERED: "delivered",
}


def trusted_log(env: RegistryEnv) -> tuple[TrustedLog, pb.GetCheckpointResponse]:
    """What a portal pins: the key from GetCheckpoint (in real life configured out of band),
    once the newest signed checkpoint covers every entry so far (checkpoints are signed off
    the exchange path, a few hundred ms after the entries)."""
    size = env.log_size()
    deadline = time.monotonic() + 10
    while True:
        response = env.exchange_log("gateway").GetCheckpoint(pb.GetCheckpointRequest())
        key = Ed25519PublicKey.from_public_bytes(response.public_key)
        log = TrustedLog(response.key_name, response.key_name, key)
        if verify_checkpoint(log, response.checkpoint).size >= size:
            return log, response
        assert time.monotonic() < deadline, "no checkpoint covered the log within 10 s"
        time.sleep(0.05)


def record_some(env: RegistryEnv, resident: Resident) -> list[str]:
    """Two provided queries, one denied, one publication (four deliveries)."""
    ids = [rid("p1"), rid("p2"), rid("d1")]
    query(env, resident, "pension", "tax", "income", "pension.exemption", ids[0], {"year": 2024})
    query(env, resident, "portal", "health", "coverage", "portal.my_information", ids[1])
    with pytest.raises(grpc.RpcError):
        query(env, resident, "pension", "health", "coverage", "pension.exemption", ids[2])
    event = rid("ev")
    env.hub("municipality").Publish(
        publish_request(
            env,
            "municipality",
            resident.tokens["municipality"],
            "address_changed",
            event,
            "municipality.moving_onestop",
        )
    )
    return [*ids, event]


def test_the_portal_lists_one_persons_entries_with_proofs_that_verify(hub: RegistryEnv) -> None:
    alice, bob = hub.linked(*ALL), hub.linked(*ALL)
    alice_ids = record_some(hub, alice)
    bob_ids = record_some(hub, bob)
    log, checkpoint_response = trusted_log(hub)
    checkpoint = verify_checkpoint(log, checkpoint_response.checkpoint)

    listed = hub.exchange_log("gateway").ListEntries(
        pb.ListEntriesRequest(token=alice.tokens["portal"], page_size=1000)
    )
    assert listed.checkpoint == checkpoint_response.checkpoint
    listed_checkpoint = verify_checkpoint(log, listed.checkpoint)
    assert listed_checkpoint == checkpoint

    ids = [e.request_id for e in listed.entries]
    assert sorted(set(ids)) == sorted(alice_ids)
    assert len(listed.entries) == 3 + len(ALL)  # the publication has one entry per receiver
    assert not set(ids) & set(bob_ids)
    tags = set()
    for entry in listed.entries:
        verify_entry_inclusion(checkpoint, entry.leaf, entry.index, list(entry.inclusion_proof))
        fields = json.loads(entry.leaf)
        assert fields["index"] == entry.index
        assert (fields["requester"], fields["provider"], fields["item"], fields["procedure"]) == (
            entry.requester,
            entry.provider,
            entry.item,
            entry.procedure,
        )
        assert fields["outcome"] == OUTCOMES[entry.outcome]
        tags.add(fields["tag"])
        for secret in (alice.my_number, alice.facts.name, *alice.tokens.values()):
            assert secret.encode() not in entry.leaf
    assert len(tags) == 1
    assert [e.index for e in listed.entries] == sorted(e.index for e in listed.entries)
    outcomes = sorted(OUTCOMES[e.outcome] for e in listed.entries)
    assert outcomes == sorted(["provided", "provided", "denied"] + ["delivered"] * len(ALL))

    # Someone else's entry, or a changed one, does not verify as this entry.
    first = listed.entries[0]
    forged = first.leaf.replace(b'"outcome":"provided"', b'"outcome":"denied"').replace(
        b'"outcome":"delivered"', b'"outcome":"failed"'
    )
    assert forged != first.leaf
    with pytest.raises(InclusionError):
        verify_entry_inclusion(checkpoint, forged, first.index, list(first.inclusion_proof))


def test_list_entries_pages_and_refuses_other_callers(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    record_some(hub, resident)
    stub = hub.exchange_log("gateway")
    everything = stub.ListEntries(pb.ListEntriesRequest(token=resident.tokens["portal"]))
    page1 = stub.ListEntries(pb.ListEntriesRequest(token=resident.tokens["portal"], page_size=3))
    page2 = stub.ListEntries(
        pb.ListEntriesRequest(
            token=resident.tokens["portal"],
            page_size=100,
            after_index=page1.entries[-1].index,
            has_after=True,
        )
    )
    assert [e.index for e in page1.entries] + [e.index for e in page2.entries] == [
        e.index for e in everything.entries
    ]
    with pytest.raises(grpc.RpcError) as info:
        hub.exchange_log("pension").ListEntries(
            pb.ListEntriesRequest(token=resident.tokens["pension"])
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as info:  # no resident's grant names another domain's token
        stub.ListEntries(pb.ListEntriesRequest(token=resident.tokens["tax"]))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as info:
        stub.ListEntries(pb.ListEntriesRequest(token=resident.tokens["portal"], page_size=5000))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_checkpoint_signature_is_checked(hub: RegistryEnv) -> None:
    hub.linked(*ALL)
    log, response = trusted_log(hub)
    note = response.checkpoint
    body, _, signature = note.rpartition("\n\u2014 ")
    assert body and signature
    at = len(note) - 30  # inside the base64 signature
    flipped = note[:at] + ("A" if note[at] != "A" else "B") + note[at + 1 :]
    with pytest.raises(CheckpointError):
        verify_checkpoint(log, flipped)
    lines = note.split("\n")
    lines[1] = str(int(lines[1]) + 1)  # claim one more entry
    with pytest.raises(CheckpointError):
        verify_checkpoint(log, "\n".join(lines))
    impostor = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(CheckpointError):
        verify_checkpoint(TrustedLog(log.origin, log.key_name, impostor), note)


def test_consistency_proof_between_two_checkpoints_verifies(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    log, first_response = trusted_log(hub)
    first = verify_checkpoint(log, first_response.checkpoint)
    record_some(hub, resident)
    _, second_response = trusted_log(hub)
    proof = hub.exchange_log("gateway").GetConsistencyProof(
        pb.GetConsistencyProofRequest(
            first_size=first.size,
            second_size=verify_checkpoint(log, second_response.checkpoint).size,
        )
    )
    second = verify_update(log, first, second_response.checkpoint, list(proof.proof))
    assert second.size == first.size + 3 + len(ALL)
    # A proof for other sizes does not pass for these two checkpoints.
    wrong = hub.exchange_log("pension").GetConsistencyProof(
        pb.GetConsistencyProofRequest(first_size=first.size - 1, second_size=second.size)
    )
    with pytest.raises(HistoryRewrittenError):
        verify_append(first, second, list(wrong.proof))
    with pytest.raises(grpc.RpcError) as info:
        hub.exchange_log("gateway").GetConsistencyProof(
            pb.GetConsistencyProofRequest(first_size=second.size, second_size=second.size + 100)
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_concurrent_exchanges_get_distinct_gapless_indexes(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    before = hub.log_size()

    def one(n: int) -> int:
        return int(
            query(
                hub, resident, "pension", "tax", "income", "pension.exemption", rid(f"c{n}")
            ).log_index
        )

    with ThreadPoolExecutor(12) as pool:
        indexes = sorted(pool.map(one, range(24)))
    assert indexes == list(range(before, before + 24))
    log, response = trusted_log(hub)
    checkpoint = verify_checkpoint(log, response.checkpoint)
    assert checkpoint.size == before + 24
    fresh = _fresh_store(hub)
    assert fresh.signed_checkpoint()[0] == response.checkpoint
    fresh._db.dispose()


# ---------------------------------------------------------------------- tampering

_COLUMNS = (
    '"index", leaf, leaf_hash, citizen_tag, requester, provider, request_id, fingerprint, '
    "outcome, result, status_code, message, created_at"
)
_INSERT = text(
    f"INSERT INTO log_entries ({_COLUMNS}) VALUES (:index, :leaf, :leaf_hash, :citizen_tag, "
    ":requester, :provider, :request_id, :fingerprint, :outcome, :result, :status_code, "
    ":message, :created_at)"
)


def _fresh_store(env: RegistryEnv) -> ExchangeLogStore:
    """A new log store over the (possibly tampered) database, as a restarted registry has."""
    keyring = Keyring.load(keyring_path(env.stack.var, "registry"))
    signing = Ed25519PrivateKey.from_private_bytes(keyring.keyset("log-signing").active_key)
    return ExchangeLogStore(Database.from_url(env.url), signing)


def _rows(env: RegistryEnv) -> list[dict[str, Any]]:
    with env.engine.connect() as conn:
        rows = conn.execute(text(f'SELECT {_COLUMNS} FROM log_entries ORDER BY "index"'))
        return [dict(r) for r in rows.mappings()]


@contextmanager
def tampering(env: RegistryEnv) -> Iterator[list[dict[str, Any]]]:
    """Yield the log rows; put the original rows, size and signed checkpoints back afterwards
    (the registry's checkpointer may have signed the tampered log meanwhile)."""
    saved = _rows(env)
    with env.engine.connect() as conn:
        checkpoints = [
            dict(r) for r in conn.execute(text("SELECT * FROM log_checkpoints")).mappings()
        ]
    try:
        yield saved
    finally:
        with env.engine.begin() as conn:
            conn.execute(text("DELETE FROM log_entries"))
            for row in saved:
                conn.execute(_INSERT, row)
            conn.execute(text("UPDATE log_head SET size = :n"), {"n": len(saved)})
            conn.execute(text("DELETE FROM log_checkpoints"))
            for row in checkpoints:
                conn.execute(
                    text(
                        "INSERT INTO log_checkpoints (size, root_hash, note, signed_at) "
                        "VALUES (:size, :root_hash, :note, :signed_at)"
                    ),
                    row,
                )
        # A checkpoint of the tampered log may land just after the restore (the checkpointer
        # read the size before it): wait out one interval and drop anything beyond the log.
        time.sleep(0.5)
        with env.engine.begin() as conn:
            conn.execute(text("DELETE FROM log_checkpoints WHERE size > :n"), {"n": len(saved)})
        store = _fresh_store(env)
        assert store.signed_checkpoint()[1] == len(saved)
        store._db.dispose()


def _rewrite(row: dict[str, Any], **changes: Any) -> dict[str, Any]:
    fields = json.loads(bytes(row["leaf"]))
    fields.update(changes)
    leaf = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return {**row, "leaf": leaf, "leaf_hash": leaf_hash(leaf)}


def _put(env: RegistryEnv, rows: list[dict[str, Any]], size: int) -> None:
    with env.engine.begin() as conn:
        conn.execute(text("DELETE FROM log_entries"))
        for row in rows:
            conn.execute(_INSERT, row)
        conn.execute(text("UPDATE log_head SET size = :n"), {"n": size})


def _edit(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    # Turn a refusal into a provision (and recompute the hash, as a careful forger would).
    out = list(rows)
    out[k] = {**_rewrite(rows[k], outcome="provided", reason=""), "outcome": "provided"}
    return out


def _delete(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    # Drop one entry, renumber the rest, and pad the end so the size looks unchanged.
    kept = [r for i, r in enumerate(rows) if i != k]
    shifted = [_rewrite({**r, "index": i}, index=i) for i, r in enumerate(kept)]
    padding = _rewrite({**rows[-1], "index": len(shifted)}, index=len(shifted), request_id="pad")
    return [*shifted, padding]


def _reorder(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    out = [dict(r) for r in rows]
    a, b = out[k], out[k + 1]
    for column in ("leaf", "leaf_hash", "citizen_tag", "request_id", "outcome", "message"):
        a[column], b[column] = b[column], a[column]
    return out


TAMPERS = {"edit": _edit, "delete": _delete, "reorder": _reorder}


@pytest.mark.parametrize("how", [*TAMPERS, "truncate", "truncate-and-regrow"])
def test_database_tampering_is_detected_by_a_verifier_with_an_old_checkpoint(
    hub: RegistryEnv, how: str
) -> None:
    resident = hub.linked(*ALL)
    denied = [rid("t") for _ in range(6)]
    for request_id in denied:
        with pytest.raises(grpc.RpcError):
            query(hub, resident, "pension", "health", "coverage", "pension.exemption", request_id)
    listed = hub.exchange_log("gateway").ListEntries(
        pb.ListEntriesRequest(token=resident.tokens["portal"])
    )
    log, response = trusted_log(hub)
    saved = verify_checkpoint(log, response.checkpoint)  # what the resident's portal kept
    kept_entry = listed.entries[2]
    honest = _fresh_store(hub)
    assert honest.signed_checkpoint()[0] == response.checkpoint  # honest so far
    honest._db.dispose()

    with tampering(hub) as rows:
        assert len(rows) == saved.size
        k = kept_entry.index
        if how in TAMPERS:
            _put(hub, TAMPERS[how](rows, k), len(rows))
        elif how == "truncate":
            _put(hub, rows[:k], k)
        else:  # truncate, then append new entries until the log is longer than before
            regrown = [
                _rewrite({**r, "index": i}, index=i, request_id=f"new-{i}")
                for i, r in enumerate(rows[k:] + rows[k:], start=k)
            ]
            _put(hub, rows[:k] + regrown, k + len(regrown))

        store = _fresh_store(hub)
        note, size = store.signed_checkpoint()
        new = verify_checkpoint(log, note)  # validly signed: the signer is not the problem
        assert new.root_hash != saved.root_hash
        if size >= saved.size:
            assert store._tree.root(saved.size) != saved.root_hash
        proof = store.consistency_proof(saved.size, size) if size >= saved.size else []
        with pytest.raises(HistoryRewrittenError):
            verify_append(saved, new, proof)
        # The resident's saved entry no longer proves into the served tree either.
        if kept_entry.index < size:
            with pytest.raises(LogVerificationError):
                verify_entry_inclusion(
                    new, kept_entry.leaf, kept_entry.index, store.inclusion_proof(k, size)
                )
        store._db.dispose()


def test_an_edited_row_is_caught_through_the_running_registry(hub: RegistryEnv) -> None:
    """The portal's real flow: it kept a checkpoint; the registry now serves a rewritten row."""
    resident = hub.linked(*ALL)
    request_id = rid("edit")
    query(hub, resident, "pension", "tax", "income", "pension.exemption", request_id)
    log, response = trusted_log(hub)
    saved = verify_checkpoint(log, response.checkpoint)
    with tampering(hub) as rows:
        [row] = [r for r in rows if r["request_id"] == request_id]
        edited = _rewrite(row, procedure="tax.refund")  # leaf changed, leaf_hash recomputed
        with hub.engine.begin() as conn:
            conn.execute(
                text('UPDATE log_entries SET leaf = :leaf, leaf_hash = :h WHERE "index" = :i'),
                {"leaf": edited["leaf"], "h": edited["leaf_hash"], "i": row["index"]},
            )
        listed = hub.exchange_log("gateway").ListEntries(
            pb.ListEntriesRequest(token=resident.tokens["portal"])
        )
        [entry] = [e for e in listed.entries if e.request_id == request_id]
        assert entry.procedure == "tax.refund"  # the registry serves the forged row...
        current = verify_checkpoint(log, listed.checkpoint)
        proof = hub.exchange_log("gateway").GetConsistencyProof(
            pb.GetConsistencyProofRequest(first_size=saved.size, second_size=current.size)
        )
        # ...but the portal cannot accept both it and the checkpoint history it already holds.
        with pytest.raises(LogVerificationError):
            verify_append(saved, current, list(proof.proof))
            verify_entry_inclusion(current, entry.leaf, entry.index, list(entry.inclusion_proof))
