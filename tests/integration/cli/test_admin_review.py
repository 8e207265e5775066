"""``mynumber admin review`` against a real registry and pension (SQLite and PostgreSQL): an
orphan record two residents could have written (same name, birth date, sex and prefecture)
waits in the operator review queue; the operator lists it, assigns one record to a candidate
(who is then notified like a single likely match) and dismisses another (back to the pool,
those candidates not proposed again). Bad decisions are refused and change nothing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner
from mynumber.registry.v1 import registry_pb2 as rpb
from mynumber.registry.v1 import registry_pb2_grpc as rgrpc
from sqlalchemy import select

from mynumber_cli.__main__ import cli
from mynumber_core.db import Database
from mynumber_core.japanese import format_era
from services.pension.models import OrphanCandidate, OrphanRecord, OutboxEvent
from services.pension.usecases.orphans import OrphanInput, OrphanPool
from tests.support.stack import DatabaseFactory, Stack


def _record(record_id: str, name: str, born: dt.date, start: str) -> OrphanInput:
    return OrphanInput(
        record_id,
        "ヤマモト ハナコ",
        name,
        format_era(born),
        "female",
        "大阪府",
        "株式会社レビュー",
        start,
        f"{int(start[:4]) + 1}{start[4:]}",
        12,
    )


def test_the_operator_lists_assigns_and_dismisses(tmp_path: Path, backend: DatabaseFactory) -> None:
    with Stack(tmp_path, ["registry", "pension"], database=backend) as stack:
        registry = rgrpc.RegistryStub(stack.channel("registry", as_identity="municipality"))
        born = dt.date(1958, 6, 14)
        for n, address in enumerate(("大阪府大阪市北区梅田1-1-1", "大阪府堺市堺区南瓦町3-1")):
            registry.RegisterResident(
                rpb.RegisterResidentRequest(
                    facts=rpb.BasicFacts(
                        name="山本 花子",
                        birth_date=born.isoformat(),
                        sex=rpb.SEX_FEMALE,
                        address=address,
                    ),
                    idempotency_key=f"twin-{n}",
                )
            )
        db = Database.from_url(backend("pension"))  # the running pension bound its cipher
        runner = CliRunner()
        (tmp_path / "endpoints.json").write_text(json.dumps(stack.endpoints))
        base = ["--var", str(tmp_path), "admin"]
        try:
            OrphanPool(db).add(
                [
                    _record("RV-1", "山本 花子", born, "1980-04"),
                    _record("RV-2", "山本 花子", born, "1983-04"),
                ]
            )
            done = runner.invoke(cli, [*base, "reconcile"], catch_exceptions=False)
            assert done.exit_code == 0, done.output
            assert "review queue: 2" in done.output

            listed = runner.invoke(cli, [*base, "review"], catch_exceptions=False)
            assert listed.exit_code == 0, listed.output
            assert "RV-1  1980-04 to 1981-04  株式会社レビュー  12 months" in listed.output
            assert "candidate 1: probability" in listed.output
            assert "candidate 2: probability" in listed.output
            assert "山本" not in listed.output and "1958" not in listed.output  # no facts

            def state() -> tuple[dict[str, str], list[tuple[str, str]], int]:
                with db.transaction() as session:
                    records = dict(
                        session.execute(select(OrphanRecord.record_id, OrphanRecord.status)).all()
                    )
                    candidates = [
                        (c.record_id, c.status)
                        for c in session.scalars(
                            select(OrphanCandidate).order_by(
                                OrphanCandidate.record_id, OrphanCandidate.probability.desc()
                            )
                        )
                    ]
                    outbox = len(session.scalars(select(OutboxEvent)).all())
                return records, candidates, outbox

            before = state()
            assert before[0] == {"RV-1": "review", "RV-2": "review"}
            for bad, why in (
                (["RV-1", "--assign", "3"], "assign_to must be a candidate's number, 1 to 2"),
                (["RV-1", "--assign", "1", "--dismiss"], "not both"),
                (["RV-1"], "not both and not neither"),
                (["RV-9", "--dismiss"], "NOT_FOUND"),
                (["bad id!", "--dismiss"], "record_id must be"),
                (["RV-1", "--dismiss", "--operator-id", "x y"], "operator_id must be"),
            ):
                refused = runner.invoke(cli, [*base, "review", *bad])
                assert refused.exit_code != 0, (bad, refused.output)
                assert why in refused.output, (bad, refused.output)
            assert state() == before

            assigned = runner.invoke(
                cli, [*base, "review", "RV-1", "--assign", "2", "--operator-id", "op.tanaka"]
            )
            assert assigned.exit_code == 0, assigned.output
            assert "assigned to candidate 2" in assigned.output
            dismissed = runner.invoke(cli, [*base, "review", "RV-2", "--dismiss"])
            assert dismissed.exit_code == 0, dismissed.output
            records, candidates, outbox = state()
            assert records == {"RV-1": "proposed", "RV-2": "pool"}
            # RV-1: the second candidate is notified (a notice and an inbox document queued).
            assert [s for r, s in candidates if r == "RV-1"] == ["closed", "notified"]
            assert [s for r, s in candidates if r == "RV-2"] == ["dismissed", "dismissed"]
            assert outbox == before[2] + 2
            with db.transaction() as session:
                who = session.scalars(
                    select(OrphanCandidate.decided_by).where(OrphanCandidate.record_id == "RV-1")
                ).all()
            assert set(who) == {"op.tanaka"}

            # A dismissed record's candidates are not proposed again.
            again = runner.invoke(cli, [*base, "reconcile"], catch_exceptions=False)
            assert again.exit_code == 0, again.output
            assert state()[0]["RV-2"] == "pool"
            assert "The review queue is empty." in runner.invoke(cli, [*base, "review"]).output
        finally:
            db.dispose()
