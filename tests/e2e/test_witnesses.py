"""``make run``'s witnesses: the launcher starts two witness processes beside the registry, and
the registry's checkpoints come out cosigned by both, as the pinned trust file expects.

Only the registry and the two witnesses are started (as processes, the way ``make run`` does);
entries are appended by a second log store on the registry's database, as another replica
would. The auditor's ``mynumber log monitor`` then replays the log over mTLS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mynumber.registry.v1 import registry_pb2, registry_pb2_grpc

from mynumber_cli.__main__ import cli
from mynumber_cli.logcheck import Trust
from mynumber_core.channels import Channels
from mynumber_core.cosignature import require_quorum
from mynumber_core.db import Database
from mynumber_core.keyring import Keyring
from mynumber_core.logverifier import verify_checkpoint
from mynumber_core.tls import TlsMaterial
from mynumber_dev.keys import keyring_path, tls_dir
from mynumber_dev.platform import Platform
from services.registry.exchange_log import ExchangeLogStore, NewEntry


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    running = Platform(
        var=tmp_path, services=["registry", "witness-1", "witness-2"], fixed_ports=False
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_make_run_starts_two_witnesses_that_cosign_every_checkpoint(platform: Platform) -> None:
    var = platform.var
    trust = Trust.load(var / "log-trust.json")
    assert trust.quorum == 2 and len(trust.witnesses) == 2
    seed = Keyring.load(keyring_path(var, "registry")).keyset("log-signing").active_key
    db = Database.from_url(platform.database_url("registry"))
    writer = ExchangeLogStore(db, Ed25519PrivateKey.from_private_bytes(seed))
    for n in range(25):
        writer.record_one(
            NewEntry(
                "pension", "tax", "income", "pension.exemption", "answered", "", f"r{n}", "tag", ""
            )
        )
    channels = Channels(TlsMaterial(tls_dir(var, "gateway")), platform.endpoints)
    stub = registry_pb2_grpc.ExchangeLogStub(channels.channel("registry"))
    deadline = time.monotonic() + 20
    while True:
        note = stub.GetCheckpoint(registry_pb2.GetCheckpointRequest()).checkpoint
        if verify_checkpoint(trust.log, note).size == 25 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert verify_checkpoint(trust.log, note).size == 25
    cosigners = sorted(c.witness for c in require_quorum(note, trust.witnesses, 2))
    assert cosigners == ["witness-1.mynumber.local", "witness-2.mynumber.local"]
    (var / "endpoints.json").write_text(json.dumps(platform.endpoints))
    result = CliRunner().invoke(cli, ["--var", str(var), "log", "monitor"])
    assert result.exit_code == 0, result.output
    assert "log OK: 25 entries (25 checked from entry 0)" in result.output
    channels.close()
    db.dispose()
