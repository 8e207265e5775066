"""Data-key rotation with re-encryption while the registry keeps serving (SQLite, PostgreSQL).

A background thread registers and links residents the whole time; the rotation adds a new
``data`` key version, the running registry picks it up from the keyring file, and the walk
rewrites every stored value under it. Afterwards: every old resident still links (their
encrypted number and facts decrypt), every stored ciphertext carries the new key id, new
writes use it, and no request failed.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from mynumber_cli.__main__ import cli
from mynumber_core.keyring import Keyring
from mynumber_core.migrations import upgrade
from mynumber_core.reencrypt import encrypted_columns, rotate_and_reencrypt, service_base
from mynumber_core.reencrypt import main as reencrypt_main
from mynumber_core.settings import SERVICE_NAMES
from mynumber_dev.keys import keyring_path
from tests.support.stack import DatabaseFactory, Stack

ENCRYPTED = {"persons": ("number", "facts"), "log_entries": ("result",)}


def _facts(i: int) -> pb.BasicFacts:
    return pb.BasicFacts(
        name=f"試験 太郎{i}",
        birth_date=f"19{50 + i % 50:02d}-0{1 + i % 9}-1{i % 10}",
        sex=pb.SEX_MALE if i % 2 else pb.SEX_FEMALE,
        address=f"東京都千代田区千代田{1 + i % 5}-{i}",
    )


def _kids(url: str) -> dict[str, set[str]]:
    """Key id prefixes of every stored encrypted value, per table.column (raw SQL)."""
    engine = create_engine(url, poolclass=NullPool)
    found: dict[str, set[str]] = {}
    try:
        with engine.connect() as conn:
            for tbl, cols in ENCRYPTED.items():
                for col in cols:
                    values = conn.execute(
                        text(f"SELECT {col} FROM {tbl} WHERE {col} IS NOT NULL")
                    ).scalars()
                    found[f"{tbl}.{col}"] = {v.partition(".")[0] for v in values}
    finally:
        engine.dispose()
    return found


def test_every_service_has_encrypted_columns_found_generically() -> None:
    for service in SERVICE_NAMES:
        tables = encrypted_columns(service_base(service).metadata.sorted_tables)
        assert tables, f"{service}: no EncryptedText column found"
        for tbl, cols in tables:
            assert tbl.primary_key.columns, f"{service}.{tbl.name} has no primary key"
            assert cols
    registry = {
        t.name: sorted(c.name for c in cols)
        for t, cols in encrypted_columns(service_base("registry").metadata.sorted_tables)
    }
    assert registry == {"log_entries": ["result"], "persons": ["facts", "number"]}


def test_every_service_database_can_be_walked(tmp_path: Path) -> None:
    """The generic walk runs on every service's real schema (its migrations at head)."""
    for service in SERVICE_NAMES:
        url = f"sqlite:///{tmp_path / service}.db"
        upgrade(service, url)
        path = tmp_path / f"{service}-keyring.json"
        Keyring.generate(["data", "blind"]).save(path)
        assert reencrypt_main([service, "--url", url, "--keyring", str(path), "--batch", "2"]) == 0
        assert Keyring.load(path).keyset("data").active == "data-2"


def test_rotation_while_serving(tmp_path: Path, backend: DatabaseFactory) -> None:
    with Stack(tmp_path, ["registry"], database=backend) as stack:
        municipality = pb_grpc.RegistryStub(stack.channel("registry", as_identity="municipality"))
        pension = pb_grpc.RegistryStub(stack.channel("registry", as_identity="pension"))
        tax = pb_grpc.RegistryStub(stack.channel("registry", as_identity="tax"))

        def register(i: int) -> tuple[str, pb.BasicFacts]:
            facts = _facts(i)
            issued = municipality.RegisterResident(
                pb.RegisterResidentRequest(facts=facts, idempotency_key=uuid.uuid4().hex),
                timeout=30,
            )
            return issued.my_number, facts

        old = [register(i) for i in range(40)]
        url = stack.database("registry")
        path = keyring_path(tmp_path, "registry")
        before = Keyring.load(path).keyset("data").active
        assert _kids(url)["persons.number"] == {before}

        stop = threading.Event()
        failures: list[str] = []
        served = [0]
        written: list[tuple[str, pb.BasicFacts]] = []

        def traffic() -> None:
            i = 1000
            while not stop.is_set():
                try:
                    number, facts = old[i % len(old)]
                    pension.Link(pb.LinkRequest(my_number=number, facts=facts), timeout=30)
                    written.append(register(i))
                    served[0] += 2
                except grpc.RpcError as exc:
                    failures.append(f"{exc.code().name}: {exc.details()}")
                i += 1

        worker = threading.Thread(target=traffic, daemon=True)
        worker.start()
        try:
            report = rotate_and_reencrypt("registry", url, path, batch=7)
        finally:
            stop.set()
            worker.join(timeout=30)

        after = Keyring.load(path).keyset("data").active
        assert after != before and report.new_kid == after and report.old_kid == before
        assert failures == [], failures
        assert served[0] > 0
        persons = next(t for t in report.tables if t.table == "persons")
        assert persons.reencrypted + persons.conflicts >= len(old)
        assert persons.reencrypted >= len(old) - persons.conflicts

        # Every stored value now carries the new key id (raw database, not the ORM).
        kids = _kids(url)
        assert kids["persons.number"] == {after}
        assert kids["persons.facts"] == {after}
        assert kids["log_entries.result"] <= {after}

        # Every old record is still readable through the API: the number and facts decrypt.
        for number, facts in old + written[:10]:
            assert tax.Link(pb.LinkRequest(my_number=number, facts=facts)).token
        # A wrong fact is still refused, so the check above is not vacuous.
        number, facts = old[0]
        wrong = pb.BasicFacts()
        wrong.CopyFrom(facts)
        wrong.address = "北海道札幌市中央区北一条西2-1"
        with pytest.raises(grpc.RpcError) as refused:
            tax.Link(pb.LinkRequest(my_number=number, facts=wrong))
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND

        # New writes use the new key id.
        register(5000)
        assert _kids(url)["persons.number"] == {after}

        # A second rotation re-encrypts everything again (old versions stay readable).
        again = rotate_and_reencrypt("registry", url, path)
        assert again.old_kid == after and again.new_kid != after
        assert _kids(url)["persons.facts"] == {again.new_kid}
        assert tax.Link(pb.LinkRequest(my_number=old[1][0], facts=old[1][1])).token


def test_admin_cli_rotates_and_reports(tmp_path: Path, backend: DatabaseFactory) -> None:
    with Stack(tmp_path, ["registry"], database=backend) as stack:
        municipality = pb_grpc.RegistryStub(stack.channel("registry", as_identity="municipality"))
        residents = []
        for i in range(3):
            facts = _facts(i)
            issued = municipality.RegisterResident(
                pb.RegisterResidentRequest(facts=facts, idempotency_key=uuid.uuid4().hex)
            )
            residents.append((issued.my_number, facts))
        url = stack.database("registry")
        result = CliRunner().invoke(
            cli,
            ["--var", str(tmp_path), "admin", "rotate-data-key", "registry", "--url", url],
        )
        assert result.exit_code == 0, result.output
        assert "data key data-1 -> data-2" in result.output
        assert "persons: 3 re-encrypted" in result.output
        assert _kids(url)["persons.number"] == {"data-2"}
        for number, _ in residents:
            assert number not in result.output
        pension = pb_grpc.RegistryStub(stack.channel("registry", as_identity="pension"))
        for number, facts in residents:
            assert pension.Link(pb.LinkRequest(my_number=number, facts=facts)).token
        unknown = CliRunner().invoke(cli, ["--var", str(tmp_path), "admin", "rotate-data-key", "x"])
        assert unknown.exit_code != 0
