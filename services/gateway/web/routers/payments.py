"""Amounts due at the tax office and the pension service, and paying them."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Response
from pydantic import BaseModel

from services.gateway.models import Payment
from services.gateway.web.routers.common import PaymentsDep, SessionDep, StepUpProofIn, to_proof
from services.gateway.web.routers.fields import AgencyToPay, IdempotencyKey, ItemId, Yen

router = APIRouter(tags=["payments"])


class DueItemOut(BaseModel):
    """An amount due."""

    agency: str
    item_id: str
    amount: int
    description: str = ""
    due_date: str = ""
    fiscal_year: int | None = None


class DueOut(BaseModel):
    """Amounts due at every agency."""

    items: list[DueItemOut]
    total: int


class PaymentIn(BaseModel):
    """Pay one amount due (header Idempotency-Key required)."""

    agency: AgencyToPay
    item_id: ItemId
    amount: Yen
    step_up: StepUpProofIn | None = None


class PaymentOut(BaseModel):
    """A payment."""

    id: str
    agency: str
    item_id: str
    amount: int
    paid_at: dt.datetime


class PaymentsOut(BaseModel):
    """The resident's payments."""

    payments: list[PaymentOut]


def payment_out(row: Payment) -> PaymentOut:
    """A payment as the API shows it."""
    return PaymentOut(
        id=row.id, agency=row.agency, item_id=row.item_id, amount=row.amount, paid_at=row.paid_at
    )


@router.get("/payments/due", response_model=DueOut)
def due(sess: SessionDep, payments: PaymentsDep) -> DueOut:
    """Amounts due at the tax office and the pension service."""
    items = [
        DueItemOut(
            agency=d["agency"],
            item_id=str(d.get("item_id", "")),
            amount=d["amount"],
            description=str(d.get("description", "")),
            due_date=str(d.get("due_date", "")),
            fiscal_year=d.get("fiscal_year") if isinstance(d.get("fiscal_year"), int) else None,
        )
        for d in payments.amounts_due(sess)
    ]
    return DueOut(items=items, total=sum(i.amount for i in items))


@router.get("/payments", response_model=PaymentsOut)
def payments(sess: SessionDep, payments: PaymentsDep) -> PaymentsOut:
    """Your payments."""
    return PaymentsOut(payments=[payment_out(p) for p in payments.payments(sess)])


@router.post("/payments", response_model=PaymentOut, status_code=201)
def pay(
    body: PaymentIn,
    sess: SessionDep,
    response: Response,
    payments: PaymentsDep,
    idempotency_key: IdempotencyKey,
) -> PaymentOut:
    """Pay an amount due (step-up needed); retry with the same Idempotency-Key."""
    row, created = payments.pay(
        sess, idempotency_key, body.model_dump(exclude={"step_up"}), to_proof(body.step_up)
    )
    if not created:
        response.status_code = 200
    return payment_out(row)
