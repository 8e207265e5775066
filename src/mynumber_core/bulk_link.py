"""The shared steps of an agency's bulk enrolment (issue 10, item 5): link many validated
records through ``Registry.LinkBatch`` in slices, answer each record with its own error
(naming its position in the call, never the number or a fact), read rows by many keys in
chunks, and draw many unused local identifiers with one read per chunk.

Tax (RegisterTaxpayers), the municipality (EnrolResidents) and the insurer (EnrolMembers)
share these; each keeps its own validation and its own set-based write.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from mynumber_core import errors
from mynumber_core.facts import BasicFacts
from mynumber_core.registry_client import RegistryClient
from mynumber_core.registry_records import LinkOutcome

MAX_RECORDS = 10_000
"""Most records one bulk enrolment call may carry."""
LINK_SLICE = 1_000
"""Records per Registry.LinkBatch call (a 5,000-record call overran the registry call's 5 s
deadline on a loaded PostgreSQL run)."""
CHUNK = 1_000
"""Values per ``IN (...)`` list (well under SQLite's and PostgreSQL's parameter limits)."""

_ERROR_BY_CODE = {cls.grpc_status.value[0]: cls for cls in errors.ERROR_TYPES}
_RECORD_PREFIX = re.compile(r"^record [0-9]+: ")
T = TypeVar("T")


def check_size(count: int, method: str) -> None:
    """InvalidInput when a call carries more than :data:`MAX_RECORDS` records."""
    if count > MAX_RECORDS:
        raise errors.InvalidInput(
            f"at most {MAX_RECORDS} records per {method} call; split the batch"
        )


def record_error(i: int, error: errors.DomainError) -> errors.DomainError:
    """The same error class, its message naming this call's record position."""
    return type(error)(f"record {i}: {_RECORD_PREFIX.sub('', error.message)}")


def outcome_error(i: int, outcome: LinkOutcome) -> errors.DomainError:
    """The domain error of a record the registry did not link, naming its position."""
    error = _ERROR_BY_CODE.get(outcome.code, errors.Unavailable)
    return record_error(i, error(outcome.message))


def repeats(numbers: Sequence[tuple[int, str]]) -> dict[int, errors.InvalidInput]:
    """For (position, number) pairs: an error for each position whose number came earlier in
    the call (LinkBatch takes each number once per batch), naming the earlier position."""
    first: dict[str, int] = {}
    out: dict[int, errors.InvalidInput] = {}
    for i, number in numbers:
        if number in first:
            out[i] = errors.InvalidInput(
                f"record {i}: the same My Number is already in record {first[number]}; "
                "send each number once per call"
            )
        else:
            first[number] = i
    return out


def link_in_slices(
    registry: RegistryClient, records: Sequence[tuple[str, BasicFacts]]
) -> list[LinkOutcome]:
    """One outcome per (number, facts) record, in order: one LinkBatch per
    :data:`LINK_SLICE` records, each well inside the registry call's deadline."""
    return [
        outcome
        for start in range(0, len(records), LINK_SLICE)
        for outcome in registry.link_many(records[start : start + LINK_SLICE])
    ]


def rows_in(
    session: Session,
    column: InstrumentedAttribute[Any],
    values: Iterable[Any],
    *columns: InstrumentedAttribute[Any],
) -> list[Any]:
    """Rows whose ``column`` is one of ``values``: ``columns`` when given (tuples), else the
    mapped entities; one SELECT per :data:`CHUNK` values."""
    wanted = sorted(set(values))
    found: list[Any] = []
    for start in range(0, len(wanted), CHUNK):
        part = wanted[start : start + CHUNK]
        if columns:
            found.extend(session.execute(select(*columns).where(column.in_(part))).all())
        else:
            entity = column.class_
            found.extend(session.scalars(select(entity).where(column.in_(part))).all())
    return found


def fresh_values(
    session: Session, column: InstrumentedAttribute[Any], n: int, draw: Callable[[], str]
) -> list[str]:
    """``n`` distinct values of ``draw()`` not yet in ``column`` (one read per chunk of
    candidates; the column's unique index is the final guard against a concurrent writer)."""
    values: list[str] = []
    chosen: set[str] = set()
    while len(values) < n:
        pool = {draw() for _ in range(n - len(values))} - chosen
        taken = {row[0] for row in rows_in(session, column, pool, column)}
        for value in sorted(pool - taken):
            if len(values) < n:
                values.append(value)
                chosen.add(value)
    return values


def retry_on_conflict(write: Callable[[], T], raced: str, *, attempts: int = 3) -> T:
    """``write()`` (one transaction), run again when a unique constraint clashes with a
    concurrent writer (its transaction rolled back whole), up to ``attempts`` times; then
    Conflict with the message ``raced``."""
    for _ in range(attempts):
        try:
            return write()
        except IntegrityError:
            continue
    raise errors.Conflict(raced)


def in_order(answers: Sequence[T | errors.DomainError | None]) -> list[T | errors.DomainError]:
    """Every record's answer; a record left unanswered (a bug) is Unavailable, not lost."""
    return [a if a is not None else errors.Unavailable("not answered") for a in answers]
