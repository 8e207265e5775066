"""The health insurer's use cases, one module per feature, wired by :func:`bootstrap`.

- ``enrolment``: link and open coverage;
- ``bulk_enrolment``: many enrolments in one call (EnrolMembers);
- ``eligibility``: online eligibility checks (coverage and copay on a date);
- ``expenses``: medical expenses;
- ``vaccinations``: doses and "vaccination due" notices;
- ``care_flags``: disability and care needs for disaster lists;
- ``provider``: items other domains query through the hub;
- ``events``: events delivered through the hub.

``context`` holds what wiring gives every feature (database, blind index, registry port,
today, clock, relay wake-up); ``records`` the helpers they share (idempotency, coverage views
and copay).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.health.usecases.bulk_enrolment import BulkEnrolment
from services.health.usecases.care_flags import CareFlagsRecords
from services.health.usecases.context import Context
from services.health.usecases.eligibility import EligibilityChecks
from services.health.usecases.enrolment import Enrolment
from services.health.usecases.events import Events
from services.health.usecases.expenses import MedicalExpenses
from services.health.usecases.provider import ProviderItems
from services.health.usecases.vaccinations import Vaccinations


@dataclass(frozen=True)
class UseCases:
    """Every feature of the insurer over one context."""

    enrolment: Enrolment
    bulk_enrolment: BulkEnrolment
    eligibility: EligibilityChecks
    expenses: MedicalExpenses
    vaccinations: Vaccinations
    care_flags: CareFlagsRecords
    provider: ProviderItems
    events: Events


def bootstrap(ctx: Context) -> UseCases:
    """Build each feature over the same context (cosmicpython-style bootstrap)."""
    return UseCases(
        enrolment=Enrolment(ctx),
        bulk_enrolment=BulkEnrolment(ctx),
        eligibility=EligibilityChecks(ctx),
        expenses=MedicalExpenses(ctx),
        vaccinations=Vaccinations(ctx),
        care_flags=CareFlagsRecords(ctx),
        provider=ProviderItems(ctx),
        events=Events(ctx),
    )
