"""The registry's operations: issuance, linking, tokens, reissue, rotation, locks, and the
exchange hub (query, batch, publish) with its log.

Every method takes the caller's mTLS identity; nothing trusts a domain named in a request.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mynumber_core import errors, metrics
from mynumber_core.facts import BasicFacts
from mynumber_core.interceptors import status_code
from mynumber_core.keyring import BlindIndex
from mynumber_core.mynumber import InvalidMyNumber, generate, validate
from services.registry import claim_pins, domain
from services.registry.bulk import BulkEnroller
from services.registry.card_models import revoke_person_cards
from services.registry.domain import AccessRights, Outcome, PersonStatus
from services.registry.exchange_log import ExchangeLogStore, NewEntry
from services.registry.models import (
    DomainKey,
    DomainLink,
    IssuedNumber,
    Person,
    PersonLock,
    Registration,
)
from services.registry.tokens import PERSON_KEY_BYTES, TokenVault

MAX_PARAMS_BYTES = 8 * 1024
MAX_BATCH = 10_000
NUMBER_PURPOSE = "my-number"


@dataclass(frozen=True)
class Issued:
    """Result of a registration or reissue."""

    my_number: str
    token: str
    key_version: int


@dataclass(frozen=True)
class Resolved:
    """A token's status for its own domain."""

    found: bool
    status: str = ""
    reissued: bool = False
    key_version: int = 0


@dataclass(frozen=True)
class ProviderAnswer:
    """What a provider returned, or how it failed."""

    data: Mapping[str, Any] | None
    error: errors.DomainError | None = None


@dataclass(frozen=True)
class QueryResult:
    """Data returned to a requester, and the log entry recording it."""

    data: Mapping[str, Any]
    log_index: int


@dataclass(frozen=True)
class _Planned:
    """An authorised query, translated for its provider, not yet fetched."""

    requester: str
    provider: str
    item: str
    procedure: str
    request_id: str
    params: Mapping[str, Any]
    fingerprint: str
    tag: str
    provider_token: str

    def entry(
        self, outcome: str, reason: str, result: str | None = None, code: int = 0
    ) -> NewEntry:
        """The log entry recording this query with an outcome."""
        return NewEntry(
            self.requester,
            self.provider,
            self.item,
            self.procedure,
            outcome,
            reason,
            self.request_id,
            self.tag,
            self.fingerprint,
            result,
            code,
        )


QueryArgs = tuple[str, str, str, str, str, Mapping[str, Any]]
"""(token, provider, item, procedure, request_id, params) of one query in a batch."""

ProvideFn = Callable[[str, str, str, str, str, str, Mapping[str, Any]], ProviderAnswer]
"""(service, token, item, procedure, request_id, requester, params) → answer."""
DeliverFn = Callable[[str, str, str, str, str, Mapping[str, Any]], errors.DomainError | None]
"""(service, token, event_type, event_id, publisher, payload) → error or None."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _facts_json(facts: BasicFacts) -> str:
    return json.dumps(
        {
            "name": facts.name,
            "birth_date": facts.birth_date.isoformat(),
            "sex": facts.sex,
            "address": facts.address,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def _facts_from_json(text: str) -> BasicFacts:
    raw = json.loads(text)
    return BasicFacts(
        raw["name"], dt.date.fromisoformat(raw["birth_date"]), raw["sex"], raw["address"]
    )


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def require_domain(identity: str | None) -> str:
    """The caller's token domain; PERMISSION_DENIED for identities without one."""
    dom = domain.domain_of(identity)
    if dom is None:
        raise errors.PermissionDenied("this identity has no token domain and cannot hold tokens")
    return dom


class Registry:
    """All registry use cases over one database."""

    def __init__(
        self,
        db: Any,
        vault: TokenVault,
        blind: BlindIndex,
        access: AccessRights,
        log: ExchangeLogStore,
        provide: ProvideFn,
        deliver: DeliverFn,
    ) -> None:
        self.db = db
        self.vault = vault
        self.blind = blind
        self.access = access
        self.log = log
        self._provide = provide
        self._deliver = deliver
        self.bulk = BulkEnroller(vault, blind)
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="registry-fetch")

    # ----------------------------------------------------------------- numbers and tokens

    def _number_taken(self, session: Session) -> Callable[[str], bool]:
        def taken(number: str) -> bool:
            candidates = self.blind.candidates(NUMBER_PURPOSE, number)
            return (
                session.scalars(
                    select(IssuedNumber.number_index).where(
                        IssuedNumber.number_index.in_(candidates)
                    )
                ).first()
                is not None
            )

        return taken

    def _domain_version(self, session: Session, dom: str) -> int:
        key = session.get(DomainKey, dom)
        if key is None:
            key = DomainKey(domain=dom, version=1, rotated_at=_now())
            session.add(key)
            session.flush()
        return key.version

    def _link(self, session: Session, person: Person, dom: str) -> tuple[str, int]:
        link = session.scalars(
            select(DomainLink).where(DomainLink.person_id == person.id, DomainLink.domain == dom)
        ).first()
        if link is None:
            link = DomainLink(
                person_id=person.id,
                domain=dom,
                key_version=self._domain_version(session, dom),
                linked_at=_now(),
            )
            session.add(link)
            session.flush()
        return self.vault.make(dom, link.key_version, person.person_key), link.key_version

    def _issue_number(self, session: Session, person: Person) -> str:
        number = generate(self._number_taken(session))
        index = self.blind.index(NUMBER_PURPOSE, number)
        person.number, person.number_index = number, index
        session.add(IssuedNumber(number_index=index, person_id=person.id, issued_at=_now()))
        return number

    def register(self, caller: str | None, facts: BasicFacts, idempotency_key: str) -> Issued:
        """Register a resident, issue a number, and link the registering municipality."""
        dom = require_domain(caller)
        if dom != "municipality":
            raise errors.PermissionDenied("only the municipality registers residents")
        if idempotency_key:
            domain.check_request_id(idempotency_key, field="idempotency_key")
        with self.db.transaction() as session:
            if idempotency_key:
                done = session.scalars(
                    select(Registration).where(
                        Registration.caller == dom, Registration.idempotency_key == idempotency_key
                    )
                ).first()
                if done is not None:
                    person = session.get(Person, done.person_id)
                    assert person is not None
                    if not _facts_from_json(person.facts).matches(facts):
                        raise errors.InvalidInput(
                            "idempotency_key was already used for a different resident; "
                            "use a new key for a new registration"
                        )
                    token, version = self._link(session, person, dom)
                    return Issued(person.number, token, version)
            now = _now()
            person = Person(
                person_key=secrets.token_bytes(PERSON_KEY_BYTES),
                number="",
                number_index="",
                facts=_facts_json(facts),
                status=PersonStatus.ACTIVE,
                reissued=False,
                created_at=now,
                updated_at=now,
            )
            session.add(person)
            session.flush()
            number = self._issue_number(session, person)
            if idempotency_key:
                session.add(
                    Registration(
                        caller=dom,
                        idempotency_key=idempotency_key,
                        kind="register",
                        person_id=person.id,
                    )
                )
            token, version = self._link(session, person, dom)
        return Issued(number, token, version)

    def register_many(
        self, caller: str | None, residents: Sequence[tuple[BasicFacts, str]]
    ) -> list[Issued]:
        """Register many residents in one transaction through the bulk (COPY) path.

        Idempotency keys already used are answered from their first registration.
        """
        dom = require_domain(caller)
        if dom != "municipality":
            raise errors.PermissionDenied("only the municipality registers residents")
        keys = [key for _, key in residents if key]
        for key in keys:
            domain.check_request_id(key, field="idempotency_key")
        if len(set(keys)) != len(keys):
            raise errors.InvalidInput("idempotency keys must be unique within one bulk request")
        with self.db.transaction() as session:
            seen = (
                set(
                    session.scalars(
                        select(Registration.idempotency_key).where(
                            Registration.caller == dom, Registration.idempotency_key.in_(keys)
                        )
                    )
                )
                if keys
                else set()
            )
        replayed = {
            key: self.register(caller, facts, key) for facts, key in residents if key in seen
        }
        fresh = [(facts, key) for facts, key in residents if key not in seen]
        with self.db.transaction() as session:
            version = self._domain_version(session, dom)
            enrolled = iter(self.bulk.enrol(session, fresh, caller=dom, key_version=version))
        results = []
        for _, key in residents:
            if key in replayed:
                results.append(replayed[key])
            else:
                e = next(enrolled)
                results.append(Issued(e.my_number, e.token, e.key_version))
        return results

    def _person_by_number(self, session: Session, raw_number: str) -> Person:
        number = validate(raw_number)
        candidates = self.blind.candidates(NUMBER_PURPOSE, number)
        issued = session.scalars(
            select(IssuedNumber).where(IssuedNumber.number_index.in_(candidates))
        ).first()
        if issued is not None and issued.retired:
            raise errors.FailedPrecondition(
                "this My Number was reissued and is no longer valid; ask the resident for the "
                "number on their new notification"
            )
        person = session.get(Person, issued.person_id) if issued is not None else None
        if person is None:
            raise errors.NotFound(_NO_MATCH)
        return person

    def link(self, caller: str | None, raw_number: str, facts: BasicFacts) -> tuple[str, int]:
        """Exchange a number plus all four facts for the caller's token."""
        dom = require_domain(caller)
        for attempt in range(3):
            try:
                with self.db.transaction() as session:
                    person = self._person_by_number(session, raw_number)
                    if not _facts_from_json(person.facts).matches(facts):
                        raise errors.NotFound(_NO_MATCH)
                    return self._link(session, person, dom)
            except IntegrityError:
                # Concurrent first links race to create the domain's key row (or the same
                # person's link); the loser retries and finds the winner's row.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _person_by_token(self, session: Session, dom: str, token: str) -> Person | None:
        opened = self.vault.open(dom, token)
        if opened is None:
            return None
        return session.scalars(select(Person).where(Person.person_key == opened[0])).first()

    def person_for(self, session: Session, caller: str | None, token: str) -> tuple[str, Person]:
        """The caller's domain and the person its token names; NOT_FOUND otherwise."""
        dom = require_domain(caller)
        if not token:
            raise errors.InvalidInput("token is required")
        person = self._person_by_token(session, dom, token)
        if person is None:
            raise errors.NotFound("this token is not known to your domain; link the resident first")
        return dom, person

    def resolve(self, caller: str | None, token: str) -> Resolved:
        """Status of the caller's own token; other domains' tokens resolve to nothing."""
        dom = require_domain(caller)
        opened = self.vault.open(dom, token)
        if opened is None:
            return Resolved(found=False)
        with self.db.transaction() as session:
            person = session.scalars(select(Person).where(Person.person_key == opened[0])).first()
            if person is None:
                return Resolved(found=False)
            return Resolved(True, person.status, person.reissued, opened[1])

    def update_facts(
        self, caller: str | None, token: str, facts: BasicFacts, deceased: bool
    ) -> None:
        """The municipality records new facts (move, name change) or a death."""
        if domain.domain_of(caller) != "municipality":
            raise errors.PermissionDenied("only the municipality updates the basic facts")
        with self.db.transaction() as session:
            _, person = self.person_for(session, caller, token)
            person.facts = _facts_json(facts)
            if deceased:
                person.status = PersonStatus.DECEASED
                revoke_person_cards(
                    session,
                    person.id,
                    _now(),
                    by="municipality",
                    reason="cessationOfOperation",
                )
            person.updated_at = _now()

    def reissue(self, caller: str | None, token: str, idempotency_key: str) -> str:
        """Retire the person's number and issue a new one; every token stays the same."""
        dom = require_domain(caller)
        if dom not in ("municipality", "portal"):
            raise errors.PermissionDenied(
                "numbers are reissued by the municipality or the resident"
            )
        domain.check_request_id(idempotency_key, field="idempotency_key")
        with self.db.transaction() as session:
            _, person = self.person_for(session, caller, token)
            done = session.scalars(
                select(Registration).where(
                    Registration.caller == dom,
                    Registration.idempotency_key == idempotency_key,
                )
            ).first()
            if done is not None:
                # Keys are unique per caller across registrations and reissues (one table).
                if done.kind != "reissue" or done.person_id != person.id:
                    raise errors.InvalidInput(
                        "idempotency_key was already used for another request; use a new key"
                    )
                return person.number
            if person.status == PersonStatus.DECEASED:
                raise errors.FailedPrecondition("the number of a deceased person is not reissued")
            old = session.get(IssuedNumber, person.number_index)
            if old is not None:
                old.retired = True
            number = self._issue_number(session, person)
            person.reissued = True
            person.updated_at = _now()
            session.add(
                Registration(
                    caller=dom, idempotency_key=idempotency_key, kind="reissue", person_id=person.id
                )
            )
        return number

    def rotate_key(self, caller: str | None, target: str) -> int:
        """Start a new token-key version for one domain (operator only)."""
        if caller != "operator":
            raise errors.PermissionDenied("only the operator rotates token keys")
        domain.check_domain(target, what="domain")
        with self.db.transaction() as session:
            current = self._domain_version(session, target)
            key = session.get(DomainKey, target)
            assert key is not None
            key.version, key.rotated_at = current + 1, _now()
            return key.version

    def set_locks(self, caller: str | None, token: str, locks: Sequence[str]) -> list[str]:
        """Replace the resident's locks (the portal acts for the resident)."""
        if domain.domain_of(caller) != "portal":
            raise errors.PermissionDenied("locks are set by the resident through the portal")
        unknown = sorted(set(locks) - set(domain.LOCKS))
        if unknown:
            raise errors.InvalidInput(
                f"unknown lock {unknown[0][:32]!r}; known locks: {', '.join(domain.LOCKS)}"
            )
        with self.db.transaction() as session:
            _, person = self.person_for(session, caller, token)
            existing = {
                row.lock: row
                for row in session.scalars(
                    select(PersonLock).where(PersonLock.person_id == person.id)
                )
            }
            for name, row in existing.items():
                if name not in locks:
                    session.delete(row)
            for name in set(locks) - set(existing):
                session.add(PersonLock(person_id=person.id, lock=name, set_at=_now()))
        return sorted(set(locks))

    def issue_claim_pin(self, caller: str | None, token: str) -> tuple[str, int]:
        """A new claim PIN for this year (the portal asks for the resident); shown once."""
        if domain.domain_of(caller) != "portal":
            raise errors.PermissionDenied(
                "claim PINs are issued to the resident through the portal"
            )
        with self.db.transaction() as session:
            _, person = self.person_for(session, caller, token)
            if person.status == PersonStatus.DECEASED:
                raise errors.FailedPrecondition("no claim PIN is issued for a deceased person")
            return claim_pins.issue(session, person.id, _now())

    def verify_claim_pin(
        self, caller: str | None, token: str, pin: str, procedure: str
    ) -> dt.datetime:
        """Check the PIN a claimant gave; on success the procedure may pass ``protect_claims``
        for this person until the returned time. Every attempt is recorded."""
        requester = require_domain(caller)
        domain.check_procedure(procedure)
        if not domain.pin_procedure_allowed(requester, procedure):
            raise errors.PermissionDenied(
                f"{requester} may not verify a claim PIN for procedure {procedure!r}"
            )
        pin = claim_pins.parse_pin(pin)
        now = _now()
        with self.db.transaction() as session:
            _, person = self.person_for(session, caller, token)
            ok = claim_pins.check(session, person.id, pin, requester, procedure, now)
        if not ok:
            raise errors.PermissionDenied(
                "the claim PIN is wrong; ask the claimant for this year's PIN from the portal"
            )
        return now + claim_pins.ALLOWANCE_TTL

    def _locks(self, session: Session, person: Person) -> list[str]:
        return list(
            session.scalars(select(PersonLock.lock).where(PersonLock.person_id == person.id))
        )

    def _translate(self, session: Session, person: Person, dom: str) -> str | None:
        link = session.scalars(
            select(DomainLink).where(DomainLink.person_id == person.id, DomainLink.domain == dom)
        ).first()
        return None if link is None else self.vault.make(dom, link.key_version, person.person_key)

    def linked_domains(self, session: Session, person: Person) -> list[str]:
        """Domains that hold a token for the person."""
        return sorted(
            session.scalars(select(DomainLink.domain).where(DomainLink.person_id == person.id))
        )

    # ------------------------------------------------------------------------ the hub

    def _record(self, entry: NewEntry) -> int:
        with self.log.writing() as session:
            index = self.log.append(session, entry, _now())
        metrics.EXCHANGES.labels(entry.outcome).inc()
        return index

    def query(
        self,
        caller: str | None,
        token: str,
        provider: str,
        item: str,
        procedure: str,
        request_id: str,
        params: Mapping[str, Any],
        *,
        remaining: float | None = None,
    ) -> QueryResult:
        """Authorise, translate, fetch, record (durably, first), return."""
        plan = self._plan(
            caller, token, provider, item, procedure, request_id, params, remaining=remaining
        )
        if isinstance(plan, QueryResult):
            return plan
        answer = self._fetch(plan)
        with self.log.writing() as session:
            outcome = self._settle(session, plan, answer)
        if isinstance(outcome, errors.DomainError):
            raise outcome
        return outcome

    def query_many(
        self, caller: str | None, specs: Sequence[QueryArgs], *, remaining: float | None = None
    ) -> list[QueryResult | errors.DomainError]:
        """A batch: each query authorised on its own, providers asked in parallel, and every
        outcome appended in one durable transaction before any data is returned."""
        plans: list[_Planned | QueryResult | errors.DomainError] = []
        for spec in specs:
            try:
                plans.append(self._plan(caller, *spec, remaining=remaining))
            except errors.DomainError as exc:
                plans.append(exc)
        pending = [(i, p) for i, p in enumerate(plans) if isinstance(p, _Planned)]
        contexts = [contextvars.copy_context() for _ in pending]
        # Each worker runs in a copy of this call's context: deadline, caller, request id.
        answers = list(
            self._pool.map(
                lambda pair: pair[0].run(self._fetch, pair[1][1]),
                zip(contexts, pending, strict=True),
            )
        )
        with self.log.writing() as session:
            for (i, plan), answer in zip(pending, answers, strict=True):
                plans[i] = self._settle(session, plan, answer)
        settled = [p for p in plans if not isinstance(p, _Planned)]
        assert len(settled) == len(specs)
        return settled

    def _plan(
        self,
        caller: str | None,
        token: str,
        provider: str,
        item: str,
        procedure: str,
        request_id: str,
        params: Mapping[str, Any],
        *,
        remaining: float | None = None,
    ) -> _Planned | QueryResult:
        """Validate, authorise and translate; a denial or a missing link is recorded and
        raised, a retry of a recorded query is answered from its record."""
        requester = require_domain(caller)
        domain.check_domain(provider)
        domain.check_item(item)
        domain.check_procedure(procedure)
        domain.check_request_id(request_id)
        encoded = json.dumps(dict(params), sort_keys=True, default=str)
        if len(encoded.encode()) > MAX_PARAMS_BYTES:
            raise errors.InvalidInput(f"params are too large (at most {MAX_PARAMS_BYTES} bytes)")
        if remaining is not None and remaining <= 0:
            raise errors.DeadlineExceeded("the request's deadline had already passed")
        fingerprint = _fingerprint(token, provider, item, procedure, encoded)
        with self.db.transaction() as session:
            _, person = self.person_for(session, caller, token)
            tag = self.vault.citizen_tag(person.person_key)
            # A request_id names one query, whichever provider it went to.
            done = self.log.find(
                session, requester, request_id, None, (Outcome.PROVIDED, Outcome.DENIED)
            )
            if done is not None:
                return self._replay(done, fingerprint)
            denial = None
            if self.access.query_rule(requester, provider, item, procedure) is None:
                denial = (
                    f"the access-rights table does not allow {requester} to obtain {item!r} "
                    f"from {provider} under procedure {procedure!r}"
                )
            else:
                locks = self._locks(session, person)
                verified = (
                    "protect_claims" in locks
                    and procedure in domain.CLAIM_PROCEDURES
                    and claim_pins.allowed(session, person.id, procedure, _now())
                )
                denial = domain.lock_denial(locks, requester, procedure, pin_verified=verified)
            provider_token = None if denial else self._translate(session, person, provider)
        plan = _Planned(
            requester,
            provider,
            item,
            procedure,
            request_id,
            dict(params),
            fingerprint,
            tag,
            provider_token or "",
        )
        if denial is not None:
            self._record(plan.entry(Outcome.DENIED, denial, code=7))
            raise errors.PermissionDenied(denial)
        if provider_token is None:
            reason = f"{provider} holds no record of this person"
            self._record(plan.entry(Outcome.FAILED, reason, code=5))
            raise errors.NotFound(reason)
        return plan

    def _fetch(self, plan: _Planned) -> ProviderAnswer:
        return self._provide(
            domain.service_of(plan.provider),
            plan.provider_token,
            plan.item,
            plan.procedure,
            plan.request_id,
            plan.requester,
            plan.params,
        )

    def _settle(
        self, session: Session, plan: _Planned, answer: ProviderAnswer
    ) -> QueryResult | errors.DomainError:
        """Append the exchange's entry inside :meth:`ExchangeLogStore.writing`."""
        if answer.error is not None:
            code = status_code(answer.error)
            self.log.append(
                session, plan.entry(Outcome.FAILED, answer.error.message[:500], code=code), _now()
            )
            metrics.EXCHANGES.labels(Outcome.FAILED).inc()
            return answer.error
        data = dict(answer.data or {})
        result = json.dumps(data, ensure_ascii=False, sort_keys=True)
        done = self.log.find(session, plan.requester, plan.request_id, None, (Outcome.PROVIDED,))
        if done is not None:  # a concurrent retry won the race: answer with its record
            return self._replay(done, plan.fingerprint)
        index = self.log.append(session, plan.entry(Outcome.PROVIDED, "", result), _now())
        metrics.EXCHANGES.labels(Outcome.PROVIDED).inc()
        return QueryResult(data, index)

    def _replay(self, done: Any, fingerprint: str) -> QueryResult:
        if done.fingerprint != fingerprint:
            raise errors.InvalidInput(
                "request_id was already used for a different query; use a new request_id"
            )
        if done.outcome == Outcome.DENIED:
            raise errors.PermissionDenied(done.message)
        return QueryResult(json.loads(done.result or "{}"), done.index)

    def publish(
        self,
        caller: str | None,
        token: str,
        event_type: str,
        event_id: str,
        payload: Mapping[str, Any],
        procedure: str,
        audience: Sequence[str],
    ) -> list[str]:
        """Deliver an event to the domains that know the person, each under its own token."""
        publisher = require_domain(caller)
        domain.check_item(event_type)
        domain.check_procedure(procedure)
        domain.check_request_id(event_id, field="event_id")
        for a in audience:
            domain.check_domain(a, what="audience")
        encoded = json.dumps(dict(payload), sort_keys=True, default=str)
        if len(encoded.encode()) > MAX_PARAMS_BYTES * 4:
            raise errors.InvalidInput("payload is too large (at most 32 KiB)")
        fingerprint = _fingerprint(token, event_type, procedure, encoded)
        allowed = self.access.publish_audience(publisher, event_type, procedure)
        denial = None
        if allowed is None or (
            audience and "*" not in allowed and not set(audience) <= set(allowed)
        ):
            denial = (
                f"the access-rights table does not allow {publisher} to publish "
                f"{event_type!r} under procedure {procedure!r}"
                + (f" to {', '.join(audience)}" if audience else "")
            )
        with self.db.transaction() as session:
            _, person = self.person_for(session, caller, token)
            tag = self.vault.citizen_tag(person.person_key)
            plan: list[tuple[str, str]] = []
            targets: list[str] = []
            if denial is None and allowed is not None:
                linked = [d for d in self.linked_domains(session, person) if d != publisher]
                targets = [d for d in linked if "*" in allowed or d in allowed]
                if audience:
                    targets = [d for d in targets if d in audience]
                for receiver in targets:
                    done = self.log.find(
                        session, publisher, event_id, receiver, (Outcome.DELIVERED,)
                    )
                    if done is not None:
                        if done.fingerprint != fingerprint:
                            raise errors.InvalidInput(
                                "event_id was already used for a different event; "
                                "use a new event_id"
                            )
                        continue
                    receiver_token = self._translate(session, person, receiver)
                    assert receiver_token is not None  # linked_domains implies a link
                    plan.append((receiver, receiver_token))
        if denial is not None:
            self._record(
                NewEntry(
                    publisher,
                    ",".join(audience) or "*",
                    event_type,
                    procedure,
                    Outcome.DENIED,
                    denial,
                    event_id,
                    tag,
                    fingerprint,
                    None,
                    7,
                )
            )
            raise errors.PermissionDenied(denial)
        failures = []
        for receiver, receiver_token in plan:
            error = self._deliver(
                domain.service_of(receiver),
                receiver_token,
                event_type,
                event_id,
                publisher,
                payload,
            )
            outcome, reason = (
                (Outcome.DELIVERED, "") if error is None else (Outcome.FAILED, error.message[:500])
            )
            self._record(
                NewEntry(
                    publisher,
                    receiver,
                    event_type,
                    procedure,
                    outcome,
                    reason,
                    event_id,
                    tag,
                    fingerprint,
                    None,
                    0 if error is None else status_code(error),
                )
            )
            if error is not None:
                failures.append(receiver)
        if failures:
            raise errors.Unavailable(
                f"delivery to {', '.join(failures)} failed; retry with the same event_id"
            )
        return targets

    # ------------------------------------------------------------------- the log

    def citizen_tag_for(self, caller: str | None, token: str) -> str:
        """The log tag of the person the caller's token names."""
        with self.db.transaction() as session:
            _, person = self.person_for(session, caller, token)
            return self.vault.citizen_tag(person.person_key)


_NO_MATCH = (
    "no registered resident matches this My Number and these four basic facts; check the "
    "number and every fact (name, birth date, sex, address) against the resident's documents"
)

__all__ = ["InvalidMyNumber", "Registry"]
