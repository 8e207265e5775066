"""Several attempt counters reserved at once (a Link takes the agency's and the number's in
one transaction): all or none, on SQLite and PostgreSQL. A claim granted before a refused
one takes nothing, and the refusal names the claim and when its window frees up."""

from __future__ import annotations

import datetime as dt

import pytest

from mynumber_core.db import Database
from services.registry.attempts import AttemptCounters, Claim

NOW = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)


@pytest.fixture
def counters(registry_db: Database) -> AttemptCounters:
    return AttemptCounters(registry_db, clock=lambda: NOW)


def test_claims_are_reserved_together_or_not_at_all(counters: AttemptCounters) -> None:
    agency, number = Claim("agency", "pension", 5, 60.0), Claim("number", "pension:n1", 2, 60.0)
    assert counters.reserve_all([agency, number]) is None
    assert counters.reserve_all([agency, number]) is None
    assert (counters.count("agency", "pension"), counters.count("number", "pension:n1")) == (2, 2)

    refused = counters.reserve_all([agency, number])  # the number is at its limit
    assert refused is not None and refused.claim == number
    assert refused.until == NOW + dt.timedelta(seconds=60)
    # The agency's attempt, granted first in the same transaction, was rolled back with it.
    assert (counters.count("agency", "pension"), counters.count("number", "pension:n1")) == (2, 2)

    counters.release_all([("agency", "pension"), ("number", "pension:n1")])
    assert (counters.count("agency", "pension"), counters.count("number", "pension:n1")) == (1, 1)
    assert counters.reserve_all([agency, number]) is None


def test_a_refused_first_claim_is_named(counters: AttemptCounters) -> None:
    agency = Claim("agency", "tax", 1, None)
    assert counters.reserve("agency", "tax", 1, None).reserved
    refused = counters.reserve_all([agency, Claim("number", "tax:n2", 5, 60.0)])
    assert refused is not None and refused.claim == agency and refused.until is None
    assert counters.count("number", "tax:n2") == 0
