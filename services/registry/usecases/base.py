"""What every registry feature shares: the registry's dependencies, and the person,
number, token and link lookups the features build on.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mynumber_core import errors, metrics
from mynumber_core.clock import utc_now
from mynumber_core.keyring import BlindIndex
from mynumber_core.mynumber import generate
from services.registry.bulk import BulkEnroller
from services.registry.domain import AccessRights
from services.registry.exchange_log import ExchangeLogStore, NewEntry
from services.registry.key_directory import KeyDirectory
from services.registry.models import (
    DomainKey,
    DomainLink,
    IssuedNumber,
    Person,
    PersonLock,
)
from services.registry.people import PersonCache
from services.registry.tokens import TokenVault
from services.registry.usecases.records import (
    NUMBER_PURPOSE,
    DeliverFn,
    ProvideBatchFn,
    ProvideFn,
    require_domain,
)


class RegistryBase:
    """The registry's dependencies over one database, and the lookups its features share."""

    def __init__(
        self,
        db: Any,
        vault: TokenVault,
        blind: BlindIndex,
        access: AccessRights,
        log: ExchangeLogStore,
        provide: ProvideFn,
        deliver: DeliverFn,
        *,
        keys: KeyDirectory,
        provide_batch: ProvideBatchFn,
    ) -> None:
        self.db = db
        self.vault = vault
        self.blind = blind
        self.access = access
        self.log = log
        self._provide = provide
        self._deliver = deliver
        self._provide_batch = provide_batch
        self.keys = keys
        """The signed directory of the domains' HPKE public keys (no private key here)."""
        self.bulk = BulkEnroller(vault, blind)
        self._people = PersonCache(db, vault)
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
            # First use of a domain: concurrent first uses race to insert the same row, so the
            # insert is a savepoint, and the loser reads the winner's row.
            try:
                with session.begin_nested():
                    session.add(DomainKey(domain=dom, version=1, rotated_at=utc_now()))
            except IntegrityError:
                pass
            key = session.get(DomainKey, dom, populate_existing=True)
            assert key is not None
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
                linked_at=utc_now(),
            )
            session.add(link)
            session.flush()
        return self.vault.make(dom, link.key_version, person.person_key), link.key_version

    def _issue_number(self, session: Session, person: Person) -> str:
        number = generate(self._number_taken(session))
        index = self.blind.index(NUMBER_PURPOSE, number)
        person.number, person.number_index = number, index
        session.add(IssuedNumber(number_index=index, person_id=person.id, issued_at=utc_now()))
        return number

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

    def _record(self, entry: NewEntry) -> int:
        index = self.log.record_one(entry)
        metrics.EXCHANGES.labels(entry.outcome).inc()
        return index
