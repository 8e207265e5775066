"""Locks, the claim PIN for refunds and claims while protect_claims is on, and the reissue of
a leaked My Number (all under the ``locks`` tag)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.gateway import domain
from services.gateway.web.routers.common import (
    LocksDep,
    NumberDep,
    SessionDep,
    StepUpOnlyIn,
    StepUpProofIn,
    to_proof,
)
from services.gateway.web.routers.fields import LockName, ReissueReason

router = APIRouter(tags=["locks"])


class ClaimPinOut(BaseModel):
    """This year's claim PIN: shown once, never stored by the portal."""

    pin: str = Field(description="6 digits; write it down — it cannot be shown again")
    year: int


class ReissueIn(BaseModel):
    """Ask for a new My Number (the old one leaked or is misused)."""

    reason: ReissueReason
    step_up: StepUpProofIn | None = None


class ReissueOut(BaseModel):
    """The new number, shown once (it is not kept by the portal)."""

    my_number: str


class LocksIn(BaseModel):
    """The complete set of locks to have on."""

    locks: list[LockName]
    step_up: StepUpProofIn | None = None


class LocksOut(BaseModel):
    """The locks now on."""

    locks: list[str]
    available: list[str]


@router.post("/claim-pin", response_model=ClaimPinOut, status_code=201)
def claim_pin(body: StepUpOnlyIn, sess: SessionDep, number: NumberDep) -> ClaimPinOut:
    """Issue this year's claim PIN (needed for refunds and claims while protect_claims is
    on); shown once (step-up ``issue_claim_pin``)."""
    pin, year = number.issue_claim_pin(sess, to_proof(body.step_up))
    return ClaimPinOut(pin=pin, year=year)


@router.post("/number/reissue", response_model=ReissueOut, status_code=201)
def reissue(body: ReissueIn, sess: SessionDep, number: NumberDep) -> ReissueOut:
    """Get a new My Number when yours leaked; shown once (step-up ``reissue_number``)."""
    new_number = number.reissue_number(
        sess, body.model_dump(exclude={"step_up"}), to_proof(body.step_up)
    )
    return ReissueOut(my_number=new_number)


@router.get("/locks", response_model=LocksOut)
def locks(sess: SessionDep, locks: LocksDep) -> LocksOut:
    """Your locks."""
    return LocksOut(locks=locks.locks(sess), available=list(domain.LOCKS))


@router.put("/locks", response_model=LocksOut)
def set_locks(body: LocksIn, sess: SessionDep, locks: LocksDep) -> LocksOut:
    """Set the complete set of locks (step-up needed); the registry enforces them."""
    return LocksOut(
        locks=locks.set_locks(sess, body.locks, to_proof(body.step_up)),
        available=list(domain.LOCKS),
    )
