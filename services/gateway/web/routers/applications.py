"""Online applications: pension contribution exemption, old-age pension claim, move-out."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.gateway.models import Application
from services.gateway.web.routers.common import (
    ApplicationsDep,
    SessionDep,
    StepUpProofIn,
    to_proof,
)
from services.gateway.web.routers.fields import Address, ClaimPin, ExemptionYear, MoveOutDate

router = APIRouter(tags=["applications"])


class PensionClaimIn(BaseModel):
    """Claim the old-age basic pension (card step-up ``pension_claim``)."""

    pin: ClaimPin | None = Field(
        None, description="this year's claim PIN when protect_claims is on"
    )
    step_up: StepUpProofIn | None = None


class ExemptionIn(BaseModel):
    """Apply for exemption from national pension contributions."""

    fiscal_year: ExemptionYear
    step_up: StepUpProofIn | None = None


class MoveOutIn(BaseModel):
    """Online move-out notice."""

    destination_address: Address
    planned_date: MoveOutDate
    step_up: StepUpProofIn | None = None


class ApplicationOut(BaseModel):
    """An application."""

    id: str
    kind: str
    agency: str
    details: dict[str, Any]
    submitted_at: dt.datetime


class ApplicationsOut(BaseModel):
    """The resident's applications."""

    applications: list[ApplicationOut]


def application_out(row: Application) -> ApplicationOut:
    """An application as the API shows it."""
    return ApplicationOut(
        id=row.id,
        kind=row.kind,
        agency=row.agency,
        details=json.loads(row.details),
        submitted_at=row.submitted_at,
    )


@router.get("/applications", response_model=ApplicationsOut)
def applications(sess: SessionDep, applications: ApplicationsDep) -> ApplicationsOut:
    """Your applications."""
    return ApplicationsOut(
        applications=[application_out(a) for a in applications.applications(sess)]
    )


@router.post("/applications/pension-exemption", response_model=ApplicationOut, status_code=201)
def apply_exemption(
    body: ExemptionIn, sess: SessionDep, applications: ApplicationsDep
) -> ApplicationOut:
    """Apply for exemption from pension contributions; the decision comes to the inbox."""
    row = applications.apply_pension_exemption(
        sess, body.model_dump(exclude={"step_up"}), to_proof(body.step_up)
    )
    return application_out(row)


@router.post("/applications/pension-claim", response_model=ApplicationOut, status_code=201)
def apply_pension_claim(
    body: PensionClaimIn, sess: SessionDep, applications: ApplicationsDep
) -> ApplicationOut:
    """Claim the old-age basic pension (step-up ``pension_claim``; the claim PIN too while
    protect_claims is on); the decision comes to the inbox."""
    row = applications.apply_pension_claim(
        sess, body.model_dump(exclude={"step_up"}), to_proof(body.step_up)
    )
    return application_out(row)


@router.post("/applications/move-out", response_model=ApplicationOut, status_code=201)
def apply_move_out(
    body: MoveOutIn, sess: SessionDep, applications: ApplicationsDep
) -> ApplicationOut:
    """Give the move-out notice online (step-up needed)."""
    row = applications.apply_move_out(
        sess, body.model_dump(mode="json", exclude={"step_up"}), to_proof(body.step_up)
    )
    return application_out(row)
