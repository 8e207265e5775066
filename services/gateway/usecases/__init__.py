"""The portal's operations, one module per feature, each given a
:class:`~services.gateway.usecases.context.PortalContext` by ``wiring.bootstrap``:

- ``auth``: card login, one-time codes, sessions; with ``step_up`` (sensitive actions)
  over the shared ``challenges`` core (``Auth`` is all three);
- ``information``: what each agency holds ("my information");
- ``log``: the exchange log with proofs verified here;
- ``inbox``: notices and documents;
- ``payouts``: the public-funds receipt account; ``payments``: amounts due and paying them;
- ``applications``: exemption, move-out, pension claim; ``businesses``: delivery grants;
- ``locks``: resident-set locks; ``number``: the claim PIN and number reissue;
- ``events``: the provider side (the payout-account item, incoming events, outbox delivery).

Every operation takes the session's resident and touches only that resident's objects: an id
belonging to somebody else is reported exactly like an id that does not exist (NOT_FOUND).
Input is validated before anything is written, so a rejected request changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from mynumber_core.db import Database
from services.gateway.usecases.applications import Applications
from services.gateway.usecases.auth import (
    Auth,
    IssuedChallenge,
    NewSession,
    SessionInfo,
    StepUpProof,
)
from services.gateway.usecases.businesses import Businesses
from services.gateway.usecases.context import PortalContext
from services.gateway.usecases.events import Events
from services.gateway.usecases.inbox import Inbox
from services.gateway.usecases.information import Information, InfoSection
from services.gateway.usecases.locks import Locks
from services.gateway.usecases.log import ExchangeLog, LogLine, LogView
from services.gateway.usecases.number import Number
from services.gateway.usecases.payments import Payments
from services.gateway.usecases.payouts import Payouts

__all__ = [
    "Applications",
    "Auth",
    "Businesses",
    "Events",
    "ExchangeLog",
    "Inbox",
    "InfoSection",
    "Information",
    "IssuedChallenge",
    "Locks",
    "LogLine",
    "LogView",
    "NewSession",
    "Number",
    "Payments",
    "Payouts",
    "Portal",
    "PortalContext",
    "SessionInfo",
    "StepUpProof",
]


@dataclass(frozen=True)
class Portal:
    """Every portal use case, one object per feature, over one context."""

    ctx: PortalContext
    auth: Auth
    information: Information
    log: ExchangeLog
    inbox: Inbox
    payouts: Payouts
    payments: Payments
    applications: Applications
    businesses: Businesses
    locks: Locks
    number: Number
    events: Events

    @property
    def db(self) -> Database:
        """The portal's database."""
        return self.ctx.db
