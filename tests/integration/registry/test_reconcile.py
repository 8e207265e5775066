"""Reconcile through a real registry (SQLite and PostgreSQL): pension sends orphan records as
written, the registry answers pension's own tokens or "notify the resident" references,
records every candidate in the exchange log first, never sends a candidate's facts, and
refuses other callers and bad batches with a clear error and nothing recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from mynumber.registry.v1 import reconcile_pb2 as rpb
from mynumber.registry.v1 import reconcile_pb2_grpc as rpb_grpc
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from sqlalchemy import text

from mynumber_core.japanese import format_era, to_era
from services.registry.exchange_log import leaf_fields
from tests.integration.registry.conftest import RegistryEnv, Resident, new_facts

PROCEDURE = "pension.record_reconciliation"
RECONCILE_DEADLINE = 60.0
"""A registry's first Reconcile imports Splink and DuckDB: seconds on a loaded machine, more
than the channels' 5 s default (pension's own port allows 120 s)."""


def _stub(env: RegistryEnv, identity: str) -> rpb_grpc.ReconciliationStub:
    return rpb_grpc.ReconciliationStub(env.channel(as_identity=identity))


def _error(call: Callable[[], Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def _leaves(env: RegistryEnv, start: int) -> list[dict[str, Any]]:
    with env.engine.connect() as conn:
        rows = conn.execute(
            text('SELECT "index", leaf FROM log_entries WHERE "index" >= :s ORDER BY "index"'),
            {"s": start},
        ).all()
    return [{**leaf_fields(bytes(leaf)), "index": index} for index, leaf in rows]


def _sex(facts: pb.BasicFacts) -> str:
    return "female" if facts.sex == pb.SEX_FEMALE else "male"


def _record(
    record_id: str, r: Resident, written: str, prefecture: str = ""
) -> rpb.OrphanRecordFacts:
    return rpb.OrphanRecordFacts(
        record_id=record_id,
        name_kana="ヤマダ タロウ",  # these residents were registered without a reading
        name_kanji=r.facts.name,
        birth_date_written=written,
        sex=_sex(r.facts),
        prefecture=prefecture,
    )


def _adult(facts: pb.BasicFacts, year: int) -> pb.BasicFacts:
    born = dt.date.fromisoformat(facts.birth_date)
    facts.birth_date = born.replace(year=year, day=min(born.day, 28)).isoformat()
    return facts


def test_candidates_are_pensions_tokens_or_notify_references(env: RegistryEnv) -> None:
    crowd = [env.register() for _ in range(30)]
    linked = env.link(env.register(_adult(new_facts(), 1961)), "pension")
    unlinked = env.register(_adult(new_facts(), 1958))
    born_unlinked = dt.date.fromisoformat(unlinked.facts.birth_date)
    era, year = to_era(born_unlinked)
    assert era == "昭和"
    slipped = f"平成{year}年{born_unlinked.month}月{born_unlinked.day}日"  # an era slip
    size_before = env.log_size()
    response = _stub(env, "pension").Reconcile(
        rpb.ReconcileRequest(
            request_id="rec-1",
            records=[
                _record("OR1", linked, format_era(dt.date.fromisoformat(linked.facts.birth_date))),
                _record("OR2", unlinked, slipped),
                rpb.OrphanRecordFacts(
                    record_id="OR3",
                    name_kana="ズンダ モチコ",
                    name_kanji="寿舞 餅子",
                    birth_date_written="大正3年1月1日",
                    sex="female",
                ),
            ],
        ),
        timeout=RECONCILE_DEADLINE,
    )
    by_id = {r.record_id: list(r.candidates) for r in response.results}
    assert [r.record_id for r in response.results] == ["OR1", "OR2", "OR3"]
    assert response.threshold == pytest.approx(0.99)

    [first] = by_id["OR1"]
    assert first.token == linked.tokens["pension"]
    assert first.match_probability >= 0.99
    assert {"name_kanji", "birth_date", "sex"} <= set(first.agreeing)

    [second] = by_id["OR2"]
    assert second.WhichOneof("ref") == "notify_reference"
    assert second.notify_reference not in {t for r in crowd for t in r.tokens.values()}
    assert "birth_date~" in second.agreeing

    assert by_id["OR3"] == []

    rows = _leaves(env, size_before)
    assert len(rows) == 2 == env.log_size() - size_before
    assert {r["procedure"] for r in rows} == {PROCEDURE}
    assert {(r["requester"], r["provider"], r["item"], r["outcome"]) for r in rows} == {
        ("pension", "municipality", "basic_facts", "provided")
    }
    assert sorted(c.log_index for c in (first, second)) == sorted(r["index"] for r in rows)

    # Privacy: nothing pension receives names anyone's facts.
    sent = response.SerializeToString()
    for r in [*crowd, linked, unlinked]:
        born = dt.date.fromisoformat(r.facts.birth_date)
        for fact in (r.facts.name, r.facts.address, r.facts.birth_date, format_era(born)):
            assert fact.encode() not in sent


def test_the_reading_given_at_registration_finds_kana_only_records(env: RegistryEnv) -> None:
    """Ledgers often wrote only the kana. The registry keeps the reading the municipality
    gives (BasicFacts.name_kana, never compared by Link), and a kana-only record finds its
    writer through it, also after a move that did not restate it; without a reading on file
    the same kind of record finds nobody."""
    for _ in range(30):
        env.register()
    with_reading = _adult(new_facts(), 1957)
    with_reading.name_kana = "サトウ ハナコ"
    with_reading.sex = pb.SEX_FEMALE
    known = env.link(env.register(with_reading), "pension")
    without = _adult(new_facts(), 1962)
    without.sex = pb.SEX_FEMALE
    unknown = env.register(without)

    def kana_only(record_id: str, r: Resident, kana: str) -> rpb.OrphanRecordFacts:
        return rpb.OrphanRecordFacts(
            record_id=record_id,
            name_kana=kana,
            birth_date_written=format_era(dt.date.fromisoformat(r.facts.birth_date)),
            sex="female",
        )

    def candidates(request_id: str, *records: rpb.OrphanRecordFacts) -> dict[str, list[Any]]:
        response = _stub(env, "pension").Reconcile(
            rpb.ReconcileRequest(request_id=request_id, records=records),
            timeout=RECONCILE_DEADLINE,
        )
        return {r.record_id: list(r.candidates) for r in response.results}

    found = candidates(
        "rec-kana-1",
        kana_only("K1", known, "サトー ハナコ"),  # a long-vowel variant of the reading
        kana_only("K2", unknown, "スズキ ミドリ"),
    )
    [best] = found["K1"]
    assert best.token == known.tokens["pension"]
    assert best.match_probability >= 0.99
    assert "name_kanji" not in best.agreeing
    assert found["K2"] == []

    # A move restates the four facts only; the reading on file stays.
    moved = pb.BasicFacts()
    moved.CopyFrom(known.facts)
    moved.name_kana = ""
    moved.address = "静岡県静岡市葵区追手町9-6"
    pb_grpc.RegistryStub(env.channel(as_identity="municipality")).UpdateFacts(
        pb.UpdateFactsRequest(token=known.tokens["municipality"], facts=moved)
    )
    [again] = candidates("rec-kana-2", kana_only("K3", known, "サトウ ハナコ"))["K3"]
    assert again.token == known.tokens["pension"]


def test_a_resident_who_locked_exchanges_is_never_compared(env: RegistryEnv) -> None:
    """``block_exchanges`` keeps a resident's facts out of reconciliation: no candidate, no
    log entry; after unlocking, the same record finds them."""
    for _ in range(20):
        env.register()
    locked = env.link(env.register(_adult(new_facts(), 1955)), "pension", "portal")
    portal = env.registry("gateway")
    portal.SetLocks(pb.SetLocksRequest(token=locked.tokens["portal"], locks=["block_exchanges"]))
    record = _record("LK1", locked, format_era(dt.date.fromisoformat(locked.facts.birth_date)))
    size_before = env.log_size()

    def reconcile(request_id: str) -> list[Any]:
        response = _stub(env, "pension").Reconcile(
            rpb.ReconcileRequest(request_id=request_id, records=[record]),
            timeout=RECONCILE_DEADLINE,
        )
        return list(response.results[0].candidates)

    assert reconcile("rec-lock-1") == []
    assert env.log_size() == size_before

    portal.SetLocks(pb.SetLocksRequest(token=locked.tokens["portal"], locks=[]))
    [found] = reconcile("rec-lock-2")
    assert found.token == locked.tokens["pension"]


def test_only_pension_reconciles(env: RegistryEnv) -> None:
    request = rpb.ReconcileRequest(
        request_id="rec-2",
        records=[
            rpb.OrphanRecordFacts(
                record_id="A", name_kana="ア イ", birth_date_written="昭和1年1月1日", sex="male"
            )
        ],
    )
    before = env.log_size()
    for identity in ("tax", "gateway", "municipality"):
        stub = _stub(env, identity)
        err = _error(lambda: stub.Reconcile(request))  # noqa: B023 - called at once
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert env.log_size() == before


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([], "records is empty"),
        (
            [rpb.OrphanRecordFacts(record_id="", name_kana="ア イ", sex="male")],
            "records[0].record_id",
        ),
        (
            [
                rpb.OrphanRecordFacts(record_id="A", name_kana="ア イ", sex="male"),
                rpb.OrphanRecordFacts(record_id="A", name_kana="ア イ", sex="male"),
            ],
            "records[1].record_id repeats",
        ),
        ([rpb.OrphanRecordFacts(record_id="A", name_kana="ア イ", sex="other")], "records[0].sex"),
        ([rpb.OrphanRecordFacts(record_id="A", name_kana=" ", sex="male")], "records[0].name_kana"),
    ],
)
def test_bad_batches_are_refused_and_change_nothing(
    env: RegistryEnv, records: list[rpb.OrphanRecordFacts], message: str
) -> None:
    before = env.log_size()
    err = _error(
        lambda: _stub(env, "pension").Reconcile(
            rpb.ReconcileRequest(request_id="rec-3", records=records)
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (err.details() or "")
    assert env.log_size() == before
