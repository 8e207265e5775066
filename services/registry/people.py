"""The hub's read path: who a token names, and what a query needs, in one round trip.

A domain's token for a person never changes meaning (AES-SIV of the person key, which is
never reused, and persons are never deleted), so :class:`PersonCache` keeps a bounded
in-process LRU from (domain, token) to the person's row id, key and exchange-log tag; unknown
tokens are not cached. Locks, links and idempotency records do change, so they are never
cached: :meth:`PersonCache.read_for_query` reads all three in one SQL statement (scalar
subqueries) on an autocommit connection: one network round trip on PostgreSQL, no
BEGIN/COMMIT. That statement is built once, with bound parameters, not per query: building it
(SQLAlchemy's operator and coercion machinery) cost about as much CPU as running it (issue
10's profile). A batch (``BatchQuery``) resolves its uncached tokens in one statement and
reads its queries' idempotency records, locks and links in three
(:meth:`PersonCache.read_for_queries`), not two statements per query.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, literal_column, select

from mynumber_core import errors
from mynumber_core.bound_lists import PerDialect, in_list
from mynumber_core.db import Database
from services.registry.domain import Outcome
from services.registry.models import DomainLink, LogEntry, LogHead, Person, PersonLock
from services.registry.tokens import TokenVault

MAX_PEOPLE = 200_000
"""Cached token → person mappings at most (a few hundred bytes each)."""
NOT_LINKED = "this token is not known to your domain; link the resident first"


_LOG_SIZE = select(LogHead.size).where(LogHead.id == 1)
"""The log's committed size: the exchanges' idempotency read that follows it sees every entry
below it (the sequencer then re-checks only newer ones: ``Append.checked_below``)."""


def _read_for_query_statement() -> Select[Any]:
    """(recorded index, comma-joined locks, link key version, log size) for the bound
    ``requester``, ``request_id``, ``person_id`` and ``provider``: one statement of four
    scalar subqueries (one snapshot: every entry below the size read is seen by the first)."""
    done = (
        select(LogEntry.index)
        .where(
            LogEntry.requester == bindparam("requester"),
            LogEntry.request_id == bindparam("request_id"),
            # Constants from code, rendered inline: no expanding IN parameter to process per
            # execution.
            LogEntry.outcome.in_(
                [
                    literal_column(f"'{Outcome.PROVIDED.value}'"),
                    literal_column(f"'{Outcome.DENIED.value}'"),
                ]
            ),
        )
        .order_by(LogEntry.index)
        .limit(1)
        .scalar_subquery()
    )
    person_id: Any = bindparam("person_id")
    locks = (
        select(func.aggregate_strings(PersonLock.lock, ","))
        .where(PersonLock.person_id == person_id)
        .scalar_subquery()
    )
    link = (
        select(DomainLink.key_version)
        .where(DomainLink.person_id == person_id, DomainLink.domain == bindparam("provider"))
        .limit(1)
        .scalar_subquery()
    )
    return select(done, locks, link, _LOG_SIZE.scalar_subquery())


_READ_FOR_QUERY = _read_for_query_statement()
_PEOPLE_BY_KEY = PerDialect(
    lambda pg: select(Person.id, Person.person_key).where(
        in_list(Person.person_key, "keys", postgres=pg)
    )
)
_DONE_MANY = PerDialect(
    lambda pg: (
        select(LogEntry.request_id, func.min(LogEntry.index))
        .where(
            LogEntry.requester == bindparam("requester"),
            in_list(LogEntry.request_id, "request_ids", postgres=pg),
            LogEntry.outcome.in_(
                [
                    literal_column(f"'{Outcome.PROVIDED.value}'"),
                    literal_column(f"'{Outcome.DENIED.value}'"),
                ]
            ),
        )
        .group_by(LogEntry.request_id)
    )
)
_LOCKS_MANY = PerDialect(
    lambda pg: select(PersonLock.person_id, PersonLock.lock).where(
        in_list(PersonLock.person_id, "person_ids", postgres=pg)
    )
)
_LINKS_MANY = PerDialect(
    lambda pg: select(DomainLink.person_id, DomainLink.domain, DomainLink.key_version).where(
        in_list(DomainLink.person_id, "person_ids", postgres=pg),
        in_list(DomainLink.domain, "providers", postgres=pg),
    )
)
"""The batch reads: each list one bound parameter (``mynumber_core.bound_lists``)."""


@dataclass(frozen=True)
class PersonRef:
    """What the hub needs of a person: row id, key (never leaves), exchange-log tag."""

    id: int
    person_key: bytes
    tag: str


@dataclass(frozen=True)
class QueryFacts:
    """What :meth:`PersonCache.read_for_query` reads for one query."""

    done_index: int | None
    locks: list[str]
    link_version: int | None
    checked_below: int | None = None
    """The log was searched below this index for ``done_index`` (None: not known)."""


class _Lru:
    """A bounded, thread-safe LRU map (the gRPC handlers share one)."""

    def __init__(self, maxsize: int) -> None:
        self._data: OrderedDict[tuple[str, str], PersonRef] = OrderedDict()
        self._lock = threading.Lock()
        self._maxsize = maxsize

    def get(self, key: tuple[str, str]) -> PersonRef | None:
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], value: PersonRef) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._maxsize:
                self._data.popitem(last=False)


class PersonCache:
    """Token → person with a bounded LRU; see the module docstring."""

    def __init__(self, db: Database, vault: TokenVault, maxsize: int = MAX_PEOPLE) -> None:
        self._db = db
        self._vault = vault
        self._cache = _Lru(maxsize)

    def person(self, domain: str, token: str) -> PersonRef:
        """The person ``token`` names in ``domain``; NOT_FOUND otherwise (never cached)."""
        found = self.people(domain, [token])[token]
        if isinstance(found, errors.DomainError):
            raise found
        return found

    def people(
        self, domain: str, tokens: Sequence[str]
    ) -> dict[str, PersonRef | errors.DomainError]:
        """Each token's person (or the error :meth:`person` would raise): cached ones from
        the LRU, the others in one statement."""
        found: dict[str, PersonRef | errors.DomainError] = {}
        keys: dict[bytes, list[str]] = {}
        for token in dict.fromkeys(tokens):
            if not token:
                found[token] = errors.InvalidInput("token is required")
                continue
            cached = self._cache.get((domain, token))
            if cached is not None:
                found[token] = cached
                continue
            opened = self._vault.open(domain, token)
            if opened is None:
                found[token] = errors.NotFound(NOT_LINKED)
                continue
            keys.setdefault(opened[0], []).append(token)
        if keys:
            with self._db.reading() as conn:
                rows = conn.execute(_PEOPLE_BY_KEY(conn), {"keys": list(keys)}).all()
            ids = {bytes(key): int(person_id) for person_id, key in rows}
            for key, named in keys.items():
                person_id = ids.get(key)
                ref = (
                    None
                    if person_id is None
                    else PersonRef(person_id, key, self._vault.citizen_tag(key))
                )
                for token in named:
                    if ref is None:
                        found[token] = errors.NotFound(NOT_LINKED)
                    else:
                        self._cache.put((domain, token), ref)
                        found[token] = ref
        return found

    def read_for_query(
        self, requester: str, person: PersonRef, request_id: str, provider: str
    ) -> QueryFacts:
        """The index of a recorded query with this request_id, the person's locks, the
        provider's link key version or None, and the log size below which the first was
        searched, in one statement."""
        with self._db.reading() as conn:
            done_index, lock_list, link_version, size = conn.execute(
                _READ_FOR_QUERY,
                {
                    "requester": requester,
                    "request_id": request_id,
                    "person_id": person.id,
                    "provider": provider,
                },
            ).one()
        return QueryFacts(
            None if done_index is None else int(done_index),
            [name for name in (lock_list or "").split(",") if name],
            None if link_version is None else int(link_version),
            int(size or 0),
        )

    def read_for_queries(
        self, requester: str, wanted: Sequence[tuple[PersonRef, str, str]]
    ) -> list[QueryFacts]:
        """:meth:`read_for_query` for a batch of (person, request_id, provider): three
        statements for the whole batch (log size, idempotency records, locks, links) on one
        connection, instead of one statement per query. The size is read first: the
        idempotency read, a later statement, sees every entry below it."""
        if not wanted:
            return []
        request_ids = sorted({request_id for _, request_id, _ in wanted})
        person_ids = sorted({person.id for person, _, _ in wanted})
        providers = sorted({provider for _, _, provider in wanted})
        with self._db.reading() as conn:
            size = int(conn.scalar(_LOG_SIZE) or 0)
            done = {
                request_id: int(index)
                for request_id, index in conn.execute(
                    _DONE_MANY(conn), {"requester": requester, "request_ids": request_ids}
                )
            }
            locks: dict[int, list[str]] = {}
            for person_id, lock in conn.execute(_LOCKS_MANY(conn), {"person_ids": person_ids}):
                locks.setdefault(int(person_id), []).append(lock)
            links = {
                (int(person_id), dom): int(version)
                for person_id, dom, version in conn.execute(
                    _LINKS_MANY(conn), {"person_ids": person_ids, "providers": providers}
                )
            }
        return [
            QueryFacts(
                done.get(request_id),
                sorted(locks.get(person.id, [])),
                links.get((person.id, provider)),
                size,
            )
            for person, request_id, provider in wanted
        ]
