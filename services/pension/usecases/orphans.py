"""Orphaned contribution records (宙に浮いた年金記録): the pool, and reconciling it through the
registry (issue 13).

Pension keeps records that belong to no enrolled person as they were written. Reconciling
sends their identifying facts to the registry's ``Reconcile`` (through :class:`ReconcilePort`)
and keeps what comes back: per record, pension's own tokens for likely candidates, or the
registry's opaque "notify the resident" references — never a candidate's name, birth date
or address, which pension is never sent. A record with one candidate is ``proposed``; with
several close ones, or only one in the middle band (below 0.99), it waits in the operator review
queue; with none it stays in the pool.
A proposed record's notice to its resident and the decisions are in :mod:`.record_matches`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.clock import Clock, utc_now
from mynumber_core.db import Database
from mynumber_core.orphan_records import check_ledger_entry, check_records
from services.pension.models import OrphanCandidate, OrphanRecord

BANDS = ((0.999, "≥ 0.999"), (0.99, "0.99–0.999"), (0.9, "0.9–0.99"), (0.0, "< 0.9"))
"""Probability bands of the operator report, highest first."""
REVIEW_MARGIN = 0.5
"""A second candidate with at least this share of the best one's probability needs review."""
LIKELY = 0.99
"""A lone candidate at least this likely is proposed to the resident (the registry's default
threshold, ``linkage.DEFAULT_THRESHOLD``)."""
MAX_ADD = 1000
"""Records one :meth:`OrphanPool.add` call files at most."""
REVIEW_FLOOR = 0.3
"""Candidates from this probability up come back from the registry: below :data:`LIKELY`
(the middle band) or with a close second they wait in the operator review queue."""


@dataclass(frozen=True)
class OrphanInput:
    """One orphan record as written (for the pool)."""

    record_id: str
    name_kana: str
    name_kanji: str | None
    birth_date_written: str
    sex: str
    prefecture: str | None
    employer: str
    period_start: str
    period_end: str
    months: int


def check_ledger_fields(where: str, record: OrphanInput) -> None:
    """What the pool keeps beside the identifying facts (InvalidInput naming ``where``)."""
    check_ledger_entry(
        where,
        employer=record.employer,
        prefecture=record.prefecture,
        period_start=record.period_start,
        period_end=record.period_end,
        months=record.months,
    )


@dataclass(frozen=True)
class Proposed:
    """A candidate as the registry names it to pension: a token or ``notify:<reference>``."""

    ref: str
    probability: float
    agreeing: tuple[str, ...]


class ReconcilePort(Protocol):
    """The registry's Reconcile, as pension sees it."""

    def reconcile(
        self, records: Sequence[OrphanInput], request_id: str, threshold: float = 0.0
    ) -> dict[str, list[Proposed]]:
        """Candidates per record id, best first, at least ``threshold`` likely (0: the
        registry's default)."""
        ...


@dataclass
class ReconcileReport:
    """What a run found: candidates by probability band, several candidates, none."""

    records: int = 0
    bands: Counter[str] = field(default_factory=Counter)
    several: int = 0
    none: int = 0


ProposeHook = Callable[[Session, OrphanRecord, OrphanCandidate], None]
"""Called in the reconcile transaction for the one candidate a ``proposed`` record is put to
(``record_matches.queue_notices`` queues the resident's notice)."""


class OrphanPool:
    """The orphan records pension holds and their candidates."""

    def __init__(
        self,
        db: Database,
        clock: Clock = utc_now,
        *,
        on_proposed: ProposeHook | None = None,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._on_proposed = on_proposed
        self._wake = wake

    def add(self, records: Sequence[OrphanInput]) -> int:
        """Put records in the pool (a record id already there is left as it is); returns how
        many were new. All or nothing: an invalid record (``orphan_records.check_records``
        with :func:`check_ledger_fields`) files none."""
        if not records or len(records) > MAX_ADD:
            raise errors.InvalidInput(f"send 1 to {MAX_ADD} records a call")
        check_records(records, also=check_ledger_fields)
        seen = {r.record_id for r in records}
        now = self._clock()
        added = 0
        with self._db.transaction() as session:
            filed = set(
                session.scalars(
                    select(OrphanRecord.record_id).where(OrphanRecord.record_id.in_(seen))
                )
            )
            for r in records:
                if r.record_id in filed:
                    continue
                session.add(
                    OrphanRecord(
                        record_id=r.record_id,
                        name_kana=r.name_kana,
                        name_kanji=r.name_kanji or "",
                        birth_date_written=r.birth_date_written,
                        sex=r.sex,
                        prefecture=r.prefecture or "",
                        employer=r.employer,
                        period_start=r.period_start,
                        period_end=r.period_end,
                        months=r.months,
                        status="pool",
                        created_at=now,
                        updated_at=now,
                    )
                )
                added += 1
        return added

    def _pool(self) -> list[OrphanInput]:
        with self._db.transaction() as session:
            rows = session.scalars(
                select(OrphanRecord)
                .where(OrphanRecord.status == "pool")
                .order_by(OrphanRecord.record_id)
            ).all()
            return [
                OrphanInput(
                    r.record_id,
                    r.name_kana,
                    r.name_kanji or None,
                    r.birth_date_written,
                    r.sex,
                    r.prefecture or None,
                    r.employer,
                    r.period_start,
                    r.period_end,
                    r.months,
                )
                for r in rows
            ]

    def reconcile(
        self,
        port: ReconcilePort,
        *,
        batch_size: int = 500,
        progress: Callable[[int, int], None] | None = None,
    ) -> ReconcileReport:
        """Send the pool to the registry in batches and keep the candidates."""
        last = ReconcileReport()
        for done, total, so_far in self.reconcile_steps(port, batch_size=batch_size):
            last = so_far
            if progress is not None:
                progress(done, total)
        return last

    def reconcile_steps(
        self, port: ReconcilePort, *, batch_size: int = 500
    ) -> Iterator[tuple[int, int, ReconcileReport]]:
        """:meth:`reconcile` one batch at a time: (done, total, report so far) after each."""
        if not 1 <= batch_size <= 1000:
            raise errors.InvalidInput("batch_size must be between 1 and 1000")
        pool = self._pool()
        report = ReconcileReport(records=len(pool))
        if not pool:
            yield 0, 0, report
        for start in range(0, len(pool), batch_size):
            batch = pool[start : start + batch_size]
            request_id = uuid.uuid4().hex
            found = port.reconcile(batch, request_id, REVIEW_FLOOR)
            self._keep(found, request_id, report)
            yield min(start + batch_size, len(pool)), len(pool), report

    def _keep(
        self, found: dict[str, list[Proposed]], request_id: str, report: ReconcileReport
    ) -> None:
        now = self._clock()
        with self._db.transaction() as session:
            for record_id, found_for_record in found.items():
                record = session.get(OrphanRecord, record_id)
                # A candidate already proposed for this record (rejected by the resident,
                # dismissed by an operator) is not proposed again.
                known = set(
                    session.scalars(
                        select(OrphanCandidate.candidate_ref).where(
                            OrphanCandidate.record_id == record_id
                        )
                    )
                )
                candidates = [c for c in found_for_record if c.ref not in known]
                if not candidates or record is None:
                    report.none += 1
                    continue
                best = candidates[0].probability
                close_second = (
                    len(candidates) > 1 and candidates[1].probability >= best * REVIEW_MARGIN
                )
                review = best < LIKELY or close_second
                report.several += len(candidates) > 1
                report.bands[next(label for low, label in BANDS if best >= low)] += 1
                rows = [
                    OrphanCandidate(
                        record_id=record_id,
                        candidate_ref=c.ref,
                        probability=c.probability,
                        agreeing=",".join(c.agreeing),
                        status="review" if review else ("open" if n == 0 else "closed"),
                        request_id=request_id,
                        created_at=now,
                    )
                    for n, c in enumerate(candidates)
                ]
                session.add_all(rows)
                record.status = "review" if review else "proposed"
                record.updated_at = now
                if not review and self._on_proposed is not None:
                    session.flush()
                    self._on_proposed(session, record, rows[0])
        self._wake()

    def review_queue(self) -> list[tuple[str, list[tuple[str, float]]]]:
        """Records with several close candidates, for an operator: (record id, [(candidate
        ref, probability)]), oldest first."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(
                    OrphanCandidate.record_id,
                    OrphanCandidate.candidate_ref,
                    OrphanCandidate.probability,
                )
                .where(OrphanCandidate.status == "review")
                .order_by(OrphanCandidate.record_id, OrphanCandidate.probability.desc())
            ).all()
        queue: dict[str, list[tuple[str, float]]] = {}
        for record_id, ref, probability in rows:
            queue.setdefault(record_id, []).append((ref, probability))
        return list(queue.items())
