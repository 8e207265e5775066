"""Unit tests of the resident's and the operator's decisions on lost pension records
(services/pension/usecases/record_matches.py) over SQLite and the shared fake registry, and
property tests of every parser they (and the portal) use."""

from __future__ import annotations

import re
import string
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from mynumber_core import errors
from mynumber_core.db import Database
from mynumber_core.provider import DeliveredEvent
from services.gateway.usecases import pension_records as portal
from services.pension.models import Enrolment, OrphanCandidate, OrphanRecord, OutboxEvent
from services.pension.usecases import PensionService
from services.pension.usecases import record_matches as rm
from services.pension.usecases.orphans import OrphanInput, OrphanPool, Proposed
from tests.unit.pension.conftest import identity

ID_CHARS = string.ascii_letters + string.digits + "_-"


class Port:
    """A registry that names fixed candidates (what Reconcile would answer)."""

    def __init__(self, found: dict[str, list[Proposed]]) -> None:
        self.found = found
        self.thresholds: list[float] = []

    def reconcile(
        self, records: Sequence[OrphanInput], request_id: str, threshold: float = 0.0
    ) -> dict[str, list[Proposed]]:
        self.thresholds.append(threshold)
        return {r.record_id: list(self.found.get(r.record_id, [])) for r in records}


def _record(record_id: str, months: int = 24) -> OrphanInput:
    return OrphanInput(
        record_id,
        "ヤマダ タロウ",
        "山田 太郎",
        "平成2年5月17日",
        "male",
        "東京都",
        "株式会社テスト",
        "1988-04",
        "1990-03",
        months,
    )


def _decision(token: str, record_id: Any, decision: Any) -> DeliveredEvent:
    return DeliveredEvent(
        token=token,
        event_type=rm.DECISION_EVENT,
        event_id=uuid.uuid4().hex,
        publisher="portal",
        payload={"record_id": record_id, "decision": decision},
    )


def _outbox(db: Database) -> list[tuple[str, str]]:
    with db.transaction() as session:
        return [(o.event_type, o.token) for o in session.scalars(select(OutboxEvent))]


def test_confirm_merges_and_reject_leaves_no_trace(db: Database, service: PensionService) -> None:
    number, _ = service.enrol(identity(), 1, "2024-04-01")
    token = _token_of(db)
    pool = OrphanPool(db, on_proposed=rm.queue_notices)
    port = Port(
        {
            "R1": [Proposed(token, 0.9995, ("surname", "birth_date"))],
            "R2": [Proposed(token, 0.995, ("surname",))],
        }
    )
    pool.add([_record("R1", 24), _record("R2", 12)])
    report = pool.reconcile(port)
    assert port.thresholds == [0.3]
    assert report.several == 0 and report.none == 0
    # Each proposed record: a notice and an inbox document for the candidate.
    assert sorted(_outbox(db)) == sorted([("notice", token), ("inbox.document", token)] * 2)
    before = service.get_record(number).contribution_months
    matches = service.record_matches
    assert [v.record_id for v in matches.candidate_records(token)] == ["R1", "R2"]
    assert matches.candidate_records("someone-else") == []

    with db.transaction() as session:
        matches.on_decision(session, _decision(token, "R1", "confirm"))
    with db.transaction() as session:
        matches.on_decision(session, _decision(token, "R2", "reject"))
    record = service.get_record(number)
    assert record.contribution_months == before + 24
    assert [m.record_id for m in record.merged_records] == ["R1"]
    with db.transaction() as session:
        r2 = session.get(OrphanRecord, "R2")
        assert r2 is not None and r2.status == "pool" and r2.merged_token is None

    # The rejected candidate is not proposed again; nothing new is queued for it.
    queued = len(_outbox(db))
    pool.reconcile(port)
    with db.transaction() as session:
        rows = session.scalars(select(OrphanCandidate).where(OrphanCandidate.record_id == "R2"))
        assert [c.status for c in rows] == ["rejected"]
    assert len(_outbox(db)) == queued

    # A decision on a record that is not waiting (again, or another's) changes nothing.
    with db.transaction() as session:
        matches.on_decision(session, _decision(token, "R1", "reject"))
        matches.on_decision(session, _decision("another-token", "R2", "confirm"))
    assert service.get_record(number).contribution_months == before + 24
    with pytest.raises(errors.InvalidInput), db.transaction() as session:
        matches.on_decision(session, _decision(token, "R1", "maybe"))


def _token_of(db: Database) -> str:
    with db.transaction() as session:
        return str(session.scalars(select(Enrolment.token)).one())


def test_a_close_second_or_the_middle_band_waits_for_an_operator(db: Database) -> None:
    pool = OrphanPool(db, on_proposed=rm.queue_notices)
    pool.add([_record("T1"), _record("T2"), _record("T3")])
    pool.reconcile(
        Port(
            {
                "T1": [Proposed("a", 0.49, ()), Proposed("b", 0.48, ())],
                "T2": [Proposed("c", 0.6, ("surname",))],
                "T3": [Proposed("d", 0.999, ()), Proposed("e", 0.31, ())],
            }
        )
    )
    with db.transaction() as session:
        status = dict(session.execute(select(OrphanRecord.record_id, OrphanRecord.status)).all())
    assert status == {"T1": "review", "T2": "review", "T3": "proposed"}
    assert sorted(t for _, t in _outbox(db)) == ["d", "d"]  # only the likely one is told


@given(st.text(alphabet=ID_CHARS, min_size=1, max_size=32))
def test_record_ids_as_written_are_accepted(value: str) -> None:
    assert rm.parse_record_id(value) == value
    assert portal.parse_record_id(value) == value


@given(st.one_of(st.text(), st.integers(), st.none(), st.lists(st.text())))
def test_anything_else_is_refused_with_the_field_named(value: Any) -> None:
    ok = isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,32}", value) is not None
    for parse in (rm.parse_record_id, portal.parse_record_id):
        if ok:
            assert parse(value) == value
        else:
            with pytest.raises(errors.InvalidInput, match="record_id must be"):
                parse(value)


@given(st.one_of(st.text(), st.none(), st.integers(), st.sampled_from(["confirm", "reject"])))
def test_decisions_are_confirm_or_reject(value: Any) -> None:
    for parse in (rm.parse_decision, portal.parse_decision):
        if value in ("confirm", "reject"):
            assert parse(value) == value
        else:
            with pytest.raises(errors.InvalidInput, match="decision must be"):
                parse(value)


@given(st.dictionaries(st.sampled_from(["record_id", "decision", "other"]), st.text()))
def test_the_signed_fields_are_exactly_the_record_and_the_decision(raw: dict[str, Any]) -> None:
    try:
        fields = portal.decision_fields(raw)
    except errors.InvalidInput:
        return
    assert fields == {"record_id": raw["record_id"], "decision": raw["decision"]}


@given(st.text(max_size=80))
def test_operator_ids(value: str) -> None:
    if re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", value):
        assert rm.parse_operator_id(value) == value
    else:
        with pytest.raises(errors.InvalidInput, match="operator_id must be"):
            rm.parse_operator_id(value)


def test_review_decisions_refuse_bad_input_and_change_nothing(
    db: Database, service: PensionService
) -> None:
    pool = OrphanPool(db, on_proposed=rm.queue_notices)
    pool.add([_record("Q1")])
    pool.reconcile(Port({"Q1": [Proposed("a", 0.5, ()), Proposed("b", 0.45, ())]}))
    matches = service.record_matches
    for args, message in (
        (("Q1", 0, False, "op"), "not neither"),
        (("Q1", 1, True, "op"), "not both"),
        (("Q1", 3, False, "op"), "1 to 2"),
        (("Q9", 0, True, "op"), "not in the review queue"),
        (("Q1", 1, False, "bad op"), "operator_id"),
    ):
        with pytest.raises(errors.DomainError, match=message):
            matches.decide_review(*args)
    assert [i.record_id for i in matches.review_queue()] == ["Q1"]
    assert _outbox(db) == []
    assert matches.decide_review("Q1", 2, False, "op") == "proposed"
    assert sorted(_outbox(db)) == [("inbox.document", "b"), ("notice", "b")]
