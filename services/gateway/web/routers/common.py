"""What every API router shares: the session cookie, the error body, the step-up proof a
sensitive request carries, and the dependencies (``Depends``) that hand a handler the
session's resident, the language and the use cases of its area.

The use cases come from ``request.app.state.portal`` (set by ``web.app.create_app``), so a
handler can be called alone with any :class:`~services.gateway.usecases.Portal`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Cookie, Depends, Request, Response
from pydantic import BaseModel, Field

from services.gateway.usecases import (
    Applications,
    Auth,
    Businesses,
    ExchangeLog,
    Inbox,
    Information,
    Locks,
    NewSession,
    Number,
    Payments,
    Payouts,
    Portal,
    SessionInfo,
    StepUpProof,
)
from services.gateway.web.i18n import pick_lang
from services.gateway.web.routers.fields import CertificatePem, Id, Signature

SESSION_COOKIE = "mnp_session"


class ErrorDetail(BaseModel):
    """What went wrong, for people and programs."""

    code: str = Field(description="machine-readable kind, e.g. not_found")
    message: str = Field(description="what is wrong and how to fix it")


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorDetail


_ERR = {"model": ErrorBody}
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _ERR,
    401: _ERR,
    403: _ERR,
    404: _ERR,
    409: _ERR,
    429: _ERR,
    503: _ERR,
    504: _ERR,
}


class StepUpProofIn(BaseModel):
    """The approval a sensitive request carries."""

    challenge_id: Id
    certificate_pem: CertificatePem | None = None
    signature: Signature | None = None


class StepUpOnlyIn(BaseModel):
    """A sensitive action with nothing but its card approval."""

    step_up: StepUpProofIn | None = None


def to_proof(value: StepUpProofIn | None) -> StepUpProof | None:
    """The use cases' form of a request's step-up approval."""
    if value is None:
        return None
    return StepUpProof(value.challenge_id, value.certificate_pem, value.signature)


# --------------------------------------------------------------------------- dependencies


def portal_of(request: Request) -> Portal:
    """The use cases the application was built over."""
    portal: Portal = request.app.state.portal
    return portal


PortalDep = Annotated[Portal, Depends(portal_of)]


def cookie_secure(request: Request) -> bool:
    """Whether the session cookie is always marked Secure (``GatewaySettings.cookie_secure``)."""
    return bool(getattr(request.app.state, "cookie_secure", False))


def lang_of(request: Request) -> str:
    """The API's language: ?lang=, the lang cookie, Accept-Language."""
    return pick_lang(
        request.query_params.get("lang"),
        request.cookies.get("lang"),
        request.headers.get("accept-language"),
    )


def set_session_cookie(
    request: Request, response: Response, opened: NewSession, *, secure: bool
) -> None:
    """HttpOnly, SameSite=Strict; Secure behind TLS or when configured."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    response.set_cookie(
        SESSION_COOKIE,
        opened.session_id,
        max_age=max(1, int((opened.expires_at - dt.datetime.now(dt.UTC)).total_seconds())),
        httponly=True,
        samesite="strict",
        secure=secure or request.url.scheme == "https" or forwarded == "https",
        path="/",
    )


def current_session(
    portal: PortalDep,
    mnp_session: Annotated[str | None, Cookie(include_in_schema=False)] = None,
) -> SessionInfo:
    """The session's resident (UNAUTHENTICATED → 401 without a valid cookie)."""
    return portal.auth.authenticate(mnp_session)


def _auth(portal: PortalDep) -> Auth:
    return portal.auth


def _information(portal: PortalDep) -> Information:
    return portal.information


def _log(portal: PortalDep) -> ExchangeLog:
    return portal.log


def _inbox(portal: PortalDep) -> Inbox:
    return portal.inbox


def _businesses(portal: PortalDep) -> Businesses:
    return portal.businesses


def _payments(portal: PortalDep) -> Payments:
    return portal.payments


def _payouts(portal: PortalDep) -> Payouts:
    return portal.payouts


def _number(portal: PortalDep) -> Number:
    return portal.number


def _applications(portal: PortalDep) -> Applications:
    return portal.applications


def _locks(portal: PortalDep) -> Locks:
    return portal.locks


SessionDep = Annotated[SessionInfo, Depends(current_session)]
LangDep = Annotated[str, Depends(lang_of)]
CookieSecureDep = Annotated[bool, Depends(cookie_secure)]
AuthDep = Annotated[Auth, Depends(_auth)]
InformationDep = Annotated[Information, Depends(_information)]
LogDep = Annotated[ExchangeLog, Depends(_log)]
InboxDep = Annotated[Inbox, Depends(_inbox)]
BusinessesDep = Annotated[Businesses, Depends(_businesses)]
PaymentsDep = Annotated[Payments, Depends(_payments)]
PayoutsDep = Annotated[Payouts, Depends(_payouts)]
NumberDep = Annotated[Number, Depends(_number)]
ApplicationsDep = Annotated[Applications, Depends(_applications)]
LocksDep = Annotated[Locks, Depends(_locks)]
