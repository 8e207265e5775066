"""Every error the portal's HTTP side returns is the documented ``ErrorBody``.

Domain errors already are (:mod:`services.gateway.web.app`). This adds the errors raised
before a handler runs, which FastAPI and Starlette would otherwise answer in their own shapes:

* a body that is not JSON, or a request that fails the schema (FastAPI's
  ``RequestValidationError``, a 422 in FastAPI's own shape) → 400 ``invalid_argument`` like
  every other invalid input, naming each failing field and why, never echoing the value sent
  (it may be personal data);
* a body that cannot be parsed at all (Starlette's 400) → 400 ``bad_request``;
* an unknown path → 404 ``not_found``;
* a known path with a method it does not take → 405 ``method_not_allowed`` with an ``Allow``
  header listing every method the path takes (Starlette lists only the first route's, and
  FastAPI makes one route per method).

``/openapi.json`` documents the 400 as ``ErrorBody`` (``COMMON_ERRORS``) and drops FastAPI's
automatic 422 ``HTTPValidationError``, which this server never sends.
"""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from mynumber_core.calendar import today_jst

MAX_LISTED = 5


def error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An ``ErrorBody`` response."""
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def describe(problems: list[dict[str, Any]]) -> str:
    """``where: what`` for the first few validation problems (no input values)."""
    parts = []
    for problem in problems[:MAX_LISTED]:
        where = ".".join(str(part) for part in problem.get("loc", ()))
        if problem.get("type") == "json_invalid":
            parts.append("the body is not valid JSON: send a JSON object")
        else:
            parts.append(f"{where}: {problem.get('msg', 'invalid')}")
    more = len(problems) - MAX_LISTED
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts) + " (see /api/docs for the request's schema)"


CANDIDATE_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route takes at this request's path (asked of the router itself, so
    routes in included routers count too)."""
    return [
        method
        for method in CANDIDATE_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in app.router.routes
        )
    ]


def rebuild_schema_daily(app: FastAPI) -> None:
    """Some request schemas depend on the day (the move-out dates accepted today): build
    ``/openapi.json`` again when the day changes, instead of once per process."""
    build = app.openapi
    built_on: list[dt.date] = []

    def openapi() -> dict[str, Any]:
        today = today_jst()
        if built_on != [today]:
            app.openapi_schema = None
            built_on[:] = [today]
            app.openapi_schema = without_422(build())
        return build()

    app.openapi = openapi  # type: ignore[method-assign]


def without_422(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop FastAPI's automatic 422 ``HTTPValidationError`` answers: a request that fails its
    schema is a 400 ``ErrorBody`` here, like every other invalid input (documented by the
    routers' ``COMMON_ERRORS``)."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("422", None)
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema


def install(app: FastAPI) -> None:
    """Answer validation, parse, routing and method errors with ``ErrorBody``."""
    rebuild_schema_daily(app)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(400, "invalid_argument", describe(list(exc.errors())))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        status = exc.status_code
        if status == 404:
            return error(404, "not_found", f"no such path: {request.url.path} (see /api/docs)")
        if status == 405:
            allow = ", ".join(allowed_methods(app, request))
            return error(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed here; use {allow}",
                {"Allow": allow},
            )
        if status == 400 and exc.detail == "There was an error parsing the body":
            return error(400, "bad_request", "the request body could not be parsed; send JSON")
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "error"
        headers = dict(exc.headers) if exc.headers else None
        return error(status, phrase.lower().replace(" ", "_"), str(exc.detail), headers)
