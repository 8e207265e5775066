"""A small, real ``mynumber.exchange.v1.Provider`` server for the registry's hub tests.

It is started with :func:`mynumber_core.server.start_server` under the domain's own identity
certificate (``var/tls/<service>``) and the same deny-by-default rule the real agencies use
(only the ``registry`` identity may call Provide and Deliver), so the hub under test talks real
gRPC over mutual TLS on loopback. It records every call that reaches it (token, item, ...),
and can be told to fail or to be slow. Like a real agency it seals each answer to the
requester's key with the real :mod:`mynumber_core.sealing` (and opens the events sealed to
it); ``seal_to`` makes it seal to a wrong key, for the tamper tests.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from mynumber.exchange.v1 import exchange_pb2, exchange_pb2_grpc

from mynumber_core import errors
from mynumber_core.interceptors import status_code
from mynumber_core.keyring import Keyring
from mynumber_core.provider import (
    PROVIDER_ACCESS,
    box_from_proto,
    box_to_proto,
    sealing_key_from_proto,
    sealing_key_to_proto,
)
from mynumber_core.sealing import (
    DomainKeys,
    SealingKey,
    answer_context,
    batch_context,
    event_context,
    params_digest,
    seal_json,
)
from mynumber_core.server import GrpcApp, RunningServer, start_server
from mynumber_core.structs import from_struct
from mynumber_core.tls import TlsMaterial
from mynumber_dev.keys import keyring_path, tls_dir

PROVIDE = "/mynumber.exchange.v1.Provider/Provide"
DELIVER = "/mynumber.exchange.v1.Provider/Deliver"

SERVICE_OF_DOMAIN = {"portal": "gateway"}


@dataclass(frozen=True)
class SeenProvide:
    """A Provide call as the provider saw it."""

    token: str
    item: str
    procedure: str
    requester: str
    request_id: str
    params: dict[str, Any]


@dataclass(frozen=True)
class SeenDeliver:
    """A Deliver call as the provider saw it."""

    token: str
    event_type: str
    event_id: str
    publisher: str
    payload: dict[str, Any]


def income_for(token: str, year: int) -> int:
    """Synthetic but stable yearly income in yen (multiples of 1,000)."""
    digest = hashlib.sha256(f"{token}/{year}".encode()).digest()
    return 1_500_000 + int.from_bytes(digest[:4], "big") % 6_000 * 1_000


@dataclass
class TestProvider(exchange_pb2_grpc.ProviderServicer):
    """One domain's provider; ``items`` limits what it serves (None: every item)."""

    __test__ = False  # not a pytest test class

    domain: str
    items: set[str] | None = None
    fail_with: errors.DomainError | None = None
    sleep_seconds: float = 0.0
    seal_to: SealingKey | None = None
    """When set, answers are sealed to this key instead of the requester's (tamper tests)."""
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Fixed answers per item (e.g. what a compromised portal says the payout account is)."""
    keys: DomainKeys | None = None
    """The domain's HPKE keys (set by :func:`start_provider` from the dev keyring)."""
    provides: list[SeenProvide] = field(default_factory=list)
    deliveries: list[SeenDeliver] = field(default_factory=list)
    batches: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        """Forget calls and behaviour switches (between tests on a shared stack)."""
        with self._lock:
            self.provides.clear()
            self.deliveries.clear()
            self.batches = 0
            self.answers.clear()
        self.fail_with, self.sleep_seconds, self.seal_to = None, 0.0, None

    def _answer(self, token: str, item: str, params: dict[str, Any]) -> dict[str, Any]:
        if self.items is not None and item not in self.items:
            raise errors.NotFound(f"{self.domain} provides no item {item!r}")
        if item in self.answers:
            return dict(self.answers[item])
        if item == "income":
            year = int(params.get("year", 2024))
            return {"year": year, "total_income": income_for(token, year), "currency": "JPY"}
        return {"item": item, "provider": self.domain, "records": 1}

    def Provide(
        self, request: exchange_pb2.ProvideRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.ProvideResponse:
        params = from_struct(request.params)
        with self._lock:
            self.provides.append(
                SeenProvide(
                    request.token,
                    request.item,
                    request.procedure,
                    request.requester,
                    request.request_id,
                    params,
                )
            )
        if self.sleep_seconds:
            time.sleep(self.sleep_seconds)
        if self.fail_with is not None:
            raise self.fail_with
        data = self._answer(request.token, request.item, params)
        context_ = answer_context(
            request_id=request.request_id,
            requester=request.requester,
            provider=self.domain,
            item=request.item,
            procedure=request.procedure,
            params=params,
        )
        recipient = self.seal_to or sealing_key_from_proto(request.recipient)
        box = seal_json(recipient, data, context_)
        return exchange_pb2.ProvideResponse(sealed=box_to_proto(box))

    def ProvideBatch(
        self, request: exchange_pb2.ProvideBatchRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.ProvideBatchResponse:
        with self._lock:
            self.batches += 1
        answers: list[dict[str, Any] | None] = []
        statuses = []
        for i in request.items:
            params = from_struct(i.params)
            with self._lock:
                self.provides.append(
                    SeenProvide(
                        i.token, i.item, i.procedure, request.requester, i.request_id, params
                    )
                )
            try:
                if self.fail_with is not None:
                    raise self.fail_with
                answers.append(self._answer(i.token, i.item, params))
                statuses.append(exchange_pb2.BatchAnswer(request_id=i.request_id))
            except errors.DomainError as exc:
                answers.append(None)
                statuses.append(
                    exchange_pb2.BatchAnswer(
                        request_id=i.request_id, code=status_code(exc), message=exc.message
                    )
                )
        if self.sleep_seconds:
            time.sleep(self.sleep_seconds)
        members = [
            (i.request_id, i.item, i.procedure, params_digest(from_struct(i.params)))
            for i in request.items
        ]
        context_ = batch_context(requester=request.requester, provider=self.domain, members=members)
        recipient = self.seal_to or sealing_key_from_proto(request.recipient)
        box = seal_json(recipient, {"answers": answers}, context_)
        return exchange_pb2.ProvideBatchResponse(answers=statuses, sealed=box_to_proto(box))

    def GetSealingKey(
        self, request: exchange_pb2.GetSealingKeyRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.SealingKey:
        assert self.keys is not None
        return sealing_key_to_proto(self.keys.public_key())

    def Deliver(
        self, request: exchange_pb2.DeliverRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.DeliverResponse:
        assert self.keys is not None
        payload = self.keys.open_json(
            box_from_proto(request.sealed_payload),
            event_context(
                event_id=request.event_id,
                publisher=request.publisher,
                receiver=self.domain,
                event_type=request.event_type,
                procedure=request.procedure,
            ),
            what="event",
        )
        seen = SeenDeliver(
            request.token,
            request.event_type,
            request.event_id,
            request.publisher,
            payload,
        )
        with self._lock:
            applied = all(d.event_id != seen.event_id for d in self.deliveries)
            self.deliveries.append(seen)
        if self.fail_with is not None:
            raise self.fail_with
        return exchange_pb2.DeliverResponse(applied=applied)


def start_provider(var: Path, provider: TestProvider, *, port: int = 0) -> RunningServer:
    """Serve ``provider`` over mTLS as its domain's service identity."""
    service = SERVICE_OF_DOMAIN.get(provider.domain, provider.domain)
    provider.keys = DomainKeys(Keyring.load(keyring_path(var, service)), provider.domain)

    def register(server: grpc.Server) -> None:
        exchange_pb2_grpc.add_ProviderServicer_to_server(provider, server)

    app = GrpcApp(
        name=service,
        service_names=["mynumber.exchange.v1.Provider"],
        register=register,
        access=PROVIDER_ACCESS,
    )
    return start_server(app, TlsMaterial(tls_dir(var, service)), port=port, max_workers=8)
