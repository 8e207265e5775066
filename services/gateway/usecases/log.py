"""The exchange log (やりとり履歴) as the resident sees it: the resident's entries, newest first
and paged, each inclusion proof and the checkpoint verified here against the log key pinned on
first use (consistency-checked on every later checkpoint).

The portal's own check is only a courtesy: the resident's device does not take its word. Each
view also carries the evidence (leaf bytes, audit paths, the signed and witness-cosigned
checkpoint, and a consistency proof from a size the client names), and :meth:`published_keys`
gives the log's and the witnesses' keys for clients to pin (``/.well-known/mynumber-log-keys``).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mynumber_core import errors
from mynumber_core.checkpoint import (
    Checkpoint,
    CheckpointError,
    parse_body,
    split_note,
    verifier_key,
)
from mynumber_core.logverifier import (
    LogVerificationError,
    TrustedLog,
    verify_append,
    verify_checkpoint,
    verify_entry_inclusion,
)
from mynumber_core.registry_records import LogEntry
from services.gateway import domain
from services.gateway.usecases.context import PortalContext

if TYPE_CHECKING:
    from services.gateway.usecases.auth import SessionInfo

log = structlog.get_logger("mynumber.gateway")


@dataclass(frozen=True)
class LogLine:
    """One exchange-log entry and whether its inclusion proof verified."""

    index: int
    time: str
    requester: str
    provider: str
    item: str
    procedure: str
    outcome: str
    reason: str
    proof: str  # verified | failed | pending
    caused_by_me: bool
    leaf: bytes = b""
    """The exact leaf bytes hashed into the tree (the fields above are read from them)."""
    audit_path: tuple[bytes, ...] = ()
    """The RFC 9162 audit path to the checkpoint's root."""
    pending: bool = False
    """Newer than the checkpoint: pending inclusion, no audit path yet."""


@dataclass(frozen=True)
class LogView:
    """The resident's exchange log with the checkpoint the proofs refer to."""

    entries: list[LogLine]
    checkpoint_size: int
    checkpoint_verified: bool
    all_verified: bool
    older: int | None = None
    """The ``before`` cursor of the next (older) page, or None on the last page."""
    checkpoint: str = ""
    """The signed checkpoint note (with the witnesses' cosignatures) the audit paths lead to."""
    consistency: tuple[int, int, list[bytes]] | None = None
    """(from size, to size, proof): the consistency proof from the size the client named."""


LOG_PAGE = 100
"""Exchange-log entries per portal page."""
PROVEN_KEPT = 1024
"""Checkpoints remembered as proven consistent (by tree size)."""
SEEN_KEPT = 1000
"""Residents whose verified newest entries the log page keeps (least recently seen go)."""


@dataclass(frozen=True)
class _Seen:
    """A resident's newest entries as last verified for the log page (no evidence kept)."""

    lines: tuple[LogLine, ...]
    """Verified entries, newest first, at most :data:`LOG_PAGE`."""
    upto: int
    """The newest verified entry's index: later visits ask only for entries after it."""
    more: bool
    """Older entries exist beyond ``lines``."""


class ExchangeLog:
    """The resident's exchange log with verified proofs (the pinned log key is kept here)."""

    def __init__(self, ctx: PortalContext) -> None:
        self._ctx = ctx
        self._trusted: tuple[TrustedLog, Checkpoint] | None = None
        self._lock = threading.Lock()
        self._proven: OrderedDict[int, bytes] = OrderedDict()
        """Root hash by tree size of every checkpoint proven consistent with the newest one
        (bounded): concurrent pages that serve the same checkpoint check it once."""
        self._seen: OrderedDict[str, _Seen] = OrderedDict()
        """By resident token: the newest entries verified for the log page (bounded)."""
        self.witness_keys: Callable[[], list[str]] = list
        """The witnesses' verifier keys (set by wiring: services/gateway/witness_keys.py)."""
        self.quorum: int | None = None
        """Witness cosignatures clients should require (default: all published witnesses)."""

    def published_keys(self) -> dict[str, Any]:
        """The keys clients pin: the log's verifier key, the witnesses' keys and the quorum."""
        trusted = self._trusted_log()
        witnesses = self.witness_keys()
        return {
            "origin": trusted.origin,
            "log": verifier_key(trusted.key_name, trusted.public_key),
            "witnesses": witnesses,
            "quorum": len(witnesses) if self.quorum is None else self.quorum,
        }

    def _trusted_log(self) -> TrustedLog:
        if self._trusted is None:
            signed = self._ctx.registry.log_checkpoint()
            key = Ed25519PublicKey.from_public_bytes(signed.public_key)
            trusted = TrustedLog(signed.key_name, signed.key_name, key)
            first = verify_checkpoint(trusted, signed.checkpoint)
            with self._lock:
                if self._trusted is None:
                    self._trusted = (trusted, first)
                    self._remember(first)
        return self._trusted[0]

    def _remember(self, checkpoint: Checkpoint) -> None:
        """Note a checkpoint as proven (the caller holds the lock)."""
        self._proven[checkpoint.size] = checkpoint.root_hash
        self._proven.move_to_end(checkpoint.size)
        while len(self._proven) > PROVEN_KEPT:
            self._proven.popitem(last=False)

    def _verified_checkpoint(self, note: str) -> Checkpoint | None:
        """The checkpoint, if signed by the pinned key and consistent with the newest one seen.

        Pages run concurrently, and each may be served an older or a newer checkpoint than the
        newest one another page has proven: a newer one is proven to extend it, an older one
        to be a prefix of it (a consistency proof either way), and one already proven costs
        nothing more than its signature check."""
        trusted = self._trusted_log()
        try:
            current = verify_checkpoint(trusted, note)
            with self._lock:
                known = self._proven.get(current.size)
                assert self._trusted is not None
                newest = self._trusted[1]
            if known is not None:
                if known != current.root_hash:
                    raise LogVerificationError(
                        f"two checkpoints of size {current.size} with different roots"
                    )
                return current
            if current.size >= newest.size:
                proof = self._ctx.registry.log_consistency_proof(newest.size, current.size)
                verify_append(newest, current, proof)
            else:
                proof = self._ctx.registry.log_consistency_proof(current.size, newest.size)
                verify_append(current, newest, proof)
            with self._lock:
                self._remember(current)
                if current.size > self._trusted[1].size:
                    self._trusted = (trusted, current)
        except (CheckpointError, LogVerificationError) as exc:
            log.error("exchange-log checkpoint failed verification", error=type(exc).__name__)
            return None
        return current

    def exchange_log(
        self,
        sess: SessionInfo,
        *,
        agency: str | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        before: str | None = None,
        since_size: int | None = None,
        include_pending: bool = False,
    ) -> LogView:
        """The newest :data:`LOG_PAGE` of the resident's exchange-log entries that match the
        filters (older than the ``before`` cursor when given), each proof verified here,
        newest first; ``LogView.older`` is the cursor of the next, older page. With
        ``since_size`` the view carries a consistency proof from that tree size; with
        ``include_pending`` entries newer than the newest checkpoint are listed as pending
        inclusion (no proof yet) instead of waiting briefly for a checkpoint covering them."""
        if since_size is not None and since_size < 0:
            raise errors.InvalidInput("since_size must be a tree size (0 or more)")
        agency = domain.parse_agency_filter(agency)
        if date_from and date_to and date_from > date_to:
            raise errors.InvalidInput("from must not be after to")
        cursor = _parse_log_cursor(before)
        # Dates are the days of the entries' (UTC) timestamps, as shown.
        start = end = None
        if date_from is not None:
            start = dt.datetime.combine(date_from, dt.time(), dt.UTC)
        if date_to is not None and date_to < dt.date.max:
            end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), dt.UTC)
        page = self._ctx.registry.log_entries(
            sess.token,
            page_size=LOG_PAGE,
            newest_first=True,
            agency=agency or "",
            before_index=cursor,
            time_from=start,
            time_to=end,
            include_pending=include_pending,
            acting=sess.acting(),
        )
        entries = page.entries
        note = page.checkpoint
        checkpoint = self._verified_checkpoint(note) if note else None
        lines = []
        for entry in entries:
            line = _line(entry, checkpoint)
            if agency and agency not in (line.requester, line.provider):
                continue
            day = _entry_day(line.time)
            if date_from and day and day < date_from:
                continue
            if date_to and day and day > date_to:
                continue
            lines.append(line)
        lines.sort(key=lambda x: x.index, reverse=True)
        return LogView(
            entries=lines,
            checkpoint_size=checkpoint.size if checkpoint else 0,
            checkpoint_verified=checkpoint is not None,
            all_verified=checkpoint is not None
            and all(x.proof in ("verified", "pending") for x in lines),
            older=min(e.index for e in entries) if page.more and entries else None,
            checkpoint=note,
            consistency=self._consistency(note, since_size),
        )

    def newest_page(self, sess: SessionInfo) -> LogView:
        """The log page's view: the newest :data:`LOG_PAGE` entries, pending ones included.

        Log entries never change, and an entry proven included in one checkpoint is included
        in every later checkpoint proven consistent with it. So the entries verified on the
        resident's last visit are kept (per token, bounded, no evidence bytes) and only newer
        ones are asked of the registry (``after_index``): a few audit paths per visit instead
        of a page of them. Anything unusual (more new entries than a page, a checkpoint that
        does not verify or does not cover the kept entries, a failed proof) takes the full
        path of :meth:`exchange_log`. The view's kept entries carry no leaf bytes or audit
        paths: the page's own device check fetches its evidence from ``/api/log``."""
        with self._lock:
            seen = self._seen.get(sess.token)
            if seen is not None:
                self._seen.move_to_end(sess.token)
        if seen is None:
            return self._keep(sess.token, self.exchange_log(sess, include_pending=True))
        page = self._ctx.registry.log_entries(
            sess.token,
            page_size=LOG_PAGE,
            newest_first=True,
            after_index=seen.upto,
            include_pending=True,
            acting=sess.acting(),
        )
        checkpoint = self._verified_checkpoint(page.checkpoint) if page.checkpoint else None
        if page.more or checkpoint is None or checkpoint.size <= seen.upto:
            return self._keep(sess.token, self.exchange_log(sess, include_pending=True))
        fresh = sorted(
            (_line(e, checkpoint) for e in page.entries), key=lambda x: x.index, reverse=True
        )
        lines = [*fresh, *seen.lines]
        more = seen.more or len(lines) > LOG_PAGE
        lines = lines[:LOG_PAGE]
        view = LogView(
            entries=lines,
            checkpoint_size=checkpoint.size,
            checkpoint_verified=True,
            all_verified=all(x.proof in ("verified", "pending") for x in lines),
            older=min(x.index for x in lines) if more and lines else None,
            checkpoint=page.checkpoint,
        )
        return self._keep(sess.token, view)

    def _keep(self, token: str, view: LogView) -> LogView:
        """Remember the view's verified entries for the resident's next visit (forget them
        when anything in it did not verify)."""
        kept = tuple(
            replace(x, leaf=b"", audit_path=()) for x in view.entries if x.proof == "verified"
        )
        usable = view.checkpoint_verified and kept and view.all_verified
        with self._lock:
            if not usable:
                self._seen.pop(token, None)
                return view
            self._seen[token] = _Seen(kept, max(x.index for x in kept), view.older is not None)
            self._seen.move_to_end(token)
            while len(self._seen) > SEEN_KEPT:
                self._seen.popitem(last=False)
        return view

    def _consistency(
        self, note: str, since_size: int | None
    ) -> tuple[int, int, list[bytes]] | None:
        """The proof from ``since_size`` to the served checkpoint (None if it cannot exist)."""
        if since_size is None or not note:
            return None
        try:
            size = parse_body(split_note(note)[0]).size
        except CheckpointError:
            return None
        if since_size > size:
            return None  # the log shrank (or this replica lags): the client will say so
        if since_size in (0, size):
            return since_size, size, []
        return since_size, size, self._ctx.registry.log_consistency_proof(since_size, size)


def _line(entry: LogEntry, checkpoint: Checkpoint | None) -> LogLine:
    """One entry as shown, its inclusion proof verified against ``checkpoint``."""
    proof = "failed"
    fields: dict[str, Any] = {}
    try:
        fields = json.loads(entry.leaf)
        if entry.pending:
            proof = "pending"
        elif checkpoint is not None:
            verify_entry_inclusion(checkpoint, entry.leaf, entry.index, entry.inclusion_proof)
            proof = "verified"
    except (LogVerificationError, ValueError):
        proof = "failed"
    # What is shown comes from the verified leaf, not from the response's loose fields.
    when = str(fields.get("time") or entry.time.isoformat())
    return LogLine(
        index=entry.index,
        time=when,
        requester=str(fields.get("requester", entry.requester)),
        provider=str(fields.get("provider", entry.provider)),
        item=str(fields.get("item", entry.item)),
        procedure=str(fields.get("procedure", entry.procedure)),
        outcome=str(fields.get("outcome", entry.outcome)),
        reason=str(fields.get("reason", entry.reason)),
        proof=proof,
        caused_by_me=str(fields.get("procedure", "")).startswith("portal."),
        leaf=entry.leaf,
        pending=entry.pending,
        audit_path=tuple(entry.inclusion_proof),
    )


def _parse_log_cursor(value: str | None) -> int | None:
    """The exchange log's ``before`` cursor: an entry index (None when absent)."""
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise errors.InvalidInput("before must be an exchange-log entry number")
    return int(value)


def _entry_day(text: str) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        return None
