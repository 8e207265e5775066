"""The witnesses' public keys, as the portal publishes them for clients to pin.

Each configured witness (``MYNUMBER_WITNESSES``, names in ``MYNUMBER_ENDPOINTS``) is asked for
its cosigner verifier key over mTLS (``Witness.GetWitnessKey``); a key, once read, is kept for
the life of the process, so a witness that is briefly down does not vanish from the list.
Clients still pin what they first saw and compare it on every visit.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import grpc
import structlog
from mynumber.witness.v1 import witness_pb2, witness_pb2_grpc

from mynumber_core.channels import Channels
from mynumber_core.cosignature import parse_cosigner_vkey

log = structlog.get_logger("mynumber.gateway")


class WitnessKeys:
    """Reads and keeps the witnesses' verifier keys."""

    def __init__(self, channels: Channels, witnesses: Sequence[str], timeout: float = 2.0) -> None:
        self._channels = channels
        self._witnesses = list(witnesses)
        self._timeout = timeout
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self) -> list[str]:
        """Every witness's verifier key that could be read, in configuration order."""
        for name in self._witnesses:
            with self._lock:
                if name in self._keys:
                    continue
            try:
                stub = witness_pb2_grpc.WitnessStub(self._channels.channel(name))
                vkey = str(
                    stub.GetWitnessKey(
                        witness_pb2.GetWitnessKeyRequest(), timeout=self._timeout
                    ).vkey
                )
                parse_cosigner_vkey(vkey)
            except (grpc.RpcError, RuntimeError, ValueError) as exc:
                log.warning("witness key unavailable", witness=name, error=type(exc).__name__)
                continue
            with self._lock:
                self._keys[name] = vkey
        with self._lock:
            return [self._keys[n] for n in self._witnesses if n in self._keys]
