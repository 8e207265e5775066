"""gRPC servicers of the registry: protobuf ↔ use-case conversion only."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import grpc
from cryptography.hazmat.primitives import serialization
from google.protobuf import timestamp_pb2
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_core import errors
from mynumber_core.facts import BasicFacts
from mynumber_core.interceptors import current_caller, remaining_seconds, status_code
from mynumber_core.provider import box_from_proto, box_to_proto, sealing_key_from_proto
from mynumber_core.sealing import SealedBox, SealingKey
from mynumber_core.structs import from_struct
from services.registry.domain import Outcome
from services.registry.exchange_log import leaf_fields
from services.registry.usecases import MAX_BATCH, QueryResult, Registry
from services.registry.usecases.link_batch import BulkLinks, RawRecord

_SEX_NAMES = {pb.SEX_MALE: "male", pb.SEX_FEMALE: "female"}
_STATUS = {"active": pb.PERSON_STATUS_ACTIVE, "deceased": pb.PERSON_STATUS_DECEASED}
_OUTCOME = {
    Outcome.PROVIDED: pb.OUTCOME_PROVIDED,
    Outcome.DENIED: pb.OUTCOME_DENIED,
    Outcome.FAILED: pb.OUTCOME_FAILED,
    Outcome.DELIVERED: pb.OUTCOME_DELIVERED,
}
MAX_PAGE = 1000
CHECKPOINT_WAIT_SECONDS = 2.0
"""How long ListEntries without include_pending waits for a covering checkpoint at most."""
_AGENCY = re.compile(r"[a-z][a-z0-9_]{0,31}")


def _time_field(request: Any, name: str) -> dt.datetime | None:
    """A Timestamp field as an aware datetime, or None when unset; a value outside what a
    datetime can hold (years 1-9999) or with invalid nanos is INVALID_ARGUMENT."""
    if not request.HasField(name):
        return None
    try:
        return getattr(request, name).ToDatetime(dt.UTC)
    except (ValueError, OverflowError):
        raise errors.InvalidInput(
            f"{name} must be a time between 0001-01-01 and 9999-12-31 UTC with nanos in "
            "[0, 999999999]"
        ) from None


def facts_from_proto(message: pb.BasicFacts) -> BasicFacts:
    """Validated facts from a request (INVALID_ARGUMENT naming the bad field)."""
    if message.sex not in _SEX_NAMES:
        raise errors.InvalidInput("facts.sex must be SEX_MALE or SEX_FEMALE")
    return BasicFacts.parse(
        message.name,
        message.birth_date,
        _SEX_NAMES[message.sex],
        message.address,
        name_kana=message.name_kana,
    )


def _status(status: str, reissued: bool) -> Any:
    if status == "active" and reissued:
        return pb.PERSON_STATUS_NUMBER_REISSUED
    return _STATUS.get(status, pb.PERSON_STATUS_UNSPECIFIED)


class RegistryServicer(pb_grpc.RegistryServicer):
    """Numbers, links and tokens."""

    def __init__(self, registry: Registry, bulk_links: BulkLinks | None = None) -> None:
        self._r = registry
        self._bulk_links = bulk_links

    def RegisterResident(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        issued = self._r.register(
            current_caller(), facts_from_proto(request.facts), request.idempotency_key
        )
        return pb.RegisterResidentResponse(
            my_number=issued.my_number, token=issued.token, key_version=issued.key_version
        )

    def BulkRegister(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        if len(request.residents) > MAX_BATCH:
            raise errors.InvalidInput(f"at most {MAX_BATCH} residents per BulkRegister call")
        parsed = [(facts_from_proto(r.facts), r.idempotency_key) for r in request.residents]
        issued = self._r.register_many(current_caller(), parsed)
        return pb.BulkRegisterResponse(
            residents=[
                pb.RegisterResidentResponse(
                    my_number=i.my_number, token=i.token, key_version=i.key_version
                )
                for i in issued
            ]
        )

    def Link(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        token, version = self._r.link(
            current_caller(), request.my_number, facts_from_proto(request.facts)
        )
        return pb.LinkResponse(token=token, key_version=version)

    def LinkBatch(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        if self._bulk_links is None:
            raise errors.Unavailable("LinkBatch is not enabled on this registry")
        if len(request.records) > MAX_BATCH:
            raise errors.InvalidInput(f"at most {MAX_BATCH} records per LinkBatch call")
        answers = self._bulk_links.link_many(
            current_caller(),
            [
                RawRecord(
                    r.my_number,
                    r.facts.name,
                    r.facts.birth_date,
                    _SEX_NAMES.get(r.facts.sex, ""),
                    r.facts.address,
                )
                for r in request.records
            ],
        )
        return pb.LinkBatchResponse(
            results=[
                pb.LinkBatchResult(code=status_code(a.error), message=a.error.message)
                if a.error is not None
                else pb.LinkBatchResult(token=a.token, key_version=a.key_version)
                for a in answers
            ]
        )

    def ResolveToken(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        resolved = self._r.resolve(current_caller(), request.token)
        if not resolved.found:
            return pb.ResolveTokenResponse(found=False)
        return pb.ResolveTokenResponse(
            found=True,
            status=_status(resolved.status, resolved.reissued),
            key_version=resolved.key_version,
        )

    def UpdateFacts(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._r.update_facts(
            current_caller(), request.token, facts_from_proto(request.facts), request.deceased
        )
        return pb.UpdateFactsResponse()

    def ReissueNumber(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        if len(request.reason) > 500:
            raise errors.InvalidInput("reason is too long (at most 500 characters)")
        number = self._r.reissue(current_caller(), request.token, request.idempotency_key)
        return pb.ReissueNumberResponse(my_number=number)

    def RotateTokenKey(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        return pb.RotateTokenKeyResponse(
            key_version=self._r.rotate_key(current_caller(), request.domain)
        )

    def SetLocks(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        locks = self._r.set_locks(current_caller(), request.token, list(request.locks))
        return pb.SetLocksResponse(locks=locks)

    def IssueClaimPin(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        pin, year = self._r.issue_claim_pin(current_caller(), request.token)
        return pb.IssueClaimPinResponse(pin=pin, year=year)

    def VerifyClaimPin(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        until = self._r.verify_claim_pin(
            current_caller(), request.token, request.pin, request.procedure
        )
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(until)
        return pb.VerifyClaimPinResponse(allowed_until=stamp)


def _reply_to(request: Any) -> SealingKey | None:
    """The requester's own key, when it named one."""
    return sealing_key_from_proto(request.reply_to) if request.HasField("reply_to") else None


def _members(members: Any) -> list[Any]:
    return [
        pb.BatchMember(request_id=m[0], item=m[1], procedure=m[2], params_sha256=m[3])
        for m in members
    ]


def _query_response(result: QueryResult) -> Any:
    """A Query answer: the sealed box (and, for a batch-sealed one, what it covers)."""
    response = pb.QueryResponse(sealed=box_to_proto(result.sealed), log_index=result.log_index)
    if result.members is not None and result.position is not None:
        response.batch.extend(_members(result.members))
        response.position = result.position
    return response


class HubServicer(pb_grpc.HubServicer):
    """The exchange hub."""

    def __init__(self, registry: Registry) -> None:
        self._r = registry

    def Query(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        result = self._r.query(
            current_caller(),
            request.token,
            request.provider,
            request.item,
            request.procedure,
            request.request_id,
            from_struct(request.params),
            remaining=remaining_seconds(),
            reply_to=_reply_to(request),
        )
        return _query_response(result)

    def BatchQuery(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        if len(request.queries) > MAX_BATCH:
            raise errors.InvalidInput(f"at most {MAX_BATCH} queries per BatchQuery call")
        specs = [
            (q.token, q.provider, q.item, q.procedure, q.request_id, from_struct(q.params))
            for q in request.queries
        ]
        outcomes = self._r.query_many(
            current_caller(), specs, remaining=remaining_seconds(), reply_to=_reply_to(request)
        )
        results = []
        carriers: dict[int, int] = {}  # id of a batch's box → the result carrying it
        members: dict[int, Any] = {}
        for q, outcome in zip(request.queries, outcomes, strict=True):
            if isinstance(outcome, errors.DomainError):
                results.append(
                    pb.BatchResult(
                        request_id=q.request_id, code=status_code(outcome), message=outcome.message
                    )
                )
            else:
                result = pb.BatchResult(
                    request_id=q.request_id,
                    code=0,
                    log_index=outcome.log_index,
                    provider=outcome.provider,
                    sealed_ref=len(results),
                )
                if outcome.members is not None and outcome.position is not None:
                    result.position = outcome.position
                    key = id(outcome.sealed)
                    if key in carriers:  # the batch's box travels once, in its first result
                        result.sealed_ref = carriers[key]
                    else:
                        carriers[key] = len(results)
                        result.sealed.CopyFrom(box_to_proto(outcome.sealed))
                        members[len(results)] = pb.BatchMembers(items=_members(outcome.members))
                else:
                    result.sealed.CopyFrom(box_to_proto(outcome.sealed))
                results.append(result)
        return pb.BatchQueryResponse(results=results, members=members)

    def Publish(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        delivered = self._r.publish(
            current_caller(),
            request.token,
            request.event_type,
            request.event_id,
            _sealed_payloads(request),
            request.procedure,
            list(request.audience),
        )
        return pb.PublishResponse(delivered_to=delivered)

    def GetKeyDirectory(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        directory, verifier = self._r.key_directory()
        return pb.GetKeyDirectoryResponse(directory=directory, verifier_key=verifier)

    def ReportUnopenable(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        if len(request.reason) > 500:
            raise errors.InvalidInput("reason is too long (at most 500 characters)")
        index = self._r.report_unopenable(current_caller(), request.request_id, request.reason)
        return pb.ReportUnopenableResponse(log_index=index)


def _sealed_payloads(request: Any) -> dict[str, SealedBox]:
    """The per-receiver boxes of a Publish; a plaintext payload is refused (the hub must
    not be able to read what it relays)."""
    if request.payload.fields:
        raise errors.InvalidInput(
            "payload must be empty: seal it to each receiving domain's key from the key "
            "directory (sealed_payloads), so the hub cannot read it"
        )
    return {receiver: box_from_proto(box) for receiver, box in request.sealed_payloads.items()}


class ExchangeLogServicer(pb_grpc.ExchangeLogServicer):
    """The resident-verifiable log."""

    def __init__(self, registry: Registry) -> None:
        self._r = registry

    def ListEntries(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        page = request.page_size or 100
        if page > MAX_PAGE:
            raise errors.InvalidInput(f"page_size must be at most {MAX_PAGE}")
        agency = request.agency or None
        if agency is not None and not _AGENCY.fullmatch(agency):
            raise errors.InvalidInput("agency must be an agency name (lower case, at most 32)")
        since = _time_field(request, "time_from")
        until = _time_field(request, "time_to")
        if since is not None and until is not None and since > until:
            raise errors.InvalidInput("time_from must not be after time_to")
        tag = self._r.citizen_tag_for(current_caller(), request.token)
        log = self._r.log
        if request.include_pending:
            # Entries newer than the newest checkpoint are listed as pending inclusion;
            # entries appended after the size is read wait for a later call.
            checkpoint = log.checkpoint()
            size = max(log.size(), checkpoint.size)
        else:
            # Older clients verify every entry: list only what the newest checkpoint covers,
            # after waiting (briefly, only when needed) for one that covers this person's
            # newest entry.
            checkpoint = log.checkpoint()
            newest = log.newest_index(tag)
            if newest is not None and newest >= checkpoint.size:
                checkpoint = log.checkpoint_covering(newest + 1, CHECKPOINT_WAIT_SECONDS)
            size = checkpoint.size
        before = min(request.before_index, size) if request.has_before else size
        rows = self._r.log.entries_for(
            tag,
            after=request.after_index if request.has_after else None,
            before=before,
            limit=page + 1,
            newest_first=request.newest_first,
            agency=agency,
            since=since,
            until=until,
        )
        more = len(rows) > page
        entries = []
        for row in rows[:page]:
            pending = row.index >= checkpoint.size
            fields = leaf_fields(row.leaf)
            stamp = timestamp_pb2.Timestamp()
            stamp.FromDatetime(dt.datetime.fromisoformat(fields["time"]))
            entries.append(
                pb.LogEntry(
                    index=row.index,
                    time=stamp,
                    requester=fields["requester"],
                    provider=fields["provider"],
                    item=fields["item"],
                    procedure=fields["procedure"],
                    outcome=_OUTCOME.get(fields["outcome"], pb.OUTCOME_UNSPECIFIED),
                    reason=fields["reason"],
                    request_id=fields["request_id"],
                    leaf=row.leaf,
                    inclusion_proof=(
                        [] if pending else log.inclusion_proof(row.index, checkpoint.size)
                    ),
                    pending=pending,
                )
            )
        return pb.ListEntriesResponse(entries=entries, checkpoint=checkpoint.note, more=more)

    def GetCheckpoint(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        checkpoint = self._r.log.checkpoint().note
        raw = self._r.log.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return pb.GetCheckpointResponse(
            checkpoint=checkpoint, public_key=raw, key_name=self._r.log.key_name
        )

    def GetConsistencyProof(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        size = self._r.log.size()
        if not 0 <= request.first_size <= request.second_size <= size:
            raise errors.InvalidInput(
                f"need 0 <= first_size <= second_size <= {size} (the current log size)"
            )
        proof = self._r.log.consistency_proof(request.first_size, request.second_size)
        return pb.GetConsistencyProofResponse(proof=proof)
