"""LinkBatch: an agency links many of its existing records in one call (issue 10, item 5).

Each record is checked exactly as :meth:`Residents.link` checks one: the number and all four
basic facts must match the registry's record; an unknown number, a wrong fact and a reissued
number answer alike (NOT_FOUND, the same message) until all four facts match, and an unknown
number is compared against a decoy row's decrypted facts so it does the same work. Every
record is answered on its own, in request order; a failed record changes nothing.

The failed-attempt limits of Link apply unchanged (services/registry/abuse.py, through
:class:`~services.registry.attempts.AttemptCounters`):

* **per (agency, number)**: one attempt is reserved under each record's key, in one committed
  set-based ``UPDATE``, *before* anything is looked up; a record whose number is at its limit
  is answered RESOURCE_EXHAUSTED and not looked up. A matched (or unevaluated) record gives its
  slot back; a mismatch keeps it.
* **per agency**: the batch takes one attempt before any lookup (a domain at its limit gets
  RESOURCE_EXHAUSTED for the whole call, as Link does), then one per mismatch, as many as the
  window still allows. Mismatches beyond that allowance are never revealed: from the first
  record whose mismatch no attempt covers, every later record is answered RESOURCE_EXHAUSTED
  and left unchanged, so no batch learns more than the limit allows, however many race.

Invalid records (a malformed number, a bad fact, a number repeated in the batch) are refused
before any lookup with INVALID_ARGUMENT naming the record and the rule, never the value; they
reveal nothing and take no attempt. Revealed mismatches become ``link_failed`` security events
(the guard's blind index of the number, never the number) and feed the multi-agency alert.

The work is set-based: one lookup of every candidate index, one read of the persons, one
insert of the new links, so an agency links thousands of records per second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import String, Table, bindparam, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.bound_lists import PerDialect, in_list, insert_many
from mynumber_core.clock import utc_now
from mynumber_core.columns import EncryptedText
from mynumber_core.facts import BasicFacts
from mynumber_core.mynumber import validate
from services.registry.abuse import (
    LINK_DOMAIN_SCOPE,
    LINK_NUMBER_SCOPE,
    AbuseLimits,
    LinkGuard,
    SecurityLog,
)
from services.registry.attempts import CHUNK, AttemptCounters
from services.registry.models import DomainLink, IssuedNumber, Person
from services.registry.usecases.base import RegistryBase
from services.registry.usecases.records import MAX_BATCH, NUMBER_PURPOSE, require_domain
from services.registry.usecases.residents import _NO_MATCH, _decoy

_LINKS: Table = DomainLink.__table__  # type: ignore[assignment]
_ISSUED = PerDialect(
    lambda pg: select(
        IssuedNumber.number_index, IssuedNumber.person_id, IssuedNumber.retired
    ).where(in_list(IssuedNumber.number_index, "indexes", postgres=pg))
)
_STORED_FACTS = PerDialect(  # the ciphertext: decrypted only for the records compared
    lambda pg: select(Person.id, type_coerce(Person.__table__.c.facts, String)).where(
        in_list(Person.id, "ids", postgres=pg)
    )
)
_LINKED = PerDialect(
    lambda pg: select(DomainLink.person_id, DomainLink.key_version).where(
        DomainLink.domain == bindparam("domain"),
        in_list(DomainLink.person_id, "people", postgres=pg),
    )
)
_PERSON_KEYS = PerDialect(
    lambda pg: select(Person.id, Person.person_key).where(in_list(Person.id, "people", postgres=pg))
)
LINK_BATCH_METHOD = "/mynumber.registry.v1.Registry/LinkBatch"
_REISSUED = (
    "this My Number was reissued and is no longer valid; ask the resident for the number on "
    "their new notification"
)


@dataclass(frozen=True)
class RawRecord:
    """One record as received: the number and the four facts, unvalidated."""

    my_number: str
    name: str
    birth_date: str
    sex: str
    """``male`` or ``female``; anything else is refused."""
    address: str


@dataclass(frozen=True)
class LinkRecord:
    """A validated record."""

    number: str
    facts: BasicFacts


@dataclass(frozen=True)
class LinkAnswer:
    """One record's answer: the caller's token, or the error that record gets."""

    token: str = ""
    key_version: int = 0
    error: errors.DomainError | None = None


def parse_records(raw: Sequence[RawRecord]) -> list[LinkRecord | errors.InvalidInput]:
    """Validate every record on its own: a :class:`LinkRecord`, or an INVALID_ARGUMENT whose
    message names the record (0-based) and the rule, never the value. A number that appears
    again later in the batch is refused there (each number once per batch)."""
    out: list[LinkRecord | errors.InvalidInput] = []
    first: dict[str, int] = {}
    for i, record in enumerate(raw):
        try:
            number = validate(record.my_number)
            facts = BasicFacts.parse(record.name, record.birth_date, record.sex, record.address)
        except errors.InvalidInput as exc:
            out.append(errors.InvalidInput(f"record {i}: {exc.message}"))
            continue
        if number in first:
            out.append(
                errors.InvalidInput(
                    f"record {i}: the same My Number is already in record {first[number]}; "
                    "send each number once per batch"
                )
            )
            continue
        first[number] = i
        out.append(LinkRecord(number, facts))
    return out


class BulkLinks:
    """LinkBatch over the registry's database, under the same limits as Link."""

    def __init__(
        self,
        registry: RegistryBase,
        guard: LinkGuard,
        limits: AbuseLimits,
        events: SecurityLog,
    ) -> None:
        self._r = registry
        self._guard = guard
        self._limits = limits
        self._events = events
        self._counters = AttemptCounters(registry.db)

    def link_many(self, caller: str | None, raw: Sequence[RawRecord]) -> list[LinkAnswer]:
        """Answer every record (see the module docstring)."""
        dom = require_domain(caller)
        if len(raw) > MAX_BATCH:
            raise errors.InvalidInput(
                f"at most {MAX_BATCH} records per LinkBatch call; split the batch"
            )
        parsed = parse_records(raw)
        answers: list[LinkAnswer | None] = [
            LinkAnswer(error=p) if isinstance(p, errors.InvalidInput) else None for p in parsed
        ]
        valid = [(i, p) for i, p in enumerate(parsed) if isinstance(p, LinkRecord)]
        if not valid:
            return [a or LinkAnswer() for a in answers]
        lim = self._limits
        held_domain = self._guard.reserve_domain(dom)  # RESOURCE_EXHAUSTED before any lookup
        guard_index = dict(
            zip(
                [i for i, _ in valid],
                self._guard.indexes_of([p.number for _, p in valid]),
                strict=True,
            )
        )
        keys = {i: f"{dom}:{guard_index[i]}" for i, _ in valid}
        reserved = self._counters.reserve_many(
            LINK_NUMBER_SCOPE,
            list(keys.values()),
            lim.link_failures_per_number,
            lim.link_number_window_seconds,
        )
        evaluate = []
        for i, p in valid:
            if keys[i] in reserved:
                evaluate.append((i, p))
            else:
                answers[i] = LinkAnswer(
                    error=errors.RateLimited(
                        f"record {i}: too many failed Link attempts from {dom} for this number "
                        f"(at most {lim.link_failures_per_number} in "
                        f"{lim.link_number_window_seconds:g} s); check the number and the four "
                        "facts against the resident's documents and retry later"
                    )
                )
        try:
            with self._r.db.transaction() as session:
                verdicts = self._evaluate(session, evaluate)
        except BaseException:
            self._counters.release_many(LINK_NUMBER_SCOPE, [keys[i] for i, _ in evaluate])
            self._guard.release(held_domain)
            raise
        failures = [i for i, _ in evaluate if not isinstance(verdicts[i], int)]
        allowed = 1 + self._counters.reserve_up_to(
            LINK_DOMAIN_SCOPE,
            dom,
            len(failures) - 1,
            lim.link_failures_per_domain,
            lim.link_domain_window_seconds,
        )
        cut = failures[allowed] if len(failures) > allowed else None
        revealed = [i for i, _ in evaluate if cut is None or i < cut]
        matched = {i: v for i in revealed if isinstance(v := verdicts[i], int)}
        try:
            linked = self._link(dom, matched)
        except BaseException:  # nothing was revealed: every attempt taken first goes back
            self._counters.release_many(LINK_NUMBER_SCOPE, [keys[i] for i, _ in evaluate])
            self._guard.release(held_domain)
            raise
        failed = [i for i in revealed if i not in matched]
        for i in revealed:
            verdict = verdicts[i]
            answers[i] = (
                LinkAnswer(*linked[i])
                if isinstance(verdict, int)
                else LinkAnswer(error=_with_record(i, verdict))
            )
        for i, _ in evaluate:
            if cut is not None and i >= cut:
                answers[i] = LinkAnswer(
                    error=errors.RateLimited(
                        f"record {i}: not checked: too many failed Link attempts from {dom} "
                        f"(at most {lim.link_failures_per_domain} in "
                        f"{lim.link_domain_window_seconds:g} s); check the failed records and "
                        "send this one again later"
                    )
                )
        kept = set(failed)
        self._counters.release_many(
            LINK_NUMBER_SCOPE, [keys[i] for i, _ in evaluate if i not in kept]
        )
        if not failures:
            self._guard.release(held_domain)
        if failed:
            self._record_failures(
                caller,
                [(guard_index[i], verdicts[i]) for i in failed],
            )
        return [a or LinkAnswer() for a in answers]

    def _evaluate(
        self, session: Session, records: Sequence[tuple[int, LinkRecord]]
    ) -> dict[int, int | errors.DomainError]:
        """Each record's person id when all four facts match, else its error: NOT_FOUND
        for an unknown number or any wrong fact, FAILED_PRECONDITION for a reissued number
        whose facts all match. Unknown numbers are compared against a decoy row."""
        blind = self._r.blind
        wanted: dict[str, int] = {}
        candidates = blind.candidates_many(NUMBER_PURPOSE, [p.number for _, p in records])
        for (i, _), indexes_of_record in zip(records, candidates, strict=True):
            for index in indexes_of_record:
                wanted[index] = i
        issued: dict[int, tuple[int, bool]] = {}  # record → (person id, retired)
        indexes = list(wanted)
        conn = session.connection()
        for start in range(0, len(indexes), CHUNK):
            for index, person_id, retired in conn.execute(
                _ISSUED(conn), {"indexes": indexes[start : start + CHUNK]}
            ):
                issued[wanted[index]] = (person_id, bool(retired))
        decoy = _decoy(session)
        ids = sorted({person_id for person_id, _ in issued.values()} | {decoy})
        stored: dict[int, str] = {}
        for start in range(0, len(ids), CHUNK):
            stored.update(
                conn.execute(_STORED_FACTS(conn), {"ids": ids[start : start + CHUNK]}).all()
            )
        facts_type = Person.__table__.c.facts.type
        assert isinstance(facts_type, EncryptedText)
        dialect = session.get_bind().dialect
        verdicts: dict[int, int | errors.DomainError] = {}
        for i, p in records:
            found = issued.get(i)
            person_id = found[0] if found is not None else decoy
            ciphertext = stored.get(person_id)
            plain = (
                facts_type.process_result_value(ciphertext, dialect)
                if ciphertext is not None
                else None
            )
            matches = plain is not None and BasicFacts.from_json(plain).matches(p.facts)
            if found is None or not matches:
                verdicts[i] = errors.NotFound(_NO_MATCH)
            elif found[1]:
                verdicts[i] = errors.FailedPrecondition(_REISSUED)
            else:
                verdicts[i] = found[0]
        return verdicts

    def _link(self, dom: str, matched: dict[int, int]) -> dict[int, tuple[str, int]]:
        """Create the missing links of the matched persons in one transaction; every
        matched record's (token, key version). Concurrent first links of the same person
        race on the link's unique key: the loser retries and finds the winner's row."""
        if not matched:
            return {}
        people = sorted(set(matched.values()))
        for attempt in range(3):
            try:
                with self._r.db.transaction() as session:
                    version = self._r._domain_version(session, dom)
                    links: dict[int, int] = {}
                    keys: dict[int, bytes] = {}
                    conn = session.connection()
                    for start in range(0, len(people), CHUNK):
                        chunk = people[start : start + CHUNK]
                        links.update(
                            conn.execute(_LINKED(conn), {"domain": dom, "people": chunk}).all()
                        )
                        keys.update(conn.execute(_PERSON_KEYS(conn), {"people": chunk}).all())
                    new = [pid for pid in people if pid not in links]
                    if new:
                        now = utc_now()
                        insert_many(
                            session,
                            _LINKS,
                            [
                                {
                                    "person_id": pid,
                                    "domain": dom,
                                    "key_version": version,
                                    "linked_at": now,
                                }
                                for pid in new
                            ],
                        )
                        links.update(dict.fromkeys(new, version))
                vault = self._r.vault
                return {
                    i: (vault.make(dom, links[pid], keys[pid]), links[pid])
                    for i, pid in matched.items()
                }
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _record_failures(
        self, caller: str | None, failures: Sequence[tuple[str, int | errors.DomainError]]
    ) -> None:
        """One ``link_failed`` event per revealed mismatch (the guard's index of the number,
        never the number), then the multi-agency check."""
        for index, error in failures:
            assert isinstance(error, errors.DomainError)
            self._events.record(
                "link_failed",
                caller=caller,
                method=LINK_BATCH_METHOD,
                status=error.grpc_status.name,
                number_index=index,
                detail={"error": type(error).__name__},
            )
            self._guard.failed(index, LINK_BATCH_METHOD)


def _with_record(i: int, error: errors.DomainError) -> errors.DomainError:
    """The same error class, its message prefixed with the record's position."""
    return type(error)(f"record {i}: {error.message}")
