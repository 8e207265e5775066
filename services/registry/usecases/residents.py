"""Residents and their links: registration (one and bulk), linking a number to a
domain's token, token status, fact updates, reissue, token-key rotation, locks and
claim PINs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.clock import utc_now
from mynumber_core.facts import BasicFacts
from mynumber_core.mynumber import validate
from services.registry import claim_pins, domain
from services.registry.card_models import revoke_person_cards
from services.registry.domain import PersonStatus
from services.registry.models import (
    DomainKey,
    IssuedNumber,
    Person,
    PersonLock,
    Registration,
)
from services.registry.tokens import PERSON_KEY_BYTES
from services.registry.usecases.base import RegistryBase
from services.registry.usecases.records import (
    NUMBER_PURPOSE,
    Issued,
    Resolved,
    require_domain,
)


class Residents(RegistryBase):
    """Issuance, linking, tokens, reissue, rotation, locks and claim PINs."""

    def register(self, caller: str | None, facts: BasicFacts, idempotency_key: str) -> Issued:
        """Register a resident, issue a number, and link the registering municipality."""
        dom = require_domain(caller)
        if dom != "municipality":
            raise errors.PermissionDenied("only the municipality registers residents")
        if idempotency_key:
            domain.check_request_id(idempotency_key, field="idempotency_key")
        try:
            with self.db.transaction() as session:
                if idempotency_key:
                    done = self._registered(session, dom, idempotency_key, facts)
                    if done is not None:
                        return done
                now = utc_now()
                person = Person(
                    person_key=secrets.token_bytes(PERSON_KEY_BYTES),
                    number="",
                    number_index="",
                    facts=facts.to_json(),
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
        except IntegrityError:
            # A retry racing the first call with this key (another replica, the same moment):
            # the first one's registration row won and this transaction rolled back whole, so
            # nobody was registered twice; answer what the first one answered.
            if not idempotency_key:
                raise
            with self.db.transaction() as session:
                done = self._registered(session, dom, idempotency_key, facts)
            if done is None:
                raise
            return done
        return Issued(number, token, version)

    def _registered(
        self, session: Session, dom: str, idempotency_key: str, facts: BasicFacts
    ) -> Issued | None:
        """The registration an earlier call with this key made (re-linked), or None."""
        done = session.scalars(
            select(Registration).where(
                Registration.caller == dom, Registration.idempotency_key == idempotency_key
            )
        ).first()
        if done is None:
            return None
        person = session.get(Person, done.person_id)
        assert person is not None
        if not BasicFacts.from_json(person.facts).matches(facts):
            raise errors.InvalidInput(
                "idempotency_key was already used for a different resident; "
                "use a new key for a new registration"
            )
        token, version = self._link(session, person, dom)
        return Issued(person.number, token, version)

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

    def _person_by_number(self, session: Session, raw_number: str, facts: BasicFacts) -> Person:
        """The person a number and all four facts name; one NOT_FOUND otherwise.

        No oracle (issue 15): an unknown number, a wrong fact and a reissued number answer
        exactly alike until all four facts match, and every path does the same work. An
        unknown number is checked against a decoy person row (loaded and decrypted like a
        real one) so its timing cannot tell it apart; only a caller who already knows all
        four facts learns that the number was reissued.
        """
        number = validate(raw_number)
        candidates = self.blind.candidates(NUMBER_PURPOSE, number)
        issued = session.scalars(
            select(IssuedNumber).where(IssuedNumber.number_index.in_(candidates))
        ).first()
        decoy = _decoy(session)
        person = session.get(Person, issued.person_id if issued is not None else decoy)
        matches = person is not None and BasicFacts.from_json(person.facts).matches(facts)
        if not matches or issued is None or person is None:
            raise errors.NotFound(_NO_MATCH)
        if issued.retired:
            raise errors.FailedPrecondition(
                "this My Number was reissued and is no longer valid; ask the resident for the "
                "number on their new notification"
            )
        return person

    def link(self, caller: str | None, raw_number: str, facts: BasicFacts) -> tuple[str, int]:
        """Exchange a number plus all four facts for the caller's token."""
        dom = require_domain(caller)
        for attempt in range(3):
            try:
                with self.db.transaction() as session:
                    person = self._person_by_number(session, raw_number, facts)
                    return self._link(session, person, dom)
            except IntegrityError:
                # Concurrent first links race to create the domain's key row (or the same
                # person's link); the loser retries and finds the winner's row.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

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
            if not facts.name_kana:  # a change that does not restate the reading keeps it
                facts = dataclasses.replace(
                    facts, name_kana=BasicFacts.from_json(person.facts).name_kana
                )
            person.facts = facts.to_json()
            if deceased:
                person.status = PersonStatus.DECEASED
                revoke_person_cards(
                    session,
                    person.id,
                    utc_now(),
                    by="municipality",
                    reason="cessationOfOperation",
                )
            person.updated_at = utc_now()

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
            person.updated_at = utc_now()
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
            key.version, key.rotated_at = current + 1, utc_now()
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
                session.add(PersonLock(person_id=person.id, lock=name, set_at=utc_now()))
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
            return claim_pins.issue(session, person.id, utc_now())

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
        now = utc_now()
        with self.db.transaction() as session:
            _, person = self.person_for(session, caller, token)
            person_id = person.id
        claim_pins.reserve(self.db, person_id)  # RATE_LIMITED before anything is compared
        try:
            with self.db.transaction() as session:
                ok = claim_pins.check(session, person_id, pin, requester, procedure, now)
        except errors.DomainError:
            claim_pins.release(self.db, person_id)  # not evaluated (no PIN this year)
            raise
        if ok:
            claim_pins.release(self.db, person_id)  # a right PIN does not count
        else:
            raise errors.PermissionDenied(
                "the claim PIN is wrong; ask the claimant for this year's PIN from the portal"
            )
        return now + claim_pins.ALLOWANCE_TTL


_NO_MATCH = (
    "no registered resident matches this My Number and these four basic facts; check the "
    "number and every fact (name, birth date, sex, address) against the resident's documents"
)


def _decoy(session: Session) -> int:
    """A real person row's id, for an unknown number's lookup to do the same work (0: none)."""
    return int(session.scalar(select(Person.id).order_by(Person.id).limit(1)) or 0)
