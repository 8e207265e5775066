"""The public-funds receipt account: show, register or change, confirm payouts with the card."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from services.gateway.web.routers.common import (
    PayoutsDep,
    SessionDep,
    StepUpOnlyIn,
    StepUpProofIn,
    to_proof,
)
from services.gateway.web.routers.fields import (
    AccountNumber,
    AccountType,
    BankCode,
    BranchCode,
    HolderKana,
)

router = APIRouter(tags=["payout account"])


class PayoutIn(BaseModel):
    """A public-funds receipt account."""

    bank_code: BankCode
    branch_code: BranchCode
    account_type: AccountType
    account_number: AccountNumber
    holder_kana: HolderKana
    step_up: StepUpProofIn | None = None


class PayoutOut(BaseModel):
    """The registered account (number masked)."""

    registered: bool
    bank_code: str | None = None
    branch_code: str | None = None
    account_type: str | None = None
    account_number: str | None = None
    holder_kana: str | None = None
    changed_at: str | None = None
    cooling_off_until: str | None = None
    confirmed_with_card: bool = False
    confirmed_at: str | None = None
    shared_with_others: bool = False


@router.get("/payout-account", response_model=PayoutOut)
def payout(sess: SessionDep, payouts: PayoutsDep) -> PayoutOut:
    """Your public-funds receipt account (number masked)."""
    view = payouts.payout_account(sess)
    return PayoutOut(registered=False) if view is None else PayoutOut(registered=True, **view)


@router.put("/payout-account", response_model=PayoutOut)
def set_payout(body: PayoutIn, sess: SessionDep, payouts: PayoutsDep) -> PayoutOut:
    """Register or change it (holder-name check, step-up needed)."""
    view = payouts.set_payout_account(
        sess, body.model_dump(exclude={"step_up"}), to_proof(body.step_up)
    )
    return PayoutOut(registered=True, **view)


@router.post("/payout-account/confirm", response_model=PayoutOut)
def confirm_payout(body: StepUpOnlyIn, sess: SessionDep, payouts: PayoutsDep) -> PayoutOut:
    """Confirm payouts to your account with your card: held refunds and pension payments
    are released (step-up ``confirm_payout``)."""
    view = payouts.confirm_payout(sess, to_proof(body.step_up))
    return PayoutOut(registered=True, **view)
