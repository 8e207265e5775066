"""Abuse resistance at the registry: Link rate limits, query-rate anomaly alerts, and a record
of every denied or failed call.

* **Link guessing.** Link answers "does this number go with these four facts?", so an agency
  (or a stolen agency certificate) could guess. Failed Link attempts are counted in sliding
  windows per number (keyed by the number's blind index under its own purpose, never the
  number) and per calling domain; once a limit is reached every Link for that number (or from
  that domain) is refused with RESOURCE_EXHAUSTED *before* any lookup, naming when to retry,
  until enough failures age out of the window. A correct Link does not count, but it is
  refused like any other while the number is locked: otherwise the limit would tell a guesser
  when they hit. The counters are rows in the registry database, so every replica sees them.
* **Query-rate anomalies.** Hub queries are counted per agency in time buckets (database
  rows, shared by replicas). When the current bucket is far above the agency's usual rate
  (more than ``factor`` × the median of the trailing buckets, and at least ``floor``), one
  ``query_rate_anomaly`` security event is recorded per agency and bucket (a unique
  ``dedup_key`` makes it exactly one across replicas), a warning is logged and
  ``mynumber_security_alerts_total{kind}`` is incremented.
* **Denied and failed calls.** Every PERMISSION_DENIED, UNAUTHENTICATED and
  RESOURCE_EXHAUSTED answered by the registry, and every failed Link, becomes a
  ``security_events`` row: time, caller identity, method, status, request id, and for Link the
  number's blind index. Never the number, a name or a fact: messages are not stored.

:class:`AbuseInterceptor` applies all of this to the registry's gRPC server;
:func:`denial_recorder` is the server's ``on_denied`` hook, so refusals by the authorization
interceptor (which runs before any app interceptor) are recorded too.

Why one module of about 530 lines: the Link guard, the query-rate monitor, the security log and
the interceptor that applies them share one bookkeeping of refusals (security events, their
metric, the status-to-kind audit table); the attempt counters live apart in :mod:`attempts`.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
from google.protobuf import timestamp_pb2
from grpc_interceptor import ServerInterceptor
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from mynumber_core import errors
from mynumber_core.clock import Clock, aware, utc_now
from mynumber_core.interceptors import (
    current_caller,
    current_request_id,
    status_for,
)
from mynumber_core.keyring import BlindIndex
from mynumber_core.mynumber import InvalidMyNumber, validate
from mynumber_core.structs import to_struct
from services.registry.abuse_models import QueryRateBucket, SecurityEvent
from services.registry.attempts import AttemptCounters, Claim
from services.registry.domain import domain_of

SECURITY_ALERTS = Counter(
    "mynumber_security_alerts_total",
    "Security alerts raised by the registry, by kind.",
    ["kind"],
)

log = structlog.get_logger("mynumber.security")

LINK_METHOD = "/mynumber.registry.v1.Registry/Link"
QUERY_METHOD = "/mynumber.registry.v1.Hub/Query"
BATCH_QUERY_METHOD = "/mynumber.registry.v1.Hub/BatchQuery"
LINK_GUARD_PURPOSE = "link-guard"
"""Blind-index purpose of the per-number counter: distinct from the registry's number index, so
security rows cannot be joined to ``persons`` without the key."""

_AUDITED = {
    grpc.StatusCode.PERMISSION_DENIED: "permission_denied",
    grpc.StatusCode.UNAUTHENTICATED: "unauthenticated",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "rate_limited",
}
_LINK_FAILURES = {
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
}
MAX_LIST = 1000
LINK_DOMAIN_SCOPE = "link-domain"
LINK_NUMBER_SCOPE = "link-number"


@dataclass(frozen=True)
class AbuseLimits:
    """The configured limits (from RegistrySettings)."""

    link_failures_per_number: int = 5
    link_number_window_seconds: float = 3600.0
    link_failures_per_domain: int = 100
    link_alert_agencies: int = 2
    """A ``link_multi_agency`` event when this many agencies fail on one number in a window."""
    link_domain_window_seconds: float = 60.0
    query_rate_bucket_seconds: int = 60
    query_rate_baseline_buckets: int = 60
    query_rate_factor: float = 5.0
    query_rate_floor: int = 100


class SecurityLog:
    """The ``security_events`` table."""

    def __init__(self, db: Any, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    def record(
        self,
        kind: str,
        *,
        caller: str | None,
        method: str,
        status: str,
        request_id: str | None = None,
        number_index: str | None = None,
        detail: Mapping[str, Any] | None = None,
        dedup_key: str | None = None,
    ) -> bool:
        """Append one event; False when ``dedup_key`` was already recorded (by any replica)."""
        row = SecurityEvent(
            at=self._clock(),
            kind=kind,
            caller=(caller or "-")[:64],
            method=method[:128],
            status=status,
            request_id=(request_id or current_request_id() or "-")[:64],
            number_index=number_index,
            detail=json.dumps(dict(detail or {}), sort_keys=True),
            dedup_key=dedup_key,
        )
        try:
            with self._db.transaction() as session:
                session.add(row)
        except IntegrityError:
            if dedup_key is None:
                raise
            return False
        return True

    def recent(
        self, *, kind: str = "", caller: str = "", limit: int = 100, before_id: int = 0
    ) -> list[SecurityEvent]:
        """Newest first, optionally filtered by kind and caller."""
        query = select(SecurityEvent)
        if kind:
            query = query.where(SecurityEvent.kind == kind)
        if caller:
            query = query.where(SecurityEvent.caller == caller)
        if before_id > 0:
            query = query.where(SecurityEvent.id < before_id)
        query = query.order_by(SecurityEvent.id.desc()).limit(limit)
        with self._db.transaction() as session:
            return list(session.scalars(query))


class LinkGuard:
    """Limits on failed Link attempts, per (calling agency, number) and per calling agency.

    Each Link reserves a slot in both counters before the number is looked up; a successful
    Link gives its slots back, a failed one keeps them. The per-number limit is per agency:
    one agency's failures never lock a number out for the others (issue 15). When several
    agencies fail on the same number within the window, one ``link_multi_agency`` security
    event is raised.
    """

    def __init__(
        self,
        db: Any,
        blind: BlindIndex,
        limits: AbuseLimits,
        clock: Clock = utc_now,
        events: SecurityLog | None = None,
    ) -> None:
        self._db = db
        self._blind = blind
        self._limits = limits
        self._clock = clock
        self._counters = AttemptCounters(db, clock)
        self._events = events or SecurityLog(db, clock)

    def number_index(self, raw_number: str) -> str | None:
        """The guard's blind index of a well-formed number (None for malformed input)."""
        try:
            number = validate(raw_number)
        except InvalidMyNumber:
            return None
        return self._blind.index(LINK_GUARD_PURPOSE, number)

    def reserve(self, dom: str, raw_number: str) -> list[tuple[str, str]]:
        """Reserve this Link's attempt, the agency's and the number's in one transaction (all
        or none); RESOURCE_EXHAUSTED (naming when to retry) at a limit.

        Returns the reserved (scope, key) pairs, for :meth:`release` after a success.
        """
        lim = self._limits
        claims = [self._domain_claim(dom)]
        index = self.number_index(raw_number)
        if index is not None:
            claims.append(
                Claim(
                    LINK_NUMBER_SCOPE,
                    f"{dom}:{index}",
                    lim.link_failures_per_number,
                    lim.link_number_window_seconds,
                )
            )
        refused = self._counters.reserve_all(claims)
        if refused is not None and refused.claim.scope == LINK_DOMAIN_SCOPE:
            raise self._domain_limited(dom, refused.until or self._clock())
        if refused is not None:
            until = refused.until or self._clock()
            raise errors.RateLimited(
                f"too many failed Link attempts from {dom} for this number "
                f"(at most {lim.link_failures_per_number} in "
                f"{lim.link_number_window_seconds:g} s); Link for it is suspended until "
                f"{until.isoformat(timespec='seconds')} (retry in {self._seconds_until(until)} s); "
                "check the number and the four facts against the resident's documents"
            )
        return [(c.scope, c.key) for c in claims]

    def _domain_claim(self, dom: str) -> Claim:
        """One attempt on the calling agency's counter."""
        lim = self._limits
        return Claim(
            LINK_DOMAIN_SCOPE, dom, lim.link_failures_per_domain, lim.link_domain_window_seconds
        )

    def _domain_limited(self, dom: str, until: dt.datetime) -> errors.RateLimited:
        """The refusal of an agency at its limit, naming when to retry."""
        lim = self._limits
        return errors.RateLimited(
            f"too many failed Link attempts from {dom} "
            f"(at most {lim.link_failures_per_domain} in {lim.link_domain_window_seconds:g} "
            f"s); retry after {until.isoformat(timespec='seconds')} "
            f"(in {self._seconds_until(until)} s)"
        )

    def reserve_domain(self, dom: str) -> list[tuple[str, str]]:
        """Reserve one attempt on the calling agency's counter only (LinkBatch before its
        lookups); RESOURCE_EXHAUSTED (naming when to retry) at the limit."""
        claim = self._domain_claim(dom)
        refused = self._counters.reserve_all([claim])
        if refused is not None:
            raise self._domain_limited(dom, refused.until or self._clock())
        return [(claim.scope, claim.key)]

    def index_of(self, number: str) -> str:
        """The guard's blind index of a validated number (the per-number counter's key)."""
        return self._blind.index(LINK_GUARD_PURPOSE, number)

    def indexes_of(self, numbers: Sequence[str]) -> list[str]:
        """:meth:`index_of` of many validated numbers (LinkBatch)."""
        return self._blind.index_many(LINK_GUARD_PURPOSE, numbers)

    def release(self, held: list[tuple[str, str]]) -> None:
        """Give reserved attempts back (the Link succeeded, or was refused before evaluation)."""
        self._counters.release_all(held)

    def _seconds_until(self, until: dt.datetime) -> int:
        return max(1, int((until - self._clock()).total_seconds() + 0.999))

    def failed(self, number_index: str | None, method: str) -> bool:
        """After a failed Link: raise ``link_multi_agency`` when several agencies failed on
        this number within the window (once per number and window); True when raised."""
        if number_index is None:
            return False
        lim = self._limits
        now = self._clock()
        since = now - dt.timedelta(seconds=lim.link_number_window_seconds)
        with self._db.transaction() as session:
            callers = set(
                session.scalars(
                    select(SecurityEvent.caller).where(
                        SecurityEvent.kind == "link_failed",
                        SecurityEvent.number_index == number_index,
                        SecurityEvent.at > since,
                    )
                )
            )
        agencies = sorted({domain_of(c) or c for c in callers})
        if len(agencies) < lim.link_alert_agencies:
            return False
        window = int(now.timestamp() // max(1.0, lim.link_number_window_seconds))
        raised = self._events.record(
            "link_multi_agency",
            caller="-",
            method=method,
            status="OK",
            number_index=number_index,
            detail={"agencies": agencies, "window_seconds": lim.link_number_window_seconds},
            dedup_key=f"link_multi_agency:{number_index}:{window}"[:160],
        )
        if raised:
            SECURITY_ALERTS.labels("link_multi_agency").inc()
            log.warning("several agencies failed to link one number", agencies=agencies)
        return raised


class QueryRateMonitor:
    """Per-agency query counts in time buckets, and an alert when a bucket is anomalous."""

    def __init__(
        self, db: Any, events: SecurityLog, limits: AbuseLimits, clock: Clock = utc_now
    ) -> None:
        self._db = db
        self._events = events
        self._limits = limits
        self._clock = clock
        self._alerted: set[tuple[str, dt.datetime]] = set()
        # Counts are kept in memory and written to the shared table at most once per
        # ``flush_seconds`` (one short transaction for every agency), so the hot query path
        # does not add a database write per exchange; other replicas' counts arrive with the
        # next flush.
        self.flush_seconds = 1.0
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, dt.datetime], int] = {}
        self._flushed: dict[tuple[str, dt.datetime], int] = {}
        self._last_flush = time.monotonic()
        self._baselines: dict[tuple[str, dt.datetime], float] = {}

    def _bucket(self, now: dt.datetime) -> dt.datetime:
        size = self._limits.query_rate_bucket_seconds
        return dt.datetime.fromtimestamp(int(now.timestamp()) // size * size, dt.UTC)

    def _increment(self, agency: str, bucket: dt.datetime, n: int) -> int:
        with self._db.transaction() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            stmt = insert(QueryRateBucket).values(agency=agency, bucket_start=bucket, count=n)
            stmt = stmt.on_conflict_do_update(
                index_elements=[QueryRateBucket.agency, QueryRateBucket.bucket_start],
                set_={"count": QueryRateBucket.count + n},
            )
            session.execute(stmt)
            count = session.scalar(
                select(QueryRateBucket.count).where(
                    QueryRateBucket.agency == agency, QueryRateBucket.bucket_start == bucket
                )
            )
        return int(count or 0)

    def _baseline(self, agency: str, bucket: dt.datetime) -> float:
        lim = self._limits
        since = bucket - dt.timedelta(
            seconds=lim.query_rate_bucket_seconds * lim.query_rate_baseline_buckets
        )
        with self._db.transaction() as session:
            counts = list(
                session.scalars(
                    select(QueryRateBucket.count).where(
                        QueryRateBucket.agency == agency,
                        QueryRateBucket.bucket_start >= since,
                        QueryRateBucket.bucket_start < bucket,
                    )
                )
            )
        # Buckets without a row are quiet periods: they count as zero.
        counts += [0] * (lim.query_rate_baseline_buckets - len(counts))
        return float(statistics.median(counts)) if counts else 0.0

    def flush(self) -> None:
        """Write the in-memory counts to the shared table and learn the totals back."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._last_flush = time.monotonic()
        current = self._bucket(self._clock())
        for (agency, bucket), n in pending.items():
            total = self._increment(agency, bucket, n)
            with self._lock:
                self._flushed[(agency, bucket)] = total
        with self._lock:
            self._flushed = {k: v for k, v in self._flushed.items() if k[1] >= current}

    def observe(self, agency: str, n: int = 1, *, method: str = QUERY_METHOD) -> bool:
        """Count ``n`` queries now; True if this raised the bucket's (single) alert."""
        lim = self._limits
        bucket = self._bucket(self._clock())
        key = (agency, bucket)
        with self._lock:
            self._pending[key] = self._pending.get(key, 0) + n
            count = self._flushed.get(key, 0) + self._pending[key]
            due = time.monotonic() - self._last_flush >= self.flush_seconds
        if due or (count >= lim.query_rate_floor and key not in self._flushed):
            self.flush()
            with self._lock:
                count = self._flushed.get(key, 0) + self._pending.get(key, 0)
        if count < lim.query_rate_floor or key in self._alerted:
            return False
        median = self._baselines.get(key)
        if median is None:
            median = self._baselines[key] = self._baseline(agency, bucket)
            self._baselines = {k: v for k, v in self._baselines.items() if k[1] >= bucket}
        if count <= lim.query_rate_factor * median:
            return False
        # Remember alerted buckets (this replica) so the rest of a burst skips the insert.
        self._alerted = {k for k in self._alerted if k[1] >= bucket}
        self._alerted.add((agency, bucket))
        raised = self._events.record(
            "query_rate_anomaly",
            caller=agency,
            method=method,
            status="OK",
            detail={
                "agency": agency,
                "bucket_start": bucket.isoformat(),
                "bucket_seconds": lim.query_rate_bucket_seconds,
                "count": count,
                "trailing_median": median,
                "factor": lim.query_rate_factor,
                "floor": lim.query_rate_floor,
            },
            dedup_key=f"query_rate_anomaly:{agency}:{bucket.isoformat()}",
        )
        if raised:
            SECURITY_ALERTS.labels("query_rate_anomaly").inc()
            log.warning(
                "query rate anomaly",
                agency=agency,
                count=count,
                trailing_median=median,
                bucket_seconds=lim.query_rate_bucket_seconds,
            )
        return raised


class AbuseInterceptor(ServerInterceptor):
    """Applies the Link limits and the query monitor; records refused and failed calls.

    It runs inside the shared CallInterceptor and AuthorizationInterceptor, so the caller is
    authenticated and allowed by the access table when it gets here.
    """

    def __init__(self, guard: LinkGuard, monitor: QueryRateMonitor, events: SecurityLog) -> None:
        self._guard = guard
        self._monitor = monitor
        self._events = events

    def intercept(
        self,
        method: Callable[..., Any],
        request: Any,
        context: grpc.ServicerContext,
        method_name: str,
    ) -> Any:
        caller = current_caller()
        number_index: str | None = None
        try:
            if method_name == LINK_METHOD:
                dom = domain_of(caller) or (caller or "-")
                number_index = self._guard.number_index(request.my_number)
                held = self._guard.reserve(dom, request.my_number)  # before any lookup
                try:
                    answer = method(request, context)
                except errors.DomainError as exc:
                    if status_for(exc) in _LINK_FAILURES:
                        self._record("link_failed", caller, method_name, exc, number_index)
                        self._guard.failed(number_index, method_name)
                    else:
                        self._guard.release(held)
                    raise
                except BaseException:
                    self._guard.release(held)
                    raise
                self._guard.release(held)  # a correct Link does not count
                return answer
            if method_name == QUERY_METHOD and caller:
                self._monitor.observe(domain_of(caller) or caller, 1, method=method_name)
            elif method_name == BATCH_QUERY_METHOD and caller:
                n = max(1, len(request.queries))
                self._monitor.observe(domain_of(caller) or caller, n, method=method_name)
            return method(request, context)
        except errors.DomainError as exc:
            kind = _AUDITED.get(status_for(exc))
            if kind is not None:
                self._record(kind, caller, method_name, exc, number_index)
            raise

    def _record(
        self,
        kind: str,
        caller: str | None,
        method_name: str,
        exc: errors.DomainError,
        number_index: str | None,
    ) -> None:
        try:
            self._events.record(
                kind,
                caller=caller,
                method=method_name,
                status=status_for(exc).name,
                number_index=number_index,
                detail={"error": type(exc).__name__},
            )
        except Exception as failure:  # the caller gets its real answer even so
            log.error("security event not recorded", kind=kind, error=type(failure).__name__)


def denial_recorder(events: SecurityLog) -> Callable[[str | None, str, str], None]:
    """The access-table hook: each refusal becomes a security event."""

    def on_denied(who: str | None, method: str, status: str) -> None:
        events.record(
            "permission_denied" if status == "PERMISSION_DENIED" else "unauthenticated",
            caller=who or "-",
            method=method,
            status=status,
            detail={"reason": "access_table"},
        )

    return on_denied


class SecurityServicer(pb_grpc.SecurityServicer):
    """Operator access to recent security events."""

    def __init__(self, events: SecurityLog) -> None:
        self._events = events

    def ListSecurityEvents(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        if request.limit < 0 or request.before_id < 0:
            raise errors.InvalidInput("limit and before_id must not be negative")
        if len(request.kind) > 32 or len(request.caller) > 64:
            raise errors.InvalidInput("kind (32) or caller (64 characters) is too long")
        limit = min(request.limit or 100, MAX_LIST)
        rows = self._events.recent(
            kind=request.kind, caller=request.caller, limit=limit, before_id=request.before_id
        )
        events = []
        for row in rows:
            at = timestamp_pb2.Timestamp()
            at.FromDatetime(aware(row.at))
            events.append(
                pb.SecurityEvent(
                    id=row.id,
                    at=at,
                    kind=row.kind,
                    caller=row.caller,
                    method=row.method,
                    status=row.status,
                    request_id=row.request_id,
                    number_index=row.number_index or "",
                    detail=to_struct(json.loads(row.detail or "{}")),
                )
            )
        return pb.ListSecurityEventsResponse(events=events)
