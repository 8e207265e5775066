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
from mynumber_core.structs import from_struct, to_struct
from services.registry.domain import Outcome
from services.registry.exchange_log import leaf_fields
from services.registry.usecases import Registry

_SEX_NAMES = {pb.SEX_MALE: "male", pb.SEX_FEMALE: "female"}
_STATUS = {"active": pb.PERSON_STATUS_ACTIVE, "deceased": pb.PERSON_STATUS_DECEASED}
_OUTCOME = {
    Outcome.PROVIDED: pb.OUTCOME_PROVIDED,
    Outcome.DENIED: pb.OUTCOME_DENIED,
    Outcome.FAILED: pb.OUTCOME_FAILED,
    Outcome.DELIVERED: pb.OUTCOME_DELIVERED,
}
MAX_PAGE = 1000
_AGENCY = re.compile(r"[a-z][a-z0-9_]{0,31}")


def facts_from_proto(message: pb.BasicFacts) -> BasicFacts:
    """Validated facts from a request (INVALID_ARGUMENT naming the bad field)."""
    if message.sex not in _SEX_NAMES:
        raise errors.InvalidInput("facts.sex must be SEX_MALE or SEX_FEMALE")
    return BasicFacts.parse(
        message.name, message.birth_date, _SEX_NAMES[message.sex], message.address
    )


def _status(status: str, reissued: bool) -> Any:
    if status == "active" and reissued:
        return pb.PERSON_STATUS_NUMBER_REISSUED
    return _STATUS.get(status, pb.PERSON_STATUS_UNSPECIFIED)


class RegistryServicer(pb_grpc.RegistryServicer):
    """Numbers, links and tokens."""

    def __init__(self, registry: Registry) -> None:
        self._r = registry

    def RegisterResident(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        issued = self._r.register(
            current_caller(), facts_from_proto(request.facts), request.idempotency_key
        )
        return pb.RegisterResidentResponse(
            my_number=issued.my_number, token=issued.token, key_version=issued.key_version
        )

    def BulkRegister(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        if len(request.residents) > 10_000:
            raise errors.InvalidInput("at most 10000 residents per BulkRegister call")
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
        )
        return pb.QueryResponse(data=to_struct(result.data), log_index=result.log_index)

    def BatchQuery(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        if len(request.queries) > 10_000:
            raise errors.InvalidInput("at most 10000 queries per BatchQuery call")
        specs = [
            (q.token, q.provider, q.item, q.procedure, q.request_id, from_struct(q.params))
            for q in request.queries
        ]
        outcomes = self._r.query_many(current_caller(), specs, remaining=remaining_seconds())
        results = []
        for q, outcome in zip(request.queries, outcomes, strict=True):
            if isinstance(outcome, errors.DomainError):
                results.append(
                    pb.BatchResult(
                        request_id=q.request_id, code=status_code(outcome), message=outcome.message
                    )
                )
            else:
                results.append(
                    pb.BatchResult(
                        request_id=q.request_id,
                        code=0,
                        data=to_struct(outcome.data),
                        log_index=outcome.log_index,
                    )
                )
        return pb.BatchQueryResponse(results=results)

    def Publish(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        delivered = self._r.publish(
            current_caller(),
            request.token,
            request.event_type,
            request.event_id,
            from_struct(request.payload),
            request.procedure,
            list(request.audience),
        )
        return pb.PublishResponse(delivered_to=delivered)


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
        since = request.time_from.ToDatetime(dt.UTC) if request.HasField("time_from") else None
        until = request.time_to.ToDatetime(dt.UTC) if request.HasField("time_to") else None
        if since is not None and until is not None and since > until:
            raise errors.InvalidInput("time_from must not be after time_to")
        tag = self._r.citizen_tag_for(current_caller(), request.token)
        checkpoint, size = self._r.log.signed_checkpoint()
        # Entries appended after the checkpoint was taken wait for a later call.
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
                    inclusion_proof=self._r.log.inclusion_proof(row.index, size),
                )
            )
        return pb.ListEntriesResponse(entries=entries, checkpoint=checkpoint, more=more)

    def GetCheckpoint(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        checkpoint, _ = self._r.log.signed_checkpoint()
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
