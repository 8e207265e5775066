"""The witness's one operation: check a checkpoint against its memory, remember it, cosign it.

Checking the old size and storing the new checkpoint happen in one transaction with the log's
row locked (and a process lock for SQLite), so two concurrent submissions can never roll the
witness back to a smaller tree (the race tlog-witness warns about).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mynumber_core import errors
from mynumber_core.clock import Clock, utc_now
from mynumber_core.cosignature import Witness, cosign
from mynumber_core.db import Database
from services.witness.domain import (
    AddCheckpoint,
    Inconsistent,
    Latest,
    TrustedLog,
    check_checkpoint,
    find_log,
)
from services.witness.models import RefusedCheckpoint, WitnessedLog

log = structlog.get_logger(__name__)


class LogWitness:
    """Cosigns checkpoints of the logs it follows, never two that do not extend each other."""

    def __init__(
        self,
        db: Database,
        name: str,
        key: Ed25519PrivateKey,
        logs: Mapping[str, TrustedLog],
        clock: Clock = utc_now,
    ) -> None:
        self._db = db
        self._key = key
        self._logs = dict(logs)
        self._clock = clock
        self._lock = threading.Lock()
        self.identity = Witness(name, key.public_key())

    def add_checkpoint(self, request: AddCheckpoint) -> str:
        """Return the cosignature line for ``request``'s checkpoint, or raise why not."""
        trusted = find_log(self._logs, request.note)
        refused: Inconsistent | None = None
        try:
            with self._lock, self._db.transaction() as session:
                row = session.scalars(
                    select(WitnessedLog)
                    .where(WitnessedLog.origin == trusted.origin)
                    .with_for_update()
                ).first()
                latest = Latest(row.size, row.root_hash) if row else None
                try:
                    checkpoint = check_checkpoint(trusted, request, latest)
                except Inconsistent as exc:
                    refused = exc
                    raise
                now = self._clock()
                if row is None:
                    row = WitnessedLog(origin=trusted.origin)
                    session.add(row)
                row.size = checkpoint.size
                row.root_hash = checkpoint.root_hash
                row.checkpoint = request.note
                row.updated_at = now
                timestamp = max(1, int(now.timestamp()))
                line = cosign(checkpoint.body(), self.identity.name, self._key, timestamp)
        except IntegrityError:
            raise errors.Conflict(
                "another checkpoint for this log was cosigned at the same moment; ask again "
                "with old size 0 to learn the witness's size"
            ) from None
        except Inconsistent:
            if refused is not None:
                self._keep_evidence(trusted.origin, request.note, refused)
            raise
        log.info("checkpoint cosigned", origin=trusted.origin, size=checkpoint.size)
        return line

    def _keep_evidence(self, origin: str, note: str, refused: Inconsistent) -> None:
        """Store a validly signed but inconsistent checkpoint: proof the log misbehaved."""
        size_line = note.split("\n")[1] if note.count("\n") > 1 else ""
        with self._db.transaction() as session:
            session.add(
                RefusedCheckpoint(
                    origin=origin,
                    size=int(size_line) if size_line.isdigit() else -1,
                    checkpoint=note,
                    reason=refused.message,
                    received_at=self._clock(),
                )
            )
        log.warning("inconsistent checkpoint refused and kept as evidence", origin=origin)

    def close(self) -> None:
        """Release the database."""
        self._db.dispose()

    def refused(self) -> list[RefusedCheckpoint]:
        """Every checkpoint refused as inconsistent, oldest first."""
        with self._db.transaction() as session:
            rows = list(session.scalars(select(RefusedCheckpoint).order_by(RefusedCheckpoint.id)))
            session.expunge_all()
            return rows
