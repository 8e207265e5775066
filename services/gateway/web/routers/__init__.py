"""The portal's JSON API (documented at ``/openapi.json``), one ``APIRouter`` per area, as in
FastAPI's "bigger applications" layout. Handlers convert between HTTP and the use cases only
and act for the session's resident alone; they get the session and their area's use cases
through ``Depends`` (see :mod:`.common`).

Where a new endpoint goes: the module of its area; a new area gets its own module, listed in
:data:`AREAS`.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.web.routers import (
    applications,
    businesses,
    card_pin,
    inbox,
    information,
    locks,
    login,
    passkeys,
    payments,
    payouts,
    pension_records,
    step_up,
)
from services.gateway.web.routers.common import COMMON_ERRORS

AREAS = (
    login,
    passkeys,
    card_pin,
    step_up,
    information,
    inbox,
    businesses,
    payments,
    payouts,
    locks,
    applications,
    pension_records,
)
"""Every area's module, in the order of the API's documentation."""


def api_router() -> APIRouter:
    """Every JSON endpoint under ``/api``."""
    router = APIRouter(prefix="/api", responses=COMMON_ERRORS)
    for area in AREAS:
        router.include_router(area.router)
    return router
