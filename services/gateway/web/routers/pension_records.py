"""Pension records that may be yours (issue 13 item 3): list them, and confirm or reject one
with a card step-up (``pension_record_decision``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.gateway.usecases.pension_records import PensionRecords
from services.gateway.web.routers.common import (
    PortalDep,
    SessionDep,
    StepUpProofIn,
    to_proof,
)

router = APIRouter(tags=["pension records"])

RecordId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9_-]{1,32}$",
        description="the record number the notice shows (1-32 letters, digits, '_' or '-')",
    ),
]
Decision = Literal["confirm", "reject"]


def _records(portal: PortalDep) -> PensionRecords:
    return PensionRecords(portal.ctx, portal.auth)


RecordsDep = Annotated[PensionRecords, Depends(_records)]


class CandidateRecordOut(BaseModel):
    """A pension record that may be yours: only its period, employer and months."""

    record_id: str
    period_start: str = Field(description="YYYY-MM")
    period_end: str = Field(description="YYYY-MM")
    employer: str = Field(description="the employer or municipality it was recorded at")
    months: int = Field(description="months paid")
    status: str = Field(
        description="notified (waiting for your decision), confirmed, rejected, or "
        "decision_sent (just now)"
    )


class CandidateRecordsOut(BaseModel):
    """Your candidate pension records."""

    records: list[CandidateRecordOut]


class DecisionIn(BaseModel):
    """Your decision on one record, approved with your card (step-up
    ``pension_record_decision`` over exactly ``record_id`` and ``decision``)."""

    record_id: RecordId
    decision: Decision
    step_up: StepUpProofIn | None = None


@router.get("/pension/records", response_model=CandidateRecordsOut)
def pension_records(sess: SessionDep, records: RecordsDep) -> CandidateRecordsOut:
    """Pension records that may be yours (asked of pension through the hub: on your log)."""
    return CandidateRecordsOut(records=[CandidateRecordOut(**r) for r in records.records(sess)])


@router.post("/pension/records/decision", response_model=CandidateRecordOut, status_code=202)
def decide_pension_record(
    body: DecisionIn, sess: SessionDep, records: RecordsDep
) -> CandidateRecordOut:
    """Confirm (it is yours: pension merges it) or reject (it is not: it goes back to
    pension's pool) one record waiting for your decision; the outcome comes to your inbox.
    Another resident's record, or one not waiting, is 404."""
    shown = records.decide(sess, body.model_dump(exclude={"step_up"}), to_proof(body.step_up))
    return CandidateRecordOut(
        **{k: shown[k] for k in CandidateRecordOut.model_fields if k in shown}
    )
