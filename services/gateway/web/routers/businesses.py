"""Registered businesses: the resident's delivery grants, and a business's delivery to the
inbox of a resident who granted it (API key plus the resident's delivery token)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.models import BusinessGrant
from services.gateway.web.routers.common import (
    BusinessesDep,
    SessionDep,
    StepUpProofIn,
    to_proof,
)
from services.gateway.web.routers.fields import Body, DeliveryToken, Id, PathId, Reference, Title

router = APIRouter(tags=["business"])


class BusinessOut(BaseModel):
    """A registered business."""

    id: str
    name: str


class BusinessesOut(BaseModel):
    """Registered businesses."""

    businesses: list[BusinessOut]


class GrantIn(BaseModel):
    """Let one business deliver to your inbox."""

    business_id: Id
    step_up: StepUpProofIn | None = None


class GrantOut(BaseModel):
    """A delivery grant."""

    id: str
    business_id: str
    business_name: str
    created_at: dt.datetime
    revoked: bool
    deliveries: int
    delivery_token: str | None = Field(None, description="shown once, when the grant is made")


class GrantsOut(BaseModel):
    """The resident's grants."""

    grants: list[GrantOut]


class BusinessDeliveryIn(BaseModel):
    """A document a registered business delivers (header X-API-Key required)."""

    delivery_token: DeliveryToken
    reference: Reference
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["title"]},
                {"required": ["title_ja"]},
                {"required": ["title_en"]},
            ]
        }
    )

    title: Title | None = None
    title_ja: Title | None = None
    title_en: Title | None = None
    body: Body | None = None
    body_ja: Body | None = None
    body_en: Body | None = None


class BusinessDeliveryOut(BaseModel):
    """The delivered document's id."""

    document_id: str
    created: bool


def grant_out(row: BusinessGrant, name: str, token: str | None = None) -> GrantOut:
    """A grant with its business's name (and the delivery token when just made)."""
    return GrantOut(
        id=row.id,
        business_id=row.business_id,
        business_name=name,
        created_at=row.created_at,
        revoked=row.revoked_at is not None,
        deliveries=row.deliveries,
        delivery_token=token,
    )


@router.post("/business/inbox", response_model=BusinessDeliveryOut, status_code=201)
def business_deliver(
    body: BusinessDeliveryIn,
    response: Response,
    businesses: BusinessesDep,
    x_api_key: Annotated[str | None, Header()] = None,
) -> BusinessDeliveryOut:
    """A registered business delivers a document to a resident who granted it delivery.

    The resident is addressed by the **delivery token** they gave the business (made on
    the resident's "business delivery" page), never by a My Number or a portal token.
    """
    document_id, created = businesses.business_deliver(
        x_api_key, body.delivery_token, body.model_dump(exclude={"delivery_token"})
    )
    if not created:
        response.status_code = 200
    return BusinessDeliveryOut(document_id=document_id, created=created)


@router.get("/businesses", response_model=BusinessesOut)
def businesses(sess: SessionDep, businesses: BusinessesDep) -> BusinessesOut:
    """Registered businesses you may allow to deliver to your inbox."""
    return BusinessesOut(
        businesses=[BusinessOut(id=b.id, name=b.name) for b in businesses.businesses()]
    )


@router.get("/business-grants", response_model=GrantsOut)
def grants(sess: SessionDep, businesses: BusinessesDep) -> GrantsOut:
    """The businesses you allowed."""
    return GrantsOut(grants=[grant_out(g, n) for g, n in businesses.grants(sess)])


@router.post("/business-grants", response_model=GrantOut, status_code=201)
def grant(body: GrantIn, sess: SessionDep, businesses: BusinessesDep) -> GrantOut:
    """Allow a business to deliver; the delivery token is shown once (step-up needed)."""
    row, token = businesses.grant_business(sess, body.business_id, to_proof(body.step_up))
    names = {b.id: b.name for b in businesses.businesses()}
    return grant_out(row, names.get(row.business_id, ""), token)


@router.delete("/business-grants/{grant_id}", response_model=GrantOut)
def revoke(grant_id: PathId, sess: SessionDep, businesses: BusinessesDep) -> GrantOut:
    """Withdraw a business's permission."""
    row = businesses.revoke_grant(sess, grant_id)
    names = {b.id: b.name for b in businesses.businesses()}
    return grant_out(row, names.get(row.business_id, ""))
