"""The registry's side of witnessing: each new checkpoint goes to the configured witnesses.

:class:`Witnessing` is called with every checkpoint the registry signs (the one hook is in
:meth:`ExchangeLogStore._sign <services.registry.exchange_log.ExchangeLogStore>`) and returns
the signed note with the witnesses' cosignature lines appended, so the stored and served
checkpoint carries them (a C2SP note may carry several signatures).

Per witness it follows C2SP tlog-witness: send ``old size`` = the size that witness last
cosigned and a consistency proof from it; the first time (or after another replica moved the
witness on) the witness answers ABORTED with its size in the ``tlog-size`` trailing metadata,
and the request is retried from that size. A witness that refuses or cannot be reached is
logged and left out: the checkpoint then lacks its cosignature, and clients that require it
reject the checkpoint rather than trust it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from mynumber.witness.v1 import witness_pb2, witness_pb2_grpc

from mynumber_core.channels import Channels
from mynumber_core.cosignature import add_signature_lines, parse_signature_lines
from mynumber_core.log import get_logger

log = get_logger(__name__)

SIZE_METADATA = "tlog-size"
"""Trailing metadata with the witness's latest cosigned size on ABORTED."""
MAX_ATTEMPTS = 3
WITNESS_TIMEOUT_SECONDS = 2.0

ConsistencyProof = Callable[[int, int], list[bytes]]
"""(old size, new size) → RFC 9162 consistency proof of the exchange log."""


class WitnessRefused(Exception):
    """A witness did not cosign (its status and message say why)."""


def _witness_size(error: grpc.RpcError) -> int | None:
    trailing: Any = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in trailing or ():
        if key == SIZE_METADATA and str(value).isdigit():
            return int(value)
    return None


class Witnessing:
    """Collects cosignatures for new checkpoints from the configured witnesses."""

    def __init__(
        self,
        channels: Channels,
        witnesses: Sequence[str],
        consistency_proof: ConsistencyProof,
        *,
        timeout: float = WITNESS_TIMEOUT_SECONDS,
    ) -> None:
        self._channels = channels
        self.witnesses = list(witnesses)
        self._proof = consistency_proof
        self._timeout = timeout
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, len(self.witnesses)), thread_name_prefix="witnessing"
        )

    def cosign(self, note: str, size: int) -> str:
        """``note`` with the cosignature lines of every witness that accepted it."""
        if not self.witnesses:
            return note
        futures = {w: self._pool.submit(self._ask, w, note, size) for w in self.witnesses}
        lines: list[str] = []
        for witness, future in futures.items():
            try:
                lines += future.result()
            except (WitnessRefused, grpc.RpcError, RuntimeError, ValueError) as exc:
                log.warning(
                    "witness did not cosign the checkpoint",
                    witness=witness,
                    size=size,
                    error=str(exc)[:300],
                )
        return add_signature_lines(note, lines)

    def _ask(self, witness: str, note: str, size: int) -> list[str]:
        """Submit to one witness, retrying from the size it reports; its signature lines."""
        stub = witness_pb2_grpc.WitnessStub(self._channels.channel(witness))
        with self._lock:
            old = self._sizes.get(witness, 0)
        if old > size:
            old = 0  # it will tell us where it stands
        for _ in range(MAX_ATTEMPTS):
            proof = self._proof(old, size) if 0 < old < size else []
            try:
                response = stub.AddCheckpoint(
                    witness_pb2.AddCheckpointRequest(
                        old_size=old, consistency_proof=proof, checkpoint=note
                    ),
                    timeout=self._timeout,
                )
            except grpc.RpcError as exc:
                reported = _witness_size(exc)
                if exc.code() == grpc.StatusCode.ABORTED and reported is not None:
                    if reported > size:
                        raise WitnessRefused(
                            f"witness already cosigned size {reported}, newer than {size}"
                        ) from None
                    old = reported
                    continue
                raise WitnessRefused(f"{exc.code().name}: {exc.details()}") from None
            lines = parse_signature_lines(response.cosignatures)
            with self._lock:
                self._sizes[witness] = max(size, self._sizes.get(witness, 0))
            return lines
        raise WitnessRefused(f"witness kept reporting another size after {MAX_ATTEMPTS} tries")

    def close(self) -> None:
        """Stop the worker threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)
