"""The FastAPI application: JSON API, pages, static files, error mapping, security headers.

Domain errors become JSON bodies ``{"error": {"code", "message"}}`` with the HTTP status that
each error class carries in ``mynumber_core.errors`` (INVALID_ARGUMENT→400, NOT_FOUND→404,
PERMISSION_DENIED→403, UNAUTHENTICATED→401, FAILED_PRECONDITION/ABORTED/ALREADY_EXISTS→409,
RESOURCE_EXHAUSTED→429, UNAVAILABLE→503, DEADLINE_EXCEEDED→504); anything unexpected is a
generic 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from mynumber_core import errors
from mynumber_core.log import redacted_traceback
from services.gateway.web import contract, docs, observability
from services.gateway.web.guard import GuardLimits, RequestGuard
from services.gateway.web.pages import build_pages
from services.gateway.web.rate_store import DatabaseRateStore
from services.gateway.web.routers import api_router, log_keys

if TYPE_CHECKING:
    from services.gateway.wiring import Gateway

log = structlog.get_logger("mynumber.gateway.http")

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def status_of(exc: errors.DomainError) -> tuple[int, str]:
    """HTTP status and error code of a domain error (``mynumber_core.errors``' table)."""
    return exc.http_status, exc.error_code


def create_app(gateway: Gateway) -> FastAPI:
    """The portal's HTTP application."""
    app = FastAPI(
        title="Myna Portal API",
        version="1.0.0",
        description=(
            "The residents' portal of the My Number platform: log in with the My Number Card, "
            "see what each agency holds and the verified exchange log, read the inbox and "
            "notices, pay amounts due, register the public-funds account, apply online and set "
            "locks. Sensitive actions need a fresh card signature (POST /api/step-up)."
        ),
        docs_url=None,  # docs.install serves /api/docs from local files instead
        redoc_url=None,
    )
    secure = gateway.settings.cookie_secure
    app.state.portal = gateway.portal
    app.state.cookie_secure = secure

    @app.exception_handler(errors.DomainError)
    async def _domain_error(request: Request, exc: errors.DomainError) -> Response:
        status, code = status_of(exc)
        if status == 401 and not request.url.path.startswith("/api/"):
            return RedirectResponse("/login", status_code=303)
        return JSONResponse({"error": {"code": code, "message": exc.message}}, status_code=status)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        transient = errors.infrastructure_error(exc)
        if transient is not None:  # a database or peer outage: 503, the client may retry
            log.warning("dependency unavailable", error_type=type(exc).__name__)
            return await _domain_error(request, transient)
        log.error(
            "unexpected error",
            error_type=type(exc).__name__,
            path=request.url.path,
            exception=redacted_traceback(exc),
        )
        return JSONResponse(
            {"error": {"code": "internal", "message": "internal error; please try again"}},
            status_code=500,
        )

    @app.middleware("http")
    async def _headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.url.path.startswith("/api/") or request.url.path not in ("/static",):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    settings = gateway.settings
    app.add_middleware(
        RequestGuard,  # cross-site unsafe requests refused, per-IP and per-session limits
        origin=gateway.portal.ctx.audience,
        limits=GuardLimits(
            per_ip=settings.rate_per_ip,
            login_per_ip=settings.rate_login_per_ip,
            per_session=settings.rate_per_session,
        ),
        # Counted in the gateway database: one limit across every replica.
        store=DatabaseRateStore(gateway.portal.ctx.db),
    )
    observability.install(app)  # request id, HTTP metrics and the trace's root span
    docs.install(app)  # /api/docs: Swagger UI from local files, under the same CSP
    contract.install(app)  # validation, parse, 404 and 405 errors as ErrorBody
    app.include_router(api_router())
    app.include_router(log_keys.router)  # /.well-known/mynumber-log-keys
    app.include_router(build_pages(gateway.portal, cookie_secure=secure))
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static")
    return app
