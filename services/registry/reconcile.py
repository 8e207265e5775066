"""Reconcile: the registry finds who may have written pension's orphaned records (issue 13).

Pension sends the identifying facts of its orphan records as written; the registry scores
them against the basic facts it holds with the trained linkage model
(:mod:`services.registry.linkage`, imported on first use, loaded from ``reconcile_model.json``)
and answers, per record, the likely candidates as **pension's own tokens** — or, when the
candidate has not linked pension, an opaque "notify the resident" reference that only the
registry can open — with the probability and the names of the fields that agreed. Never a
candidate's name, birth date or address.

Every candidate is an exchange in the log (requester pension, provider municipality, item
``basic_facts``, procedure ``pension.record_reconciliation``), recorded before the answer
leaves, so the resident sees on the portal that their facts were compared. A query the
access-rights table does not allow is refused (and nothing is compared).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mynumber_core import errors
from mynumber_core.japanese import prefecture_of
from mynumber_core.orphan_records import check_records
from services.registry import linkage_facts
from services.registry.domain import Outcome, lock_denial
from services.registry.exchange_log import ExchangeLogStore, NewEntry
from services.registry.models import DomainLink, Person, PersonLock
from services.registry.tokens import TokenVault
from services.registry.usecases import Registry, require_domain

PROCEDURE = "pension.record_reconciliation"
PROVIDER = "municipality"
ITEM = "basic_facts"
NOTICE_DOMAIN = "reconcile-notice"
"""The pseudo-domain of "notify the resident" references: tokens nobody else can open."""
MAX_RECORDS = 1000
MODEL_PATH = Path(__file__).with_name("reconcile_model.json")


@dataclass(frozen=True)
class Found:
    """One candidate as pension may see it."""

    token: str | None
    notify_reference: str | None
    probability: float
    agreeing: tuple[str, ...]
    log_index: int


@dataclass(frozen=True)
class TrainedModel:
    """The Splink model and the share of orphan records a resident wrote (its prior)."""

    splink: dict[str, Any]
    written_share: float

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> TrainedModel:
        """Read the file ``scripts/train_reconcile_model.py`` writes."""
        doc = json.loads(path.read_text(encoding="utf-8"))
        return cls(doc["model"], float(doc["written_share"]))


def _check(records: Sequence[linkage_facts.OrphanFacts]) -> None:
    if not records:
        raise errors.InvalidInput("records is empty; send at least one orphan record")
    if len(records) > MAX_RECORDS:
        raise errors.InvalidInput(
            f"too many records ({len(records)}); send at most {MAX_RECORDS} a call"
        )
    check_records(records)


class Reconciler:
    """The Reconcile use case over the registry's people and exchange log."""

    def __init__(self, registry: Registry, model: TrainedModel) -> None:
        self._registry = registry
        self._model = model

    @property
    def registry(self) -> Registry:
        """The registry's use cases this reconciler works over."""
        return self._registry

    @property
    def _vault(self) -> TokenVault:
        return self._registry.vault

    @property
    def _log(self) -> ExchangeLogStore:
        return self._registry.log

    def _residents(self) -> tuple[list[linkage_facts.ResidentFacts], dict[str, Person]]:
        """The active residents whose facts may be compared: a resident whose locks refuse
        pension's reconciliation (``block_exchanges``) is left out before any scoring, so
        their facts are never compared and nothing about them is logged or answered."""
        people: dict[str, Person] = {}
        facts: list[linkage_facts.ResidentFacts] = []
        with self._registry.db.transaction() as session:
            locks: dict[int, list[str]] = {}
            for person_id, lock in session.execute(select(PersonLock.person_id, PersonLock.lock)):
                locks.setdefault(person_id, []).append(lock)
            refused = {
                person_id
                for person_id, held in locks.items()
                if lock_denial(held, "pension", PROCEDURE) is not None
            }
            for person in session.scalars(select(Person).where(Person.status == "active")):
                if person.id in refused:
                    continue
                known = json.loads(person.facts)
                session.expunge(person)
                key = str(person.id)
                people[key] = person
                facts.append(
                    linkage_facts.ResidentFacts(
                        key,
                        known.get("name_kana"),
                        known.get("name"),
                        known["birth_date"],
                        known["sex"],
                        prefecture_of(known.get("address", "")),
                    )
                )
        return facts, people

    def _pension_links(self, person_ids: Sequence[int]) -> dict[int, int]:
        with self._registry.db.transaction() as session:
            rows = session.execute(
                select(DomainLink.person_id, DomainLink.key_version).where(
                    DomainLink.domain == "pension", DomainLink.person_id.in_(person_ids)
                )
            )
            return {person_id: version for person_id, version in rows}

    def reconcile(
        self,
        caller: str | None,
        records: Sequence[linkage_facts.OrphanFacts],
        request_id: str,
        threshold: float = 0.0,
    ) -> tuple[dict[str, list[Found]], float]:
        """Candidates per record id (best first) and the threshold applied."""
        requester = require_domain(caller)
        if requester != "pension":
            raise errors.PermissionDenied("only pension reconciles orphaned pension records")
        if not request_id or len(request_id) > 64:
            raise errors.InvalidInput("request_id must be 1 to 64 characters")
        if not 0.0 <= threshold < 1.0:
            raise errors.InvalidInput("threshold must be at least 0 and below 1 (0 = default)")
        _check(records)
        if self._registry.access.query_rule(requester, PROVIDER, ITEM, PROCEDURE) is None:
            raise errors.PermissionDenied(
                f"the access-rights table does not allow {requester} to compare records "
                f"with {ITEM!r} under procedure {PROCEDURE!r}"
            )
        applied = threshold or linkage_facts.DEFAULT_THRESHOLD
        # The model (Splink on DuckDB) is imported on the first reconcile, not at start-up:
        # importing it took seconds of every registry start.
        from splink import DuckDBAPI

        from services.registry import linkage

        residents, people = self._residents()
        candidates = linkage.predict(
            DuckDBAPI(),
            self._model.splink,
            linkage.orphan_frame(records),
            linkage.resident_frame(residents),
            threshold=applied,
            written_share=self._model.written_share,
        )
        links = self._pension_links([people[c.resident_id].id for c in candidates])
        found: dict[str, list[Found]] = {r.record_id: [] for r in records}
        for n, c in enumerate(candidates):
            person = people[c.resident_id]
            version = links.get(person.id)
            token = (
                self._vault.make("pension", version, person.person_key)
                if version is not None
                else None
            )
            notify = None if token else self._vault.make(NOTICE_DOMAIN, 1, person.person_key)
            index = self._log.record_one(
                NewEntry(
                    requester,
                    PROVIDER,
                    ITEM,
                    PROCEDURE,
                    Outcome.PROVIDED,
                    "compared with an orphaned pension record; a likely candidate",
                    f"{request_id}/{n}",
                    self._vault.citizen_tag(person.person_key),
                    _fingerprint(request_id, c.record_id, c.resident_id),
                )
            )
            found[c.record_id].append(
                Found(token, notify, round(c.match_probability, 6), c.agreeing, index)
            )
        return found, applied

    def person_for_notice(self, reference: str) -> Person | None:
        """The person a "notify the resident" reference names (registry only)."""
        opened = self._vault.open(NOTICE_DOMAIN, reference)
        if opened is None:
            return None
        with self._registry.db.transaction() as session:
            person = session.scalars(select(Person).where(Person.person_key == opened[0])).first()
            if person is not None:
                session.expunge(person)
            return person


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
