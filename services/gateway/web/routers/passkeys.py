"""Passkeys (WebAuthn): register one from a card-login session, log in with it later.

The browser side is ``static/passkeys.js`` (``navigator.credentials.create/get``). The
registry verifies both: registration under the card's ``register_passkey`` step-up, login by
opening the resident's grant itself. Sensitive actions still need the card.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from services.gateway.usecases.passkeys import Passkeys
from services.gateway.web.routers.common import (
    CookieSecureDep,
    PortalDep,
    SessionDep,
    StepUpProofIn,
    set_session_cookie,
    to_proof,
)
from services.gateway.web.routers.fields import Id

router = APIRouter(tags=["passkeys"])


class PasskeyOptionsOut(BaseModel):
    """WebAuthn options as JSON (``PublicKeyCredential.parse*OptionsFromJSON``)."""

    challenge_id: str
    options: dict[str, Any]
    approve: dict[str, str] | None = Field(
        None,
        description="registration: the fields of the register_passkey step-up to approve "
        "with the card (POST /api/step-up) before POST /api/passkeys",
    )


class PasskeyCredentialIn(BaseModel):
    """The browser's ``PublicKeyCredential.toJSON()`` for the challenge it answers."""

    challenge_id: Id
    credential: dict[str, Any] = Field(description="PublicKeyCredential.toJSON()")


class PasskeyRegistrationIn(PasskeyCredentialIn):
    """A new passkey and the card's approval of its registration."""

    step_up: StepUpProofIn | None = None


class PasskeyRegisteredOut(BaseModel):
    """The passkey is bound to the resident."""

    status: Literal["registered"] = "registered"
    credential_id: str


class PasskeySessionOut(BaseModel):
    """A session was opened by a passkey (its registry grant opened by the registry)."""

    status: Literal["logged_in"] = "logged_in"
    method: Literal["passkey"] = "passkey"
    expires_at: dt.datetime


@router.post("/passkeys/register/options", response_model=PasskeyOptionsOut)
def passkey_register_options(sess: SessionDep, portal: PortalDep) -> PasskeyOptionsOut:
    """Options to create a passkey (needs a session opened with the card)."""
    opts = Passkeys(portal.ctx).registration_options(sess)
    return PasskeyOptionsOut(
        challenge_id=opts.challenge_id, options=opts.options, approve=opts.approve
    )


@router.post("/passkeys", response_model=PasskeyRegisteredOut, status_code=201)
def passkey_register(
    body: PasskeyRegistrationIn, sess: SessionDep, portal: PortalDep
) -> PasskeyRegisteredOut:
    """Register the passkey the browser created for the options' challenge, with the card's
    ``register_passkey`` approval (the registry registers it)."""
    cid = Passkeys(portal.ctx, portal.auth).register(
        sess, body.challenge_id, body.credential, to_proof(body.step_up)
    )
    return PasskeyRegisteredOut(credential_id=cid)


@router.post("/passkeys/login/options", response_model=PasskeyOptionsOut)
def passkey_login_options(portal: PortalDep) -> PasskeyOptionsOut:
    """Options to log in with a passkey."""
    opts = Passkeys(portal.ctx).login_options()
    return PasskeyOptionsOut(challenge_id=opts.challenge_id, options=opts.options)


@router.post("/passkeys/login", response_model=PasskeySessionOut)
def passkey_login(
    body: PasskeyCredentialIn,
    request: Request,
    response: Response,
    portal: PortalDep,
    secure: CookieSecureDep,
) -> PasskeySessionOut:
    """Log in with a passkey; sets the session cookie."""
    opened = Passkeys(portal.ctx).login(body.challenge_id, body.credential)
    set_session_cookie(request, response, opened, secure=secure)
    return PasskeySessionOut(expires_at=opened.expires_at)
