"""The portal's front door (issue 15, item 7): cross-site request checks and rate limits.

:class:`RequestGuard` is a plain ASGI middleware in front of every route:

- **Cross-site requests.** Every unsafe method (POST, PUT, PATCH, DELETE) — with or without a
  body, e.g. ``POST /api/logout`` or ``POST /api/notices/{id}/read`` — is refused with 403 when
  the browser says it comes from another site: ``Sec-Fetch-Site`` other than ``same-origin``
  or ``none`` (typed by the user), or an ``Origin`` other than the portal's own. Browsers send
  at least one of the two on every cross-site unsafe request (Fetch Metadata, RFC 6454), so a
  request with neither comes from a non-browser client (the CLI, a business's server), which
  carries no ambient cookie to abuse.
- **Rate limits**: per client IP for everything, tighter per IP for the login and code
  endpoints (500 codes a second were possible before), and per session cookie. Over a limit:
  429 with ``Retry-After``, and nothing done. The running portal keeps the counts in its
  database (:class:`~services.gateway.web.rate_store.DatabaseRateStore`, an atomic
  reservation per request), so the limits hold across every replica; without a store (unit
  tests) the ``limits`` package's moving windows in memory count per process.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import anyio.to_thread
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from services.gateway.web.rate_store import DatabaseRateStore

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAME_SITE_FETCH = frozenset({"same-origin", "none"})
SESSION_COOKIE = "mnp_session"
LOGIN_PATHS = (
    "/api/login",
    "/api/approvals",
    "/api/passkeys/login",
)
"""Path prefixes of the unauthenticated, guessable-code endpoints (tighter per-IP limit)."""


@dataclass(frozen=True)
class GuardLimits:
    """Rate limits in ``limits`` notation ("N per minute")."""

    per_ip: str = "600 per minute"
    login_per_ip: str = "30 per minute"
    per_session: str = "300 per minute"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


def cross_site_reason(method: str, origin: str | None, fetch_site: str | None, own: str) -> str:
    """Why an unsafe request is refused as cross-site ("" when it may go on)."""
    if method.upper() not in UNSAFE_METHODS:
        return ""
    if fetch_site is not None and fetch_site.strip().lower() not in SAME_SITE_FETCH:
        return "cross-site requests are refused: send this from the portal's own pages"
    if origin is not None and origin.rstrip("/") != own.rstrip("/"):
        return "requests from another origin are refused: use the portal at its own address"
    return ""


class RequestGuard:
    """ASGI middleware: cross-site checks on unsafe methods, then rate limits."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        origin: str,
        limits: GuardLimits | None = None,
        store: DatabaseRateStore | None = None,
    ) -> None:
        self.app = app
        self.origin = origin
        chosen = limits or GuardLimits()
        self._store = store
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_ip = parse(chosen.per_ip)
        self._login_per_ip = parse(chosen.login_per_ip)
        self._per_session = parse(chosen.per_session)

    async def _over(self, checks: Sequence[tuple[RateLimitItem, str, str]]) -> str:
        if self._store is not None:
            store = self._store
            over = await anyio.to_thread.run_sync(
                lambda: store.hit([(item, key) for item, key, _ in checks])
            )
            return "" if over is None else checks[over][2]
        for item, key, what in checks:
            if not self._limiter.hit(item, key):
                return what
        return ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = str(scope.get("method", "GET")), str(scope.get("path", "/"))
        reason = cross_site_reason(
            method, _header(scope, b"origin"), _header(scope, b"sec-fetch-site"), self.origin
        )
        if reason:
            await _refuse(send, 403, "permission_denied", reason)
            return
        client = scope.get("client") or ("-", 0)
        ip = str(client[0])
        checks = [(self._per_ip, f"ip:{ip}", "this address")]
        if method.upper() in UNSAFE_METHODS and path.startswith(LOGIN_PATHS):
            checks.append((self._login_per_ip, f"login:{ip}", "this address (logins and codes)"))
        session = _cookie(scope, SESSION_COOKIE)
        if session:
            digest = hashlib.sha256(session.encode()).hexdigest()
            checks.append((self._per_session, f"session:{digest}", "this session"))
        over = await self._over(checks)
        if over:
            await _refuse(
                send,
                429,
                "rate_limited",
                f"too many requests from {over}; wait a minute and try again",
                retry_after=60,
            )
            return
        await self.app(scope, receive, send)


async def _refuse(
    send: Send, status: int, code: str, message: str, *, retry_after: int | None = None
) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
