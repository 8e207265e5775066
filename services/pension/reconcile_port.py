"""The registry's ``Reconciliation.Reconcile`` over gRPC, as pension's :class:`ReconcilePort`."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from mynumber.registry.v1 import reconcile_pb2 as pb
from mynumber.registry.v1 import reconcile_pb2_grpc as pb_grpc

from services.pension.usecases.orphans import OrphanInput, Proposed


class GrpcReconcilePort:
    """Calls the registry (mTLS as pension) and turns its answer into :class:`Proposed`."""

    def __init__(self, channel: grpc.Channel, timeout: float = 120.0) -> None:
        self._stub = pb_grpc.ReconciliationStub(channel)
        self._timeout = timeout

    def reconcile(
        self, records: Sequence[OrphanInput], request_id: str, threshold: float = 0.0
    ) -> dict[str, list[Proposed]]:
        """Candidates per record id, best first, at least ``threshold`` likely (0: the
        registry's default)."""
        response = self._stub.Reconcile(
            pb.ReconcileRequest(
                request_id=request_id,
                threshold=threshold,
                records=[
                    pb.OrphanRecordFacts(
                        record_id=r.record_id,
                        name_kana=r.name_kana,
                        name_kanji=r.name_kanji or "",
                        birth_date_written=r.birth_date_written,
                        sex=r.sex,
                        prefecture=r.prefecture or "",
                    )
                    for r in records
                ],
            ),
            timeout=self._timeout,
        )
        return {
            result.record_id: [
                Proposed(
                    c.token if c.WhichOneof("ref") == "token" else f"notify:{c.notify_reference}",
                    c.match_probability,
                    tuple(c.agreeing),
                )
                for c in result.candidates
            ]
            for result in response.results
        }
