"""What every health use case is given by wiring: database, blind index, registry port, clock.

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

INSURED_INDEX_PURPOSE = "health/insured_number"
NOTICE_EVENT = "notice"
NOTICE_PROCEDURE = "health.vaccination"
NOTICE_AUDIENCE = ("portal",)


def _no_wake() -> None:
    return None


@dataclass(frozen=True)
class Context:
    """The insurer's dependencies, built once by ``wiring.build_app``.

    ``today`` gives the insurer's date (tests pin it); ``clock`` stamps rows; ``wake`` nudges
    the outbox relay after a commit that queued events.
    """

    db: Database
    blind: BlindIndex
    registry: RegistryClient
    today: Callable[[], dt.date] = today_jst
    clock: Clock = utc_now
    wake: Callable[[], None] = field(default=_no_wake)
