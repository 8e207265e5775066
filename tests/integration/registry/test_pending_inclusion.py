"""Pending inclusion: checkpoints are signed off the exchange path, so an entry newer than the
newest signed checkpoint is listed as pending (no proof yet), and as verified once a later
checkpoint covers it; and the checkpointer signs when the log grows, at most once per interval.

The first test switches the registry's background checkpointer off and signs checkpoints from
the test with a second log store over the same database and key (as another replica would),
so what is pending is decided by the test, not by timing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from mynumber.registry.v1 import registry_pb2 as pb
from sqlalchemy import text

from mynumber_core.db import Database
from mynumber_core.keyring import Keyring
from mynumber_core.logverifier import (
    TrustedLog,
    verify_append,
    verify_checkpoint,
    verify_entry_inclusion,
)
from mynumber_dev.keys import keyring_path
from services.registry.checkpoints import Checkpointer
from services.registry.exchange_log import ExchangeLogStore
from tests.integration.registry.conftest import RegistryEnv, start_with_providers
from tests.integration.registry.test_hub import ALL, query, rid


def _env(tmp_path: Path, backend: Any) -> Iterator[RegistryEnv]:
    stack, providers, servers = start_with_providers(tmp_path, backend)
    env = RegistryEnv(stack, providers)
    try:
        yield env
    finally:
        env.close()
        stack.stop()
        for srv in servers:
            srv.stop(0)


@pytest.fixture
def manual_env(
    tmp_path: Path, backend: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RegistryEnv]:
    """A registry whose background checkpointer never runs."""
    monkeypatch.setattr(Checkpointer, "start", lambda self: None)
    yield from _env(tmp_path, backend)


@pytest.fixture
def live_env(tmp_path: Path, backend: Any) -> Iterator[RegistryEnv]:
    """A registry with its background checkpointer (200 ms interval)."""
    yield from _env(tmp_path, backend)


def _signer(env: RegistryEnv) -> ExchangeLogStore:
    keyring = Keyring.load(keyring_path(env.stack.var, "registry"))
    signing = Ed25519PrivateKey.from_private_bytes(keyring.keyset("log-signing").active_key)
    return ExchangeLogStore(Database.from_url(env.url), signing)


def _trusted(env: RegistryEnv) -> TrustedLog:
    response = env.exchange_log("gateway").GetCheckpoint(pb.GetCheckpointRequest())
    key = Ed25519PublicKey.from_public_bytes(response.public_key)
    return TrustedLog(response.key_name, response.key_name, key)


def _listing(env: RegistryEnv, token: str) -> pb.ListEntriesResponse:
    return env.exchange_log("gateway").ListEntries(
        pb.ListEntriesRequest(token=token, include_pending=True, page_size=1000)
    )


def test_an_entry_newer_than_the_checkpoint_is_pending_then_verified(
    manual_env: RegistryEnv,
) -> None:
    env = manual_env
    resident = env.linked(*ALL)
    token = resident.tokens["portal"]
    signer = _signer(env)
    try:
        first = query(env, resident, "pension", "tax", "income", "pension.exemption", rid("a"))
        signed = signer.checkpoints.tick()
        assert signed is not None and signed.size == first.log_index + 1
        second = query(env, resident, "pension", "tax", "income", "pension.exemption", rid("b"))
        trusted = _trusted(env)

        listed = _listing(env, token)
        old = verify_checkpoint(trusted, listed.checkpoint)
        assert old.size == first.log_index + 1
        entries = {e.index: e for e in listed.entries}
        assert set(entries) >= {first.log_index, second.log_index}
        covered, fresh = entries[first.log_index], entries[second.log_index]
        assert not covered.pending
        verify_entry_inclusion(old, covered.leaf, covered.index, list(covered.inclusion_proof))
        assert fresh.pending and list(fresh.inclusion_proof) == []
        assert all(e.pending == (e.index >= old.size) for e in listed.entries)
        # GetCheckpoint serves the same newest stored checkpoint, not a fresh signature.
        got = env.exchange_log("gateway").GetCheckpoint(pb.GetCheckpointRequest())
        assert got.checkpoint == listed.checkpoint

        assert signer.checkpoints.tick() is not None  # the next checkpoint covers it
        relisted = _listing(env, token)
        new = verify_checkpoint(trusted, relisted.checkpoint)
        assert new.size == second.log_index + 1
        entry = next(e for e in relisted.entries if e.index == second.log_index)
        assert not entry.pending
        verify_entry_inclusion(new, entry.leaf, entry.index, list(entry.inclusion_proof))
        proof = env.exchange_log("gateway").GetConsistencyProof(
            pb.GetConsistencyProofRequest(first_size=old.size, second_size=new.size)
        )
        verify_append(old, new, list(proof.proof))
        # Without include_pending, only covered entries are listed (all of them now).
        legacy = env.exchange_log("gateway").ListEntries(pb.ListEntriesRequest(token=token))
        assert {e.index for e in legacy.entries} == {e.index for e in relisted.entries}
        assert not any(e.pending for e in legacy.entries)
    finally:
        signer.checkpoints.stop()
        signer._db.dispose()


def test_the_checkpointer_covers_new_entries_soon_and_signs_at_most_every_interval(
    live_env: RegistryEnv,
) -> None:
    env = live_env
    resident = env.linked(*ALL)
    trusted = _trusted(env)
    started = time.monotonic()
    last = 0
    for n in range(12):
        last = query(
            env, resident, "pension", "tax", "income", "pension.exemption", rid(f"q{n}")
        ).log_index
    covered = None
    while time.monotonic() - started < 10:
        note = env.exchange_log("gateway").GetCheckpoint(pb.GetCheckpointRequest()).checkpoint
        covered = verify_checkpoint(trusted, note)
        if covered.size > last:
            break
        time.sleep(0.05)
    assert covered is not None and covered.size > last, "no checkpoint covered the entries"
    with env.engine.connect() as conn:
        times = [
            row[0] if isinstance(row[0], dt.datetime) else dt.datetime.fromisoformat(row[0])
            for row in conn.execute(
                text("SELECT signed_at FROM log_checkpoints WHERE size > 0 ORDER BY size")
            )
        ]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.19 for gap in gaps), gaps  # 200 ms interval (clock resolution aside)
