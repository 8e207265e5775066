"""Filing old ledger records in pension's orphan pool: ``OrphanRecords.AddRecords`` and
``mynumber admin import-orphans`` against a real registry and pension (SQLite and PostgreSQL).

An import files every valid record once (a re-run files nothing twice); one invalid record
files none of its call and the error names its position and field, never its value; only the
operator may file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner
from google.protobuf import json_format
from mynumber.pension.v1 import pension_pb2 as pb
from mynumber.pension.v1 import pension_pb2_grpc as pb_grpc
from sqlalchemy import func, select

from mynumber_cli.__main__ import cli
from mynumber_core.db import Database
from services.pension.models import OrphanRecord
from tests.support.stack import DatabaseFactory, Stack


def _entry(record_id: str, **changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "record_id": record_id,
        "name_kana": "ヤマダ ハナコ",
        "name_kanji": "山田 花子",
        "birth_date_written": "昭和23年5月14日",
        "sex": "female",
        "prefecture": "静岡県",
        "employer": "株式会社帳簿",
        "period_start": "1970-04",
        "period_end": "1973-03",
        "months": 36,
    }
    fields.update(changes)
    return fields


def _message(record_id: str, **changes: object) -> pb.OrphanRecordEntry:
    return json_format.ParseDict(_entry(record_id, **changes), pb.OrphanRecordEntry())


def _filed(db: Database) -> dict[str, str]:
    with db.transaction() as session:
        return dict(session.execute(select(OrphanRecord.record_id, OrphanRecord.status)).all())


@pytest.fixture
def stack(tmp_path: Path, backend: DatabaseFactory) -> Iterator[Stack]:
    with Stack(tmp_path, ["registry", "pension"], database=backend) as s:
        yield s


def test_add_records_files_once_and_all_or_nothing(stack: Stack, backend: DatabaseFactory) -> None:
    stub = pb_grpc.OrphanRecordsStub(stack.channel("pension", as_identity="operator"))
    db = Database.from_url(backend("pension"))  # the running pension bound its cipher
    try:
        first = stub.AddRecords(
            pb.AddOrphanRecordsRequest(records=[_message(f"L-{i}") for i in range(3)])
        )
        assert (first.added, first.already_filed) == (3, 0)
        again = stub.AddRecords(
            pb.AddOrphanRecordsRequest(records=[_message(f"L-{i}") for i in range(4)])
        )
        assert (again.added, again.already_filed) == (1, 3)
        assert _filed(db) == {f"L-{i}": "pool" for i in range(4)}

        # One bad record (months beyond its period) in the middle: nothing of the call is filed.
        with pytest.raises(grpc.RpcError) as bad:
            stub.AddRecords(
                pb.AddOrphanRecordsRequest(
                    records=[
                        _message("M-1"),
                        _message("M-2", months=37),
                    ]
                )
            )
        assert bad.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "records[1].months" in (bad.value.details() or "")
        assert "ヤマダ" not in (bad.value.details() or "")
        with pytest.raises(grpc.RpcError) as empty:
            stub.AddRecords(pb.AddOrphanRecordsRequest())
        assert empty.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert set(_filed(db)) == {f"L-{i}" for i in range(4)}

        # Only the operator files records.
        other = pb_grpc.OrphanRecordsStub(stack.channel("pension", as_identity="tax"))
        with pytest.raises(grpc.RpcError) as denied:
            other.AddRecords(pb.AddOrphanRecordsRequest(records=[_message("X")]))
        assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
        with db.transaction() as session:
            assert session.scalar(select(func.count()).select_from(OrphanRecord)) == 4
    finally:
        db.dispose()


def test_cli_import_orphans_reports_and_refuses_a_bad_line(
    stack: Stack, backend: DatabaseFactory, tmp_path: Path
) -> None:
    (tmp_path / "endpoints.json").write_text(json.dumps(stack.endpoints))
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text(
        "\n".join(json.dumps(_entry(f"C-{i}"), ensure_ascii=False) for i in range(3)) + "\n\n",
        encoding="utf-8",
    )
    run = CliRunner()
    result = run.invoke(cli, ["--var", str(tmp_path), "admin", "import-orphans", str(ledger)])
    assert result.exit_code == 0, result.output
    assert "filed 3 records; 0 were already in the pool" in result.output
    result = run.invoke(cli, ["--var", str(tmp_path), "admin", "import-orphans", str(ledger)])
    assert "filed 0 records; 3 were already in the pool" in result.output

    broken = tmp_path / "broken.jsonl"
    broken.write_text(
        json.dumps(_entry("D-1"), ensure_ascii=False) + '\n{"record_id": "D-2", "salary": 1}\n',
        encoding="utf-8",
    )
    result = run.invoke(cli, ["--var", str(tmp_path), "admin", "import-orphans", str(broken)])
    assert result.exit_code == 1
    assert "line 2:" in result.output and "salary" in result.output

    invalid = tmp_path / "invalid.jsonl"
    invalid.write_text(json.dumps(_entry("E-1", sex="x"), ensure_ascii=False) + "\n")
    result = run.invoke(cli, ["--var", str(tmp_path), "admin", "import-orphans", str(invalid)])
    assert result.exit_code == 1
    assert "INVALID_ARGUMENT" in result.output and "records[0].sex" in result.output

    db = Database.from_url(backend("pension"))
    try:
        assert set(_filed(db)) == {"C-0", "C-1", "C-2"}
    finally:
        db.dispose()
