"""What every municipality use case is given by wiring: database, registry port, keys, clock.

The registry port is :class:`~mynumber_core.registry_client.RegistryClient` itself (its failed
calls are domain errors); unit tests pass a subclass that answers in memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from mynumber_core.calendar import today_jst
from mynumber_core.clock import Clock, utc_now
from mynumber_core.db import Database
from mynumber_core.keyring import BlindIndex
from mynumber_core.registry_client import RegistryClient

DOMAIN = "municipality"
PROC_MOVING = "municipality.moving_onestop"
PROC_REISSUE = "municipality.number_reissue"
PROC_LTC = "municipality.ltc"
PROC_SUPPORT_LIST = "disaster.support_list"
PROC_VICTIM_SUPPORT = "disaster.victim_support"
EVENT_AUDIENCE: dict[str, tuple[str, ...]] = {
    "address_changed": (),  # every domain that linked the resident
    "number_reissued": ("portal",),
    "notice": ("portal",),
}


def _no_wake() -> None:
    return None


@dataclass(frozen=True)
class Context:
    """The municipality's dependencies, built once by ``wiring.build_app``.

    ``today`` gives the register's date (tests pin it); ``clock`` stamps rows; ``wake`` nudges
    the outbox relay after a commit that queued events.
    """

    db: Database
    registry: RegistryClient
    blind: BlindIndex
    today: Callable[[], dt.date] = today_jst
    clock: Clock = utc_now
    wake: Callable[[], None] = field(default=_no_wake)
