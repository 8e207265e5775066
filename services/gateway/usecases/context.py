"""What every portal use case is given by wiring: the database, the blind index, the registry
port, the card authority, the clock and the few settings the use cases read.

Plus the helpers every feature needs: new object ids, exchange request ids, and the portal's
resident record behind a token.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.clock import Clock, utc_now
from mynumber_core.db import Database
from mynumber_core.keyring import BlindIndex
from mynumber_core.registry_client import RegistryClient
from services.gateway.cards import CardAuthority
from services.gateway.models import Resident

PORTAL_SENDER = "マイナポータル (Myna Portal)"


def _no_wake() -> None:
    return None


@dataclass(frozen=True)
class PortalContext:
    """The dependencies of the portal's use cases (built once by ``wiring.bootstrap``)."""

    db: Database
    blind: BlindIndex
    registry: RegistryClient
    cards: CardAuthority
    audience: str
    """The portal's public origin, named by login challenges."""
    session_ttl: dt.timedelta = dt.timedelta(minutes=15)
    wake_outbox: Callable[[], None] = field(default=_no_wake)
    """Tell the outbox relay a new event is waiting."""
    clock: Clock = field(default=utc_now)


def new_id(prefix: str) -> str:
    """A fresh object id (``prefix`` + 24 hex digits)."""
    return prefix + uuid.uuid4().hex[:24]


def request_id() -> str:
    """A fresh request id for an exchange through the hub."""
    return "portal-" + uuid.uuid4().hex


def resident_by_token(
    ctx: PortalContext, session: Session, token: str, *, create: bool
) -> Resident:
    """The portal's record of the resident behind ``token`` (created on first sight when
    ``create``; NOT_FOUND otherwise)."""
    row = session.scalars(select(Resident).where(Resident.token == token)).first()
    if row is None:
        if not create:
            raise errors.NotFound("the portal has no record of this resident")
        row = Resident(id=new_id("R"), token=token, created_at=ctx.clock())
        session.add(row)
        session.flush()
    return row
