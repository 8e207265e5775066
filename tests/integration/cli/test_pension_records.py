"""``mynumber pension records`` against the real portal, registry, municipality and pension
(SQLite and PostgreSQL): the resident lists the records that may be theirs and confirms one
with their card from the terminal; pension merges it. A decision without the card, on a
record that is not theirs, or both at once is refused and changes nothing."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from mynumber.pension.v1 import pension_pb2 as ppb
from mynumber.pension.v1 import pension_pb2_grpc as pgrpc
from sqlalchemy import select

from mynumber_cli.__main__ import cli
from mynumber_core.db import Database
from mynumber_core.japanese import format_era, prefecture_of
from services.pension.models import OrphanRecord
from services.pension.usecases.orphans import OrphanInput, OrphanPool
from tests.integration.gateway.portal_env import PortalEnv
from tests.support.databases import database_factory, postgres_available


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PortalEnv]:
    if request.param == "postgres" and not postgres_available():
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is not reachable; .ci/run starts it")
    var = tmp_path_factory.mktemp(f"cli-records-{request.param}")
    with (
        database_factory(request.param, var) as databases,
        PortalEnv(var, databases, ("municipality", "pension")).running() as running,
    ):
        yield running


def test_list_and_confirm_with_the_card(env: PortalEnv, tmp_path: Path) -> None:
    resident = env.make_resident(enrol=("pension",))
    runner = CliRunner()
    common = ["--var", str(tmp_path)]
    session = tmp_path / "session.json"
    login = runner.invoke(
        cli,
        [
            *common,
            "card",
            "login",
            "--card",
            str(resident.card_path),
            "--pin",
            resident.pin,
            "--portal",
            env.url,
            "--session-file",
            str(session),
        ],
    )
    assert login.exit_code == 0, login.output
    records = [*common, "pension", "records", "--session-file", str(session)]
    assert "No pension records are waiting for you." in runner.invoke(cli, records).output

    record_id = f"CLI{time.time_ns() % 10**9:09d}"
    demo = resident.demo
    db = Database.from_url(env.stack.settings_for("pension").effective_database_url())
    try:
        OrphanPool(db).add(
            [
                OrphanInput(
                    record_id,
                    demo.name_kana,
                    demo.name,
                    format_era(dt.date.fromisoformat(demo.birth_date)),
                    demo.sex,
                    prefecture_of(demo.address),
                    "株式会社端末",
                    "1986-04",
                    "1988-03",
                    24,
                )
            ]
        )
        stub = pgrpc.OrphanRecordsStub(env.stack.channel("pension", as_identity="operator"))
        list(stub.Reconcile(ppb.ReconcileOrphansRequest()))

        deadline = time.monotonic() + 30
        while record_id not in (listed := runner.invoke(cli, records)).output:
            assert time.monotonic() < deadline, listed.output
            time.sleep(0.3)
        assert listed.exit_code == 0, listed.output
        assert (
            f"{record_id}  1986-04 to 1988-03  株式会社端末  24 months  [waiting for your decision]"
        ) in listed.output

        card = ["--card", str(resident.card_path), "--pin", resident.pin, "--yes"]
        for args, why in (
            (["--confirm", record_id], "signed with your card"),
            (["--confirm", record_id, "--reject", record_id, *card], "not both"),
            (["--confirm", "SOMEONE-ELSES", *card], "waiting for your decision"),
            (["--reject", "bad id!", *card], "record_id"),
        ):
            refused = runner.invoke(cli, [*records, *args])
            assert refused.exit_code != 0, (args, refused.output)
            assert why in refused.output, (args, refused.output)
        with db.transaction() as session_:
            row = session_.get(OrphanRecord, record_id)
            assert row is not None and row.status == "proposed"

        confirmed = runner.invoke(cli, [*records, "--confirm", record_id, *card])
        assert confirmed.exit_code == 0, confirmed.output
        assert "[decision sent]" in confirmed.output
        deadline = time.monotonic() + 30
        while True:
            with db.transaction() as session_:
                status = session_.scalars(
                    select(OrphanRecord.status).where(OrphanRecord.record_id == record_id)
                ).one()
            if status == "merged":
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.3)
        assert "[merged into your record]" in runner.invoke(cli, records).output
    finally:
        db.dispose()
