"""gRPC ↔ domain conversion for the witness (errors are raised, the interceptor maps them)."""

from __future__ import annotations

from typing import Any

import grpc
from mynumber.witness.v1 import witness_pb2, witness_pb2_grpc

from mynumber_core import errors
from services.witness.domain import AddCheckpoint, SizeConflict, parse_request_body, proof_list
from services.witness.usecases import LogWitness

SIZE_METADATA = "tlog-size"
"""Trailing metadata key carrying the witness's latest size on ABORTED (HTTP 409 in C2SP)."""


class WitnessServicer(witness_pb2_grpc.WitnessServicer):
    """The Witness API."""

    def __init__(self, witness: LogWitness) -> None:
        self._w = witness

    def AddCheckpoint(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        if request.body:
            if request.old_size or request.consistency_proof or request.checkpoint:
                raise errors.InvalidInput("send either body or old_size/proof/checkpoint, not both")
            parsed = parse_request_body(bytes(request.body))
        else:
            parsed = AddCheckpoint(
                request.old_size, proof_list(request.consistency_proof), request.checkpoint
            )
        try:
            line = self._w.add_checkpoint(parsed)
        except SizeConflict as exc:
            context.set_trailing_metadata(((SIZE_METADATA, str(exc.latest_size)),))
            raise
        return witness_pb2.AddCheckpointResponse(cosignatures=line)

    def GetWitnessKey(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        return witness_pb2.GetWitnessKeyResponse(
            name=self._w.identity.name, vkey=self._w.identity.vkey
        )
