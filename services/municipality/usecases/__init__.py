"""The municipality's use cases, one module per feature, wired by :func:`bootstrap`.

- ``residents``: registration, enrolment (転入), resident and household reads;
- ``bulk_enrolment``: enrolment of many residents in one call (EnrolResidents);
- ``moves``: moves (転居, one-stop), moves out (転出), deaths;
- ``letters``: letters to the old address, listed for clerks;
- ``care``: long-term care certifications;
- ``reissue``: number reissue;
- ``disasters``: declarations and the support list;
- ``provider``: items other domains query through the hub, and delivered events.

``context`` holds what wiring gives every feature (database, registry port, blind index,
today, clock, relay wake-up); ``records`` the helpers they share (idempotency, lookups).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.municipality.usecases.bulk_enrolment import BulkEnrolment
from services.municipality.usecases.care import LongTermCare
from services.municipality.usecases.context import Context
from services.municipality.usecases.disasters import Disasters
from services.municipality.usecases.letters import Letters
from services.municipality.usecases.moves import Moves
from services.municipality.usecases.provider import ProviderItems
from services.municipality.usecases.reissue import Reissue
from services.municipality.usecases.residents import Residents


@dataclass(frozen=True)
class UseCases:
    """Every feature of the municipality over one context."""

    residents: Residents
    bulk_enrolment: BulkEnrolment
    moves: Moves
    letters: Letters
    care: LongTermCare
    reissue: Reissue
    disasters: Disasters
    provider: ProviderItems


def bootstrap(ctx: Context) -> UseCases:
    """Build each feature over the same context (cosmicpython-style bootstrap)."""
    return UseCases(
        residents=Residents(ctx),
        bulk_enrolment=BulkEnrolment(ctx),
        moves=Moves(ctx),
        letters=Letters(ctx),
        care=LongTermCare(ctx),
        reissue=Reissue(ctx),
        disasters=Disasters(ctx),
        provider=ProviderItems(ctx),
    )
