"""Server-rendered pages (Jinja2) in Japanese and English, over the same use cases as the API.

Pages read data directly; actions are HTML forms that ``static/portal.js`` turns into a card
approval (step-up code) followed by the JSON API call. ``?lang=ja|en`` switches the language
and remembers it in a cookie.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from mynumber_core import errors
from services.gateway import domain
from services.gateway.usecases import Portal, SessionInfo
from services.gateway.web.api import SESSION_COOKIE
from services.gateway.web.i18n import LANGS, pick_lang, translator

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
NAV = ("me", "log", "notices", "inbox", "payments", "payout", "applications", "locks", "businesses")
PATHS = {
    "me": "/me",
    "log": "/log",
    "notices": "/notices",
    "inbox": "/inbox",
    "payments": "/payments",
    "payout": "/payout-account",
    "applications": "/applications",
    "locks": "/locks",
    "businesses": "/businesses",
}


def _yen(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _local_time(value: Any) -> str:
    if isinstance(value, dt.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    else:
        try:
            stamp = dt.datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    jst = dt.timezone(dt.timedelta(hours=9), "JST")
    return stamp.astimezone(jst).strftime("%Y-%m-%d %H:%M JST")


TEMPLATES.env.filters["yen"] = _yen
TEMPLATES.env.filters["jst"] = _local_time
TEMPLATES.env.filters["pretty"] = lambda v: json.dumps(v, ensure_ascii=False, indent=1)


Sess = Annotated[str | None, Cookie(alias=SESSION_COOKIE)]


def build_pages(portal: Portal, *, cookie_secure: bool) -> APIRouter:
    """Every HTML page."""
    router = APIRouter(include_in_schema=False)

    def render(
        request: Request,
        template: str,
        page: str,
        sess: SessionInfo | None,
        **context: Any,
    ) -> Response:
        lang = pick_lang(
            request.query_params.get("lang"),
            request.cookies.get("lang"),
            request.headers.get("accept-language"),
        )
        other = LANGS[1 - LANGS.index(lang)]
        response = TEMPLATES.TemplateResponse(
            request,
            template,
            {
                "t": translator(lang),
                "lang": lang,
                "other_lang": other,
                "page": page,
                "nav": [(key, PATHS[key]) for key in NAV],
                "logged_in": sess is not None,
                "session": sess,
                **context,
            },
        )
        if request.query_params.get("lang") in LANGS:
            response.set_cookie(
                "lang",
                lang,
                max_age=365 * 86400,
                samesite="strict",
                httponly=True,
                secure=cookie_secure,
            )
        return response

    def session_or_none(cookie: str | None) -> SessionInfo | None:
        try:
            return portal.authenticate(cookie)
        except errors.Unauthenticated:
            return None

    @router.get("/", response_class=HTMLResponse)
    def home(mnp: Sess = None) -> Response:
        return RedirectResponse("/me" if session_or_none(mnp) else "/login", status_code=303)

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, mnp: Sess = None) -> Response:
        if session_or_none(mnp):
            return RedirectResponse("/me", status_code=303)
        challenge = portal.start_login(with_code=True)
        return render(request, "login.html", "login", None, challenge=challenge)

    @router.post("/logout")
    def logout_page(mnp: Sess = None) -> Response:
        sess = session_or_none(mnp)
        if sess:
            portal.logout(sess)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @router.get("/me", response_class=HTMLResponse)
    def me_page(request: Request, mnp: Sess = None) -> Response:
        sess = portal.authenticate(mnp)
        return render(request, "me.html", "me", sess, sections=portal.my_information(sess))

    @router.get("/log", response_class=HTMLResponse)
    def log_page(
        request: Request,
        mnp: Sess = None,
        agency: str | None = None,
    ) -> Response:
        sess = portal.authenticate(mnp)
        date_from = request.query_params.get("from") or None
        date_to = request.query_params.get("to") or None
        error = None
        try:
            view = portal.exchange_log(
                sess,
                agency=agency or None,
                date_from=domain.parse_date_filter("from", date_from),
                date_to=domain.parse_date_filter("to", date_to),
            )
        except errors.InvalidInput as exc:
            error, view = exc.message, portal.exchange_log(sess)
        return render(
            request,
            "log.html",
            "log",
            sess,
            view=view,
            agencies=domain.AGENCIES,
            agency=agency or "",
            date_from=date_from or "",
            date_to=date_to or "",
            error=error,
        )

    @router.get("/notices", response_class=HTMLResponse)
    def notices_page(request: Request, mnp: Sess = None) -> Response:
        sess = portal.authenticate(mnp)
        return render(request, "notices.html", "notices", sess, notices=portal.notices(sess))

    @router.get("/inbox", response_class=HTMLResponse)
    def inbox_page(request: Request, mnp: Sess = None) -> Response:
        sess = portal.authenticate(mnp)
        return render(request, "inbox.html", "inbox", sess, documents=portal.inbox(sess))

    @router.get("/inbox/{document_id}", response_class=HTMLResponse)
    def document_page(request: Request, document_id: str, mnp: Sess = None) -> Response:
        sess = portal.authenticate(mnp)
        doc = portal.document(sess, document_id, mark_read=True)
        return render(request, "document.html", "inbox", sess, doc=doc)

    @router.get("/payments", response_class=HTMLResponse)
    def payments_page(request: Request, mnp: Sess = None) -> Response:
        sess = portal.authenticate(mnp)
        return render(
            request,
            "payments.html",
            "payments",
            sess,
            due=portal.amounts_due(sess),
            payments=portal.payments(sess),
        )

    @router.get("/payout-account", response_class=HTMLResponse)
    def payout_page(request: Request, mnp: Sess = None) -> Response:
        sess = portal.authenticate(mnp)
        return render(
            request,
            "payout.html",
            "payout",
            sess,
            account=portal.payout_account(sess),
            account_types=domain.ACCOUNT_TYPES,
        )

    @router.get("/applications", response_class=HTMLResponse)
    def applications_page(request: Request, mnp: Sess = None) -> Response:
        sess = portal.authenticate(mnp)
        today = dt.date.today()
        current = domain.fiscal_year_of(today)
        return render(
            request,
            "applications.html",
            "applications",
            sess,
            applications=[(a, json.loads(a.details)) for a in portal.applications(sess)],
            years=[current, current - 1, current - 2],
            today=today.isoformat(),
        )

    @router.get("/locks", response_class=HTMLResponse)
    def locks_page(request: Request, mnp: Sess = None) -> Response:
        sess = portal.authenticate(mnp)
        return render(
            request, "locks.html", "locks", sess, locks=portal.locks(sess), all_locks=domain.LOCKS
        )

    @router.get("/businesses", response_class=HTMLResponse)
    def businesses_page(request: Request, mnp: Sess = None) -> Response:
        sess = portal.authenticate(mnp)
        return render(
            request,
            "businesses.html",
            "businesses",
            sess,
            businesses=portal.businesses(),
            grants=portal.grants(sess),
        )

    return router
