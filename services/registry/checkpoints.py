"""Checkpoints of the exchange log, signed off the exchange path.

A :class:`Checkpointer` thread per registry process signs a new C2SP checkpoint when the log
has grown, at most once every ``interval`` seconds, and stores it in ``log_checkpoints``
(every replica may sign; a checkpoint is a function of the tree size, so replicas that sign
the same size store the same note once). Entries at or beyond the newest checkpoint's size
are *pending inclusion* until the next one, as Certificate Transparency's merge delay.

:meth:`Checkpointer.produce` is the single place where a new checkpoint comes into being;
``listeners`` (for example the witnesses, issue 12) are called with each new one.

How long entries stay pending is the ``mynumber_log_checkpoint_age_seconds`` gauge: the age of
the oldest entry this process committed that no checkpoint (its own or another replica's)
covers yet, read at scrape time, so it keeps growing if the signer stalls or dies.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mynumber_core import metrics
from mynumber_core.clock import utc_now
from mynumber_core.db import Database
from mynumber_core.log import get_logger
from services.registry.models import LogCheckpoint

log = get_logger(__name__)

DEFAULT_INTERVAL = 0.2
"""Seconds between checkpoints at most (the issue allows at most 0.5)."""


@dataclass(frozen=True)
class SignedCheckpoint:
    """A stored checkpoint: the signed note and the tree it commits to."""

    size: int
    root_hash: bytes
    note: str


Signer = Callable[[int], tuple[str, bytes]]
"""size → (signed note, root hash) of the log's first ``size`` entries."""
Listener = Callable[[SignedCheckpoint], None]

_LIVE: weakref.WeakSet[Checkpointer] = weakref.WeakSet()
"""This process's checkpointers (one per log store; tests may build several)."""


def _oldest_pending() -> float:
    return max((c.pending_age() for c in list(_LIVE)), default=0.0)


metrics.LOG_CHECKPOINT_AGE.set_function(_oldest_pending)


class Checkpointer:
    """Signs and stores checkpoints as the log grows (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        log_size: Callable[[], int],
        sign: Signer,
        *,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self._db = db
        self._log_size = log_size
        self._sign = sign
        self.interval = interval
        self.listeners: list[Listener] = []
        self._cv = threading.Condition()
        self._latest: SignedCheckpoint | None = None
        self._kicked = False
        self._stopped = False
        self._last_signed = 0.0
        self._thread: threading.Thread | None = None
        # [log size after a commit, monotonic time of the first commit in that second]: the
        # entries committed here and not yet covered by a known checkpoint, oldest first.
        self._pending: deque[list[float]] = deque()
        _LIVE.add(self)

    # ---------------------------------------------------------------------- reading

    def latest(self) -> SignedCheckpoint:
        """The newest stored checkpoint (any replica's); signs the empty log if none yet."""
        with self._db.transaction() as session:
            row = session.scalars(
                select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1)
            ).first()
        if row is None:
            return self.produce(0)
        found = SignedCheckpoint(row.size, row.root_hash, row.note)
        with self._cv:
            if self._latest is None or found.size > self._latest.size:
                self._latest = found
                self._covered(found.size)
                self._cv.notify_all()
        return found

    def pending_age(self) -> float:
        """Seconds the oldest entry committed by this process has waited for a checkpoint
        (0 when every one is covered)."""
        with self._cv:
            return time.monotonic() - self._pending[0][1] if self._pending else 0.0

    def _covered(self, size: int) -> None:
        """A checkpoint of ``size`` is known: its entries are no longer pending (hold _cv)."""
        while self._pending and self._pending[0][0] <= size:
            self._pending.popleft()

    def wait_for(self, size: int, timeout: float) -> SignedCheckpoint:
        """The newest checkpoint, waiting up to ``timeout`` s for one covering ``size``."""
        deadline = time.monotonic() + timeout
        current = self.latest()
        while current.size < size:
            self.kick()
            left = deadline - time.monotonic()
            if left <= 0:
                break
            with self._cv:
                self._cv.wait(min(left, self.interval / 4))
            current = self.latest()
        return current

    # ---------------------------------------------------------------------- writing

    def produce(self, size: int) -> SignedCheckpoint:
        """Sign, store and announce the checkpoint of the first ``size`` entries.

        The only place a new checkpoint is made; listeners hear of each one this process
        stores (a replica that loses the race to store the same size stays quiet).
        """
        note, root = self._sign(size)
        checkpoint = SignedCheckpoint(size, root, note)
        stored = True
        try:
            with self._db.transaction() as session:
                if session.get(LogCheckpoint, size) is None:
                    session.add(
                        LogCheckpoint(size=size, root_hash=root, note=note, signed_at=utc_now())
                    )
                else:
                    stored = False
        except IntegrityError:  # another replica stored this size first: same note
            stored = False
        with self._cv:
            self._last_signed = time.monotonic()
            if self._latest is None or size > self._latest.size:
                self._latest = checkpoint
            self._covered(size)
            self._cv.notify_all()
        if stored:
            for listener in self.listeners:
                try:
                    listener(checkpoint)
                except Exception as exc:  # a listener never stops the log
                    log.warning("checkpoint listener failed", error=type(exc).__name__)
        return checkpoint

    def committed(self, size: int) -> None:
        """Entries up to ``size`` were committed here: they are pending until a checkpoint
        covers them; sign soon (:meth:`kick`)."""
        now = time.monotonic()
        with self._cv:
            if self._latest is None or size > self._latest.size:
                if self._pending and now - self._pending[-1][1] < 1.0:
                    self._pending[-1][0] = max(self._pending[-1][0], size)
                else:
                    self._pending.append([size, now])
        self.kick()

    def kick(self) -> None:
        """The log has grown: sign soon (still at most once per interval)."""
        with self._cv:
            self._kicked = True
            self._cv.notify_all()

    def tick(self) -> SignedCheckpoint | None:
        """Sign a checkpoint now if the log outgrew the newest one; returns it if so."""
        size = self._log_size()
        latest = self.latest()
        if size > latest.size:
            return self.produce(size)
        return None

    def start(self) -> None:
        """Sign what is not yet covered (the empty log on a new database), then run the
        background thread (idempotent)."""
        if self._thread is None:
            try:
                self.tick()
            except Exception as exc:  # the thread retries
                log.warning("checkpoint signing failed", error=type(exc).__name__)
            self._thread = threading.Thread(
                target=self._run, name="registry-checkpointer", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the background thread (and leave the checkpoint-age gauge)."""
        _LIVE.discard(self)
        with self._cv:
            self._stopped = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while True:
            with self._cv:
                # Woken by a local append (kick); polled each interval for other replicas'.
                if not self._kicked and not self._stopped:
                    self._cv.wait(self.interval)
                if self._stopped:
                    return
                self._kicked = False
                wait = self._last_signed + self.interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                self.tick()
            except Exception as exc:  # the database may be briefly unreachable: retry
                log.warning("checkpoint signing failed", error=type(exc).__name__)
