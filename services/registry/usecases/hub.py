"""The exchange hub: one query and a batch (each provider asked once), the sealed
answers relayed and replayed, every outcome recorded in the log first, and the log reads.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table

from mynumber_core import errors, metrics
from mynumber_core.clock import utc_now
from mynumber_core.interceptors import status_code
from mynumber_core.sealing import (
    PUBLIC_KEY_BYTES,
    SUITE,
    BatchMember,
    SealedBox,
    SealingKey,
)
from services.registry import claim_pins, domain
from services.registry.domain import Outcome
from services.registry.exchange_log import NewEntry
from services.registry.models import (
    LogEntry,
    SealedAnswer,
)
from services.registry.people import PersonRef, QueryFacts
from services.registry.sequencer import Append
from services.registry.usecases.base import RegistryBase
from services.registry.usecases.records import (
    _ERROR_BY_NUMBER,
    MAX_PARAMS_BYTES,
    BatchAnswer,
    ProviderAnswer,
    QueryArgs,
    QueryResult,
    _fingerprint,
    _Planned,
    require_domain,
)

_SEALED_ANSWERS = cast(Table, SealedAnswer.__table__)
_Known = tuple[PersonRef | errors.DomainError, QueryFacts | None]
"""A batch query's person (or why it has none) and its read facts, read for the batch."""


@dataclass(frozen=True)
class _Fetched:
    """A planned query and its provider's answer, to be recorded. ``in_box``: for a member
    of a batch's one sealed box, its digest, every member's metadata and this one's place;
    ``kept``: the row keeping that box for replay, written in the same group commit."""

    plan: _Planned
    answer: ProviderAnswer
    in_box: tuple[str, list[BatchMember], int] | None = None
    kept: tuple[tuple[Table, Mapping[str, Any]], ...] = ()


class Hub(RegistryBase):
    """Query and batch query through the hub, with their log entries."""

    # ------------------------------------------------------------------------ the hub

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
        reply_to: SealingKey | None = None,
    ) -> QueryResult:
        """Authorise, translate, fetch (sealed to the requester), record (durably, first),
        return the sealed answer."""
        plan = self._plan(
            caller, token, provider, item, procedure, request_id, params, remaining=remaining
        )
        if isinstance(plan, QueryResult):
            return plan
        answer = self._fetch(plan, self._recipient(plan.requester, reply_to))
        outcome = self._settle([_Fetched(plan, answer)])[0]
        if isinstance(outcome, errors.DomainError):
            raise outcome
        return outcome

    def query_many(
        self,
        caller: str | None,
        specs: Sequence[QueryArgs],
        *,
        remaining: float | None = None,
        reply_to: SealingKey | None = None,
    ) -> list[QueryResult | errors.DomainError]:
        """A batch: each query authorised on its own, each provider asked once for all its
        items (ProvideBatch, in parallel), and every outcome appended in one durable
        transaction before any answer is returned."""
        plans: list[_Planned | QueryResult | errors.DomainError] = []
        known = self._read_batch(caller, specs)
        for spec, facts in zip(specs, known, strict=True):
            try:
                plans.append(self._plan(caller, *spec, remaining=remaining, known=facts))
            except errors.DomainError as exc:
                plans.append(exc)
        pending = [(i, p) for i, p in enumerate(plans) if isinstance(p, _Planned)]
        by_provider: dict[str, list[tuple[int, _Planned]]] = {}
        for i, p in pending:
            by_provider.setdefault(p.provider, []).append((i, p))
        groups = list(by_provider.values())
        contexts = [contextvars.copy_context() for _ in groups]
        # Each worker runs in a copy of this call's context: deadline, caller, request id.
        answers = list(
            self._pool.map(
                lambda pair: pair[0].run(self._fetch_batch, pair[1], reply_to),
                zip(contexts, groups, strict=True),
            )
        )
        # Every provider's outcomes in one append: one group commit for the whole batch.
        fetched = [
            member
            for group, answer in zip(groups, answers, strict=True)
            for member in self._batch_fetched(group, answer)
        ]
        outcomes = self._settle(fetched)
        for (i, _), outcome in zip((m for g in groups for m in g), outcomes, strict=True):
            plans[i] = outcome
        settled = [p for p in plans if not isinstance(p, _Planned)]
        assert len(settled) == len(specs)
        return settled

    def _read_batch(self, caller: str | None, specs: Sequence[QueryArgs]) -> list[_Known | None]:
        """Each query's person and read facts for a batch, in a few statements for all of
        them (None where the query will fail its own checks first, or the caller is no
        domain: :meth:`_plan` then reads, or refuses, as for a single query)."""
        try:
            requester = require_domain(caller)
        except errors.DomainError:
            return [None] * len(specs)
        people = self._people.people(requester, [spec[0] for spec in specs])
        wanted: list[tuple[int, PersonRef, str, str]] = []
        for n, (token, provider, _, _, request_id, _) in enumerate(specs):
            person = people[token]
            if isinstance(person, PersonRef):
                wanted.append((n, person, request_id, provider))
        facts = self._people.read_for_queries(requester, [w[1:] for w in wanted])
        known: list[_Known | None] = [None] * len(specs)
        for (n, person, _, _), read in zip(wanted, facts, strict=True):
            known[n] = (person, read)
        for n, (token, *_rest) in enumerate(specs):
            found = people[token]
            if isinstance(found, errors.DomainError):
                known[n] = (found, None)
        return known

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
        known: _Known | None = None,
    ) -> _Planned | QueryResult:
        """Validate, authorise and translate; a denial or a missing link is recorded and
        raised, a retry of a recorded query is answered from its record. ``known``: the
        person and read facts a batch read for this query already."""
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
        if known is None:
            person = self._people.person(requester, token)
            # One statement, one round trip: the idempotency record (a request_id names one
            # query, whichever provider it went to), the resident's locks (never cached) and
            # the provider's link, and the log size the first was read below.
            read = self._people.read_for_query(requester, person, request_id, provider)
        else:
            found, facts = known
            if isinstance(found, errors.DomainError):
                raise found
            assert facts is not None
            person, read = found, facts
        done_index, locks, link_version = read.done_index, read.locks, read.link_version
        tag = person.tag
        if done_index is not None:
            with self.db.transaction() as session:
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
            verified = False
            if "protect_claims" in locks and procedure in domain.CLAIM_PROCEDURES:
                with self.db.transaction() as session:
                    verified = claim_pins.allowed(session, person.id, procedure, utc_now())
            denial = domain.lock_denial(locks, requester, procedure, pin_verified=verified)
        provider_token = (
            None
            if denial or link_version is None
            else self.vault.make(provider, link_version, person.person_key)
        )
        plan = _Planned(
            requester,
            provider,
            item,
            procedure,
            request_id,
            dict(params),
            encoded,
            fingerprint,
            tag,
            provider_token or "",
            read.checked_below,
        )
        if denial is not None:
            self._record(plan.entry(Outcome.DENIED, denial, code=7))
            raise errors.PermissionDenied(denial)
        if provider_token is None:
            reason = f"{provider} holds no record of this person"
            self._record(plan.entry(Outcome.FAILED, reason, code=5))
            raise errors.NotFound(reason)
        return plan

    def _fetch(self, plan: _Planned, recipient: SealingKey) -> ProviderAnswer:
        return self._provide(
            domain.service_of(plan.provider),
            plan.provider_token,
            plan.item,
            plan.procedure,
            plan.request_id,
            plan.requester,
            plan.params,
            recipient,
        )

    def _recipient(self, requester: str, reply_to: SealingKey | None) -> SealingKey:
        """The key answers are sealed to: the one the requester named for itself (checked
        to be its own domain's and well formed), else its key from the directory."""
        if reply_to is None:
            return self.keys.key_of(requester)
        if reply_to.domain != requester:
            raise errors.InvalidInput(
                f"reply_to names a key of {reply_to.domain[:32]!r}; a requester can only ask "
                "for answers sealed to its own domain's key"
            )
        if reply_to.suite != SUITE or len(reply_to.public_key) != PUBLIC_KEY_BYTES:
            raise errors.InvalidInput(
                f"reply_to must be a {SUITE} public key of {PUBLIC_KEY_BYTES} bytes"
            )
        domain.check_request_id(reply_to.key_id, field="reply_to.key_id")
        return reply_to

    def _fetch_batch(
        self, group: Sequence[tuple[int, _Planned]], reply_to: SealingKey | None = None
    ) -> BatchAnswer:
        """Ask one provider for every item of a batch in one ProvideBatch call."""
        first = group[0][1]
        try:
            recipient = self._recipient(first.requester, reply_to)
        except errors.DomainError as exc:
            return BatchAnswer(None, [], exc)
        return self._provide_batch(
            domain.service_of(first.provider),
            first.requester,
            recipient,
            [(p.provider_token, p.item, p.procedure, p.request_id, p.params) for _, p in group],
        )

    def _batch_fetched(
        self, group: Sequence[tuple[int, _Planned]], answer: BatchAnswer
    ) -> list[_Fetched]:
        """One provider's batch answer, member by member; each provided member carries the
        row keeping the box's one ciphertext (by digest) for replay, and its entry commits to
        the digest and its position in the box."""
        plans = [p for _, p in group]
        if answer.error is None and (answer.sealed is None or len(answer.statuses) != len(plans)):
            answer = BatchAnswer(
                None, [], errors.Unavailable(f"{plans[0].provider} answered an incomplete batch")
            )
        if answer.error is not None or answer.sealed is None:
            failure = answer.error or errors.Unavailable("no batch answer")
            return [_Fetched(p, ProviderAnswer(None, failure)) for p in plans]
        box = answer.sealed
        members = [p.member() for p in plans]
        digest = box.digest()
        kept = (
            _SEALED_ANSWERS,
            {
                "digest": digest,
                "requester": plans[0].requester,
                "provider": plans[0].provider,
                "key_id": box.key_id,
                "suite": box.suite,
                "ciphertext": box.ciphertext,
                "members": json.dumps([list(m) for m in members]),
                "created_at": utc_now(),
            },
        )
        fetched = []
        for position, (plan, (code, message)) in enumerate(
            zip(plans, answer.statuses, strict=True)
        ):
            if code != 0:
                failure = _ERROR_BY_NUMBER.get(code, errors.Unavailable)(message[:500])
                fetched.append(_Fetched(plan, ProviderAnswer(None, failure)))
            else:
                fetched.append(
                    _Fetched(plan, ProviderAnswer(box), (digest, members, position), (kept,))
                )
        return fetched

    def _settle(
        self,
        fetched: Sequence[_Fetched],
    ) -> list[QueryResult | errors.DomainError]:
        """Record every fetched answer through the sequencer (one group commit), then answer.

        A provided answer whose request_id a concurrent retry already recorded is answered
        from that record instead (the sequencer checks inside the batch's transaction).
        """
        fetched = [
            f
            if f.answer.error is not None or f.answer.sealed is not None
            else _Fetched(
                f.plan,
                ProviderAnswer(
                    None, errors.Unavailable(f"{f.plan.provider} returned no sealed answer")
                ),
            )
            for f in fetched
        ]
        items = []
        for f in fetched:
            plan, answer = f.plan, f.answer
            if answer.error is not None:
                code = status_code(answer.error)
                failed = plan.entry(Outcome.FAILED, answer.error.message[:500], code=code)
                items.append(Append(failed))
            else:
                provided = (
                    plan.entry(Outcome.PROVIDED, "", answer.sealed)
                    if f.in_box is None
                    else plan.entry(Outcome.PROVIDED, "", digest=f.in_box[0], position=f.in_box[2])
                )
                items.append(
                    Append(
                        provided,
                        replay_outcomes=(Outcome.PROVIDED,),
                        checked_below=plan.checked_below,
                        with_rows=f.kept,
                    )
                )
        out: list[QueryResult | errors.DomainError] = []
        recorded = self.log.record(items)
        for f, item, done in zip(fetched, items, recorded, strict=True):
            plan, answer = f.plan, f.answer
            if done.replayed is not None:
                try:
                    out.append(self._replay(done.replayed, plan.fingerprint))
                except errors.DomainError as exc:
                    out.append(exc)
                continue
            metrics.EXCHANGES.labels(item.entry.outcome).inc()
            if answer.error is not None or answer.sealed is None:
                out.append(answer.error or errors.Unavailable("no sealed answer"))
            elif f.in_box is not None:
                _, members, position = f.in_box
                out.append(QueryResult(answer.sealed, done.index, plan.provider, members, position))
            else:
                out.append(QueryResult(answer.sealed, done.index, plan.provider))
        return out

    def _replay(self, done: Any, fingerprint: str) -> QueryResult:
        """A retried query is answered with the ciphertext first relayed (never re-asked)."""
        if done.fingerprint != fingerprint:
            raise errors.InvalidInput(
                "request_id was already used for a different query; use a new request_id"
            )
        if done.outcome == Outcome.DENIED:
            raise errors.PermissionDenied(done.message)
        return self._recorded_answer(done.index)

    def _recorded_answer(self, index: int) -> QueryResult:
        """The sealed answer an entry recorded: inline, or its place in a batch's box."""
        with self.db.transaction() as session:
            row = session.get(LogEntry, index)
            if row is not None and row.answer is not None and row.answer_key_id:
                box = SealedBox(row.answer_key_id, row.answer_suite or "", bytes(row.answer))
                return QueryResult(box, index, row.provider)
            if row is not None and row.answer_digest and row.answer_position is not None:
                stored = session.get(SealedAnswer, row.answer_digest)
                if stored is not None:
                    box = SealedBox(stored.key_id, stored.suite, bytes(stored.ciphertext))
                    members: list[BatchMember] = [
                        (m[0], m[1], m[2], m[3]) for m in json.loads(stored.members)
                    ]
                    return QueryResult(box, index, row.provider, members, row.answer_position)
        raise errors.FailedPrecondition(
            "this exchange was recorded before answers were sealed, and the hub no longer "
            "keeps its answer; ask again with a new request_id"
        )

    def report_unopenable(self, caller: str | None, request_id: str, reason: str) -> int:
        """The requester could not open the sealed answer of one of its exchanges: record
        the failure in the log (beside the exchange's entry) and return its index."""
        requester = require_domain(caller)
        domain.check_request_id(request_id)
        reason = " ".join(reason.split())[:500]
        if not reason:
            raise errors.InvalidInput("reason is required: say what failed to open and why")
        with self.db.transaction() as session:
            done = self.log.find(session, requester, request_id, None, (Outcome.PROVIDED,))
            if done is None:
                raise errors.NotFound(
                    "no answered exchange of yours has this request_id; report only answers "
                    "the hub relayed to you"
                )
            fields = json.loads(done.leaf)
            entry = NewEntry(
                requester,
                done.provider,
                fields["item"],
                fields["procedure"],
                Outcome.FAILED,
                f"the requester could not open the sealed answer of entry {done.index}: {reason}",
                request_id,
                done.citizen_tag,
                done.fingerprint,
                None,
                15,
                answer_digest=done.answer_digest,
            )
        return self._record(entry)

    # ------------------------------------------------------------------- the log

    def citizen_tag_for(self, caller: str | None, token: str) -> str:
        """The log tag of the person the caller's token names (from the token cache)."""
        return self._people.person(require_domain(caller), token).tag
