"""gRPC ↔ domain for ``Reconciliation`` (proto conversion only; see :mod:`.reconcile` and
:mod:`.reconcile_notices`)."""

from __future__ import annotations

from typing import Any

import grpc
from mynumber.registry.v1 import reconcile_pb2 as pb
from mynumber.registry.v1 import reconcile_pb2_grpc as pb_grpc

from mynumber_core.interceptors import current_caller
from mynumber_core.provider import box_from_proto
from services.registry import linkage_facts
from services.registry.reconcile import Reconciler
from services.registry.reconcile_notices import CandidateNotices


class ReconciliationServicer(pb_grpc.ReconciliationServicer):
    """Reconcile: orphan records in, pension's own tokens (or notify references) out; and
    the delivery of pension's notice to a notify reference (:mod:`.reconcile_notices`)."""

    def __init__(self, reconciler: Reconciler, notices: CandidateNotices | None = None) -> None:
        self._r = reconciler
        self._notices = notices or CandidateNotices(reconciler.registry)

    def DeliverCandidateNotice(  # noqa: N802
        self, request: Any, context: grpc.ServicerContext
    ) -> Any:
        token, index = self._notices.deliver(
            current_caller(),
            request.notify_reference,
            request.event_type,
            request.event_id,
            request.procedure,
            box_from_proto(request.sealed_payload) if request.HasField("sealed_payload") else None,
        )
        return pb.CandidateNoticeResponse(token=token, log_index=index)

    def Reconcile(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        records = [
            linkage_facts.OrphanFacts(
                r.record_id,
                r.name_kana,
                r.name_kanji or None,
                r.birth_date_written,
                r.sex,
                r.prefecture or None,
            )
            for r in request.records
        ]
        found, threshold = self._r.reconcile(
            current_caller(), records, request.request_id, request.threshold
        )
        return pb.ReconcileResponse(
            threshold=threshold,
            results=[
                pb.RecordCandidates(
                    record_id=r.record_id,
                    candidates=[
                        pb.ReconcileCandidate(
                            token=f.token or None,
                            notify_reference=f.notify_reference or None,
                            match_probability=f.probability,
                            agreeing=list(f.agreeing),
                            log_index=f.log_index,
                        )
                        for f in found[r.record_id]
                    ],
                )
                for r in records
            ],
        )
