"""gRPC ↔ use case for ``mynumber.pension.v1.OrphanRecords`` (conversion only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
from mynumber.pension.v1 import pension_pb2, pension_pb2_grpc

from services.pension.usecases.orphans import OrphanInput, OrphanPool, ReconcilePort
from services.pension.usecases.record_matches import RecordMatches


class OrphanRecordsServicer(pension_pb2_grpc.OrphanRecordsServicer):
    """File old ledger records in the orphan pool; reconcile it, streaming progress and, last,
    the report; the operator review queue and its decisions."""

    def __init__(self, pool: OrphanPool, port: ReconcilePort, matches: RecordMatches) -> None:
        self._pool = pool
        self._port = port
        self._matches = matches

    def AddRecords(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        records = [
            OrphanInput(
                record_id=r.record_id,
                name_kana=r.name_kana,
                name_kanji=r.name_kanji or None,
                birth_date_written=r.birth_date_written,
                sex=r.sex,
                prefecture=r.prefecture or None,
                employer=r.employer,
                period_start=r.period_start,
                period_end=r.period_end,
                months=r.months,
            )
            for r in request.records
        ]
        added = self._pool.add(records)
        return pension_pb2.AddOrphanRecordsResponse(added=added, already_filed=len(records) - added)

    def ReviewQueue(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        return pension_pb2.ReviewQueueResponse(
            items=[
                pension_pb2.ReviewItem(
                    record_id=i.record_id,
                    period_start=i.period_start,
                    period_end=i.period_end,
                    employer=i.employer,
                    months=i.months,
                    candidates=[
                        pension_pb2.ReviewCandidate(
                            number=n, match_probability=p, agreeing=list(agreeing)
                        )
                        for n, (p, agreeing) in enumerate(i.candidates, start=1)
                    ],
                )
                for i in self._matches.review_queue()
            ]
        )

    def DecideReview(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        status = self._matches.decide_review(
            request.record_id, request.assign_to, request.dismiss, request.operator_id
        )
        return pension_pb2.DecideReviewResponse(status=status)

    def Reconcile(  # noqa: N802
        self, request: Any, context: grpc.ServicerContext
    ) -> Iterator[pension_pb2.ReconcileOrphansProgress]:
        steps = self._pool.reconcile_steps(self._port, batch_size=request.batch_size or 500)
        for done, total, report in steps:
            finished = done == total
            yield pension_pb2.ReconcileOrphansProgress(
                done=done,
                total=total,
                finished=finished,
                bands=dict(report.bands) if finished else {},
                several=report.several,
                none=report.none,
                review=len(self._pool.review_queue()) if finished else 0,
            )
