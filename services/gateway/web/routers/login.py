"""Card login (a signed challenge, or a one-time code approved with the CLI), code approvals,
logout and the current session."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Cookie, Request, Response
from pydantic import BaseModel, Field

from mynumber_core import errors
from services.gateway.usecases.auth import Requester
from services.gateway.web.routers.common import (
    SESSION_COOKIE,
    AuthDep,
    CookieSecureDep,
    SessionDep,
    set_session_cookie,
)
from services.gateway.web.routers.fields import CertificatePem, Id, PathCode, PollSecret, Signature

router = APIRouter(tags=["login"])


def requester_of(request: Request) -> Requester:
    """The asking browser, as an approving device is shown it."""
    client = request.client.host if request.client else None
    return Requester.of(client, request.headers.get("user-agent"))


class ChallengeOut(BaseModel):
    """A login challenge to sign with the card (``login_challenge_message``)."""

    challenge_id: str
    nonce: str
    audience: str
    issued_at: int = Field(description="Unix seconds, part of the signed message")
    expires_at: dt.datetime


class LoginIn(BaseModel):
    """A signed login challenge."""

    challenge_id: Id
    certificate_pem: CertificatePem
    signature: Signature


class SessionOut(BaseModel):
    """A session was opened (the cookie carries it)."""

    status: Literal["logged_in"] = "logged_in"
    expires_at: dt.datetime


class PendingOut(BaseModel):
    """Still waiting."""

    status: Literal["pending"] = "pending"


class CodeOut(BaseModel):
    """A one-time code for the browser login; approve it with ``mynumber card approve``."""

    challenge_id: str
    code: str
    poll_secret: str = Field(description="keep it: only its holder can collect the session")
    match_number: str = Field(
        description="show it next to the code: the approving device must type this number"
    )
    expires_at: dt.datetime


class PollIn(BaseModel):
    """The browser's poll for its login."""

    challenge_id: Id
    poll_secret: PollSecret


class ApprovalOut(BaseModel):
    """What a one-time code asks the card to sign."""

    kind: Literal["login", "action"]
    action: str | None
    fields: dict[str, str]
    nonce: str
    audience: str
    issued_at: int
    expires_at: dt.datetime
    requested_from: str | None = Field(None, description="the requesting browser's address")
    device: str | None = Field(None, description="the requesting browser (its User-Agent)")
    requested_at: dt.datetime | None = Field(None, description="when the code was requested")


class ApproveIn(BaseModel):
    """A card's approval of a code."""

    certificate_pem: CertificatePem
    signature: Signature


class ApproveMatchIn(ApproveIn):
    """A card's approval of a code, with the number shown on the screen that asked for it."""

    match_number: str | None = Field(
        None, pattern=r"^[0-9]{2}$", description="the number the requesting screen shows"
    )


class ApprovedOut(BaseModel):
    """The code is approved."""

    status: Literal["approved"] = "approved"
    kind: str


@router.post("/login/challenge", response_model=ChallengeOut)
def login_challenge(auth: AuthDep) -> ChallengeOut:
    """Start a card login: sign the returned challenge with ``login_challenge_message``."""
    c = auth.start_login()
    return ChallengeOut(
        challenge_id=c.challenge_id,
        nonce=c.nonce,
        audience=c.audience,
        issued_at=c.issued_at,
        expires_at=c.expires_at,
    )


@router.post("/login", response_model=SessionOut)
def login(
    body: LoginIn, request: Request, response: Response, auth: AuthDep, secure: CookieSecureDep
) -> SessionOut:
    """Finish a card login; sets the session cookie. Each challenge works once."""
    opened = auth.login(body.challenge_id, body.certificate_pem, body.signature)
    set_session_cookie(request, response, opened, secure=secure)
    return SessionOut(expires_at=opened.expires_at)


@router.post("/login/code", response_model=CodeOut)
def login_code(request: Request, auth: AuthDep) -> CodeOut:
    """Browser login: a one-time code to approve with ``mynumber card approve CODE``; the
    approver sees this browser's address and device and must type ``match_number``."""
    c = auth.start_login(with_code=True, requester=requester_of(request))
    assert c.code and c.poll_secret and c.match_number
    return CodeOut(
        challenge_id=c.challenge_id,
        code=c.code,
        poll_secret=c.poll_secret,
        expires_at=c.expires_at,
        match_number=c.match_number,
    )


@router.post(
    "/login/poll",
    response_model=SessionOut | PendingOut,
    responses={202: {"model": PendingOut}},
)
def login_poll(
    body: PollIn, request: Request, response: Response, auth: AuthDep, secure: CookieSecureDep
) -> SessionOut | PendingOut:
    """The browser's poll: 202 while the code waits, 200 and the cookie once approved."""
    opened = auth.poll_login(body.challenge_id, body.poll_secret)
    if opened is None:
        response.status_code = 202
        return PendingOut()
    set_session_cookie(request, response, opened, secure=secure)
    return SessionOut(expires_at=opened.expires_at)


@router.get("/approvals/{code}", response_model=ApprovalOut)
def describe_approval(code: PathCode, auth: AuthDep) -> ApprovalOut:
    """What a one-time code asks your card to sign (the CLI shows it before signing)."""
    c = auth.describe_code(code)
    return ApprovalOut(
        kind="action" if c.action else "login",
        action=c.action,
        fields=c.fields,
        nonce=c.nonce,
        audience=c.audience,
        issued_at=c.issued_at,
        expires_at=c.expires_at,
        requested_from=c.requester.address if c.requester else None,
        device=c.requester.device if c.requester else None,
        requested_at=c.requester.at if c.requester else None,
    )


@router.post("/approvals/{code}", response_model=ApprovedOut)
def approve(code: PathCode, body: ApproveMatchIn, auth: AuthDep) -> ApprovedOut:
    """Approve a code with a card signature over what ``GET`` returned."""
    kind = auth.approve_code(code, body.certificate_pem, body.signature, body.match_number)
    return ApprovedOut(kind=kind)


@router.post("/logout", status_code=204)
def logout(
    response: Response,
    auth: AuthDep,
    mnp_session: Annotated[str | None, Cookie(include_in_schema=False)] = None,
) -> Response:
    """End the session (harmless without one)."""
    with contextlib.suppress(errors.Unauthenticated):
        auth.logout(auth.authenticate(mnp_session))
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path="/")
    return out


@router.get("/session", response_model=SessionOut)
def session_info(sess: SessionDep) -> SessionOut:
    """The current session."""
    return SessionOut(expires_at=sess.expires_at)
