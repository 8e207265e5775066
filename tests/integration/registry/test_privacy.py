"""Invariant 1 at the registry: seeded numbers and names appear in no stored byte and no log line.

Twenty residents go through registration, linking in every domain, failed links, queries,
denials, publications, fact updates and number reissue. Then the registry's SQLite files (with
WAL), a ``pg_dump`` of its PostgreSQL database, and every log line written meanwhile are scanned
for every seeded number (ASCII, and hex as bytea dumps show it) and every name and address.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog
from mynumber.registry.v1 import registry_pb2 as pb
from sqlalchemy.engine import make_url

from mynumber_core.log import configure_logging
from mynumber_core.mynumber import check_digit
from tests.integration.registry.conftest import RegistryEnv, Resident, start_with_providers
from tests.integration.registry.test_hub import ALL, publish_request, query

RESIDENTS = 20


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """JSON log output of everything running in this process during the test."""
    buffer = io.StringIO()
    configure_logging(fmt="json", level="debug", stream=buffer)
    handler = logging.StreamHandler(buffer)  # stdlib loggers too (alembic, sqlalchemy, grpc)
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        structlog.reset_defaults()


def _exercise(env: RegistryEnv) -> tuple[list[Resident], list[str]]:
    """Run every registry flow over the seeded residents; returns them and extra secrets."""
    residents = [env.register(key=f"juki-{n:04d}") for n in range(RESIDENTS)]
    extra: list[str] = []

    def flows(n: int, resident: Resident) -> None:
        env.link(resident, *ALL)
        # Failed attempts carry the number too: wrong facts, a typo in the check digit.
        wrong = pb.BasicFacts()
        wrong.CopyFrom(resident.facts)
        wrong.birth_date = "1900-01-01"
        typo = resident.my_number[:11] + str((check_digit(resident.my_number[:11]) + 1) % 10)
        extra.append(typo)
        if n % 3 == 0:
            for number, facts in ((resident.my_number, wrong), (typo, resident.facts)):
                with pytest.raises(grpc.RpcError):
                    env.registry("tax").Link(pb.LinkRequest(my_number=number, facts=facts))
        query(env, resident, "pension", "tax", "income", "pension.exemption", None, {"year": 2024})
        with pytest.raises(grpc.RpcError):
            query(env, resident, "health", "portal", "payout_account", "health.premium")
        if n % 4 == 0:
            query(env, resident, "portal", "municipality", "basic_facts", "portal.my_information")
            env.hub("municipality").Publish(
                publish_request(
                    env,
                    "municipality",
                    resident.tokens["municipality"],
                    "address_changed",
                    f"move-{uuid.uuid4().hex[:12]}",
                    "municipality.moving_onestop",
                    {"moved_on": "2025-04-01"},
                )
            )
        if n % 5 == 0:
            env.exchange_log("gateway").ListEntries(
                pb.ListEntriesRequest(token=resident.tokens["portal"])
            )
        if n % 5 == 0:  # a move recorded by the municipality
            moved = pb.BasicFacts()
            moved.CopyFrom(resident.facts)
            moved.address = f"神奈川県横浜市西区みなとみらい{n + 1}丁目{n + 2}番{n + 3}号"
            extra.append(moved.address)
            env.registry("municipality").UpdateFacts(
                pb.UpdateFactsRequest(token=resident.tokens["municipality"], facts=moved)
            )
        if n % 7 == 0:  # a compromised number is reissued
            new = env.registry("municipality").ReissueNumber(
                pb.ReissueNumberRequest(
                    token=resident.tokens["municipality"],
                    reason="notification card lost",
                    idempotency_key=f"reissue-{n}",
                )
            )
            extra.append(new.my_number)
            with pytest.raises(grpc.RpcError):
                env.registry("pension").Link(
                    pb.LinkRequest(my_number=resident.my_number, facts=resident.facts)
                )

    with ThreadPoolExecutor(4) as pool:  # several counters at once, as in real life
        list(pool.map(flows, range(RESIDENTS), residents))
    env.registry("gateway").SetLocks(
        pb.SetLocksRequest(token=residents[0].tokens["portal"], locks=["protect_claims"])
    )
    return residents, extra


def _needles(residents: list[Resident], extra: list[str]) -> dict[str, bytes]:
    secrets: list[str] = [*extra]
    for r in residents:
        secrets += [r.my_number, r.facts.name, r.facts.address]
    needles: dict[str, bytes] = {}
    for secret in secrets:
        needles[secret] = secret.encode()
        needles[f"hex:{secret}"] = secret.encode().hex().encode()
    return needles


def _scan(haystack: bytes, needles: dict[str, bytes]) -> list[str]:
    return [label for label, needle in needles.items() if needle in haystack]


def _stored_bytes(env: RegistryEnv) -> bytes:
    url = make_url(env.url)
    if env.is_sqlite:
        assert url.database
        folder = Path(url.database).parent
        files = sorted(folder.glob(Path(url.database).name + "*"))  # .db, -wal, -shm
        assert files
        return b"".join(f.read_bytes() for f in files)
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.fail("pg_dump is missing: apt-get install -y postgresql-client")
    dump = subprocess.run(
        [pg_dump, "-h", "127.0.0.1", "-U", "postgres", "--no-owner", str(url.database)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return dump.stdout


def test_no_number_or_name_is_stored_or_logged(
    tmp_path: Path, backend: Any, captured_logs: io.StringIO
) -> None:
    stack, providers, servers = start_with_providers(tmp_path, backend)
    env = RegistryEnv(stack, providers)
    try:
        residents, extra = _exercise(env)
        stored = _stored_bytes(env)
    finally:
        env.close()
        stack.stop()
        for srv in servers:
            srv.stop(0)
    if env.is_sqlite:
        stored += _stored_bytes(env)  # after shutdown, too (WAL checkpointed into the file)

    needles = _needles(residents, extra)
    assert len(needles) >= 2 * 3 * RESIDENTS
    # Positive controls: the scans read real content.
    assert b"health.premium" in stored and b"log_entries" in stored
    logs = captured_logs.getvalue()
    # Every domain but the portal links by number (the portal logs in with the card).
    assert logs.count('"method": "Link"') >= RESIDENTS * (len(ALL) - 1)
    assert '"code": "NOT_FOUND"' in logs and '"code": "PERMISSION_DENIED"' in logs

    assert _scan(stored, needles) == [], "personal data found in the registry's stored bytes"
    assert _scan(logs.encode(), needles) == [], "personal data found in the logs"
    assert "[redacted]" not in logs, "something tried to log a 12-digit number"
