"""Step-up: ask to approve one sensitive action with exactly its values, and poll whether the
approval code was approved with the card."""

from __future__ import annotations

import base64
import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, create_model

from services.gateway import domain
from services.gateway.web.routers.common import AuthDep, SessionDep
from services.gateway.web.routers.fields import (
    AccountNumber,
    AccountType,
    Address,
    AgencyToPay,
    BankCode,
    BranchCode,
    ExemptionYear,
    HolderKana,
    Id,
    ItemId,
    LockName,
    MoveOutDate,
    PathId,
    ReissueReason,
    Yen,
)
from services.gateway.web.routers.login import requester_of
from services.gateway.web.routers.pension_records import Decision, RecordId

router = APIRouter(tags=["step-up"])


class PayoutFields(BaseModel):
    """The account a ``change_payout_account`` approval covers."""

    bank_code: BankCode
    branch_code: BranchCode
    account_type: AccountType
    account_number: AccountNumber
    holder_kana: HolderKana


class PaymentFields(BaseModel):
    """The payment a ``make_payment`` approval covers."""

    agency: AgencyToPay
    item_id: ItemId
    amount: Yen


class ExemptionFields(BaseModel):
    """The fiscal year an ``apply_pension_exemption`` approval covers."""

    fiscal_year: ExemptionYear


class MoveOutFields(BaseModel):
    """The move an ``apply_move_out`` approval covers."""

    destination_address: Address
    planned_date: MoveOutDate


class LocksFields(BaseModel):
    """The locks a ``set_locks`` approval sets."""

    locks: list[LockName]


class ReissueFields(BaseModel):
    """Why a ``reissue_number`` approval asks for a new number."""

    reason: ReissueReason


class GrantFields(BaseModel):
    """The business a ``grant_business`` approval allows."""

    business_id: Id


class PasskeyFields(BaseModel):
    """The passkey registration a ``register_passkey`` approval covers: its WebAuthn
    challenge (the ``approve`` fields of ``POST /api/passkeys/register/options``)."""

    challenge: str = Field(pattern=r"^[A-Za-z0-9_-]{16,100}$", description="base64url")


class PensionRecordDecisionFields(BaseModel):
    """The record and the decision a ``pension_record_decision`` approval covers."""

    record_id: RecordId
    decision: Decision


class NoFields(BaseModel):
    """Actions whose signed values the server fills in (the registered account, the year,
    the claim type): send an empty object."""


class StepUpBase(BaseModel):
    """What every step-up request has: the action and the values it will carry."""

    action: str
    fields: BaseModel


def _step_up(action: str, fields: type[BaseModel]) -> type[StepUpBase]:
    literal: Any = Literal[action]
    model: type[StepUpBase] = create_model(
        f"StepUp_{action}",
        __base__=StepUpBase,
        __doc__=f"Approve ``{action}`` with exactly these values.",
        action=(literal, ...),
        fields=(fields, Field(description="the same values the action's request will carry")),
    )
    return model


_FIELDS: dict[str, type[BaseModel]] = {
    "change_payout_account": PayoutFields,
    "make_payment": PaymentFields,
    "apply_pension_exemption": ExemptionFields,
    "apply_move_out": MoveOutFields,
    "set_locks": LocksFields,
    "grant_business": GrantFields,
    "reissue_number": ReissueFields,
    "register_passkey": PasskeyFields,
    "pension_record_decision": PensionRecordDecisionFields,
}
if TYPE_CHECKING:
    StepUpIn = StepUpBase
else:
    # Ask to approve one sensitive action with exactly the values its request will carry;
    # the schema of ``fields`` follows ``action``.
    StepUpIn = Annotated[
        Union[tuple(_step_up(a, _FIELDS.get(a, NoFields)) for a in domain.ACTIONS)],  # noqa: UP007
        Field(discriminator="action"),
    ]


class StepUpOut(BaseModel):
    """A step-up challenge: sign ``message_b64`` or approve ``code`` with the CLI."""

    challenge_id: str
    code: str
    nonce: str
    action: str
    fields: dict[str, str]
    message_b64: str
    expires_at: dt.datetime
    match_number: str = Field(description="the number to type when approving ``code``")


class StepUpStatusOut(BaseModel):
    """pending, approved, used or expired."""

    status: str


@router.post("/step-up", response_model=StepUpOut)
def step_up(body: StepUpIn, request: Request, sess: SessionDep, auth: AuthDep) -> StepUpOut:
    """Ask to approve one sensitive action with exactly these values."""
    c = auth.start_step_up(
        sess, body.action, body.fields.model_dump(mode="json"), requester_of(request)
    )
    assert c.code and c.action and c.match_number
    return StepUpOut(
        challenge_id=c.challenge_id,
        code=c.code,
        nonce=c.nonce,
        action=c.action,
        fields=c.fields,
        message_b64=base64.b64encode(c.message()).decode(),
        expires_at=c.expires_at,
        match_number=c.match_number,
    )


@router.get("/step-up/{challenge_id}", response_model=StepUpStatusOut)
def step_up_status(challenge_id: PathId, sess: SessionDep, auth: AuthDep) -> StepUpStatusOut:
    """Whether your approval code was approved yet."""
    return StepUpStatusOut(status=auth.step_up_status(sess, challenge_id))
