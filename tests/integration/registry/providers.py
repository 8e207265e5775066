"""A small, real ``mynumber.exchange.v1.Provider`` server for the registry's hub tests.

It is started with :func:`mynumber_core.server.start_server` under the domain's own identity
certificate (``var/tls/<service>``) and the same deny-by-default rule the real agencies use
(only the ``registry`` identity may call Provide and Deliver), so the hub under test talks real
gRPC over mutual TLS on loopback. It records every call that reaches it (token, item, ...),
and can be told to fail or to be slow.
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
from mynumber_core.interceptors import AccessTable
from mynumber_core.server import GrpcApp, RunningServer, start_server
from mynumber_core.structs import from_struct, to_struct
from mynumber_core.tls import TlsMaterial
from mynumber_dev.keys import tls_dir

PROVIDE = "/mynumber.exchange.v1.Provider/Provide"
DELIVER = "/mynumber.exchange.v1.Provider/Deliver"
PROVIDER_ACCESS: AccessTable = {
    PROVIDE: frozenset({"registry"}),
    DELIVER: frozenset({"registry"}),
}
"""The rule every real agency's access table has for the Provider service."""

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
    provides: list[SeenProvide] = field(default_factory=list)
    deliveries: list[SeenDeliver] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        """Forget calls and behaviour switches (between tests on a shared stack)."""
        with self._lock:
            self.provides.clear()
            self.deliveries.clear()
        self.fail_with, self.sleep_seconds = None, 0.0

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
        if self.items is not None and request.item not in self.items:
            raise errors.NotFound(f"{self.domain} provides no item {request.item!r}")
        if request.item == "income":
            year = int(params.get("year", 2024))
            data: dict[str, Any] = {
                "year": year,
                "total_income": income_for(request.token, year),
                "currency": "JPY",
            }
        else:
            data = {"item": request.item, "provider": self.domain, "records": 1}
        return exchange_pb2.ProvideResponse(data=to_struct(data))

    def Deliver(
        self, request: exchange_pb2.DeliverRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.DeliverResponse:
        seen = SeenDeliver(
            request.token,
            request.event_type,
            request.event_id,
            request.publisher,
            from_struct(request.payload),
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

    def register(server: grpc.Server) -> None:
        exchange_pb2_grpc.add_ProviderServicer_to_server(provider, server)

    app = GrpcApp(
        name=service,
        service_names=["mynumber.exchange.v1.Provider"],
        register=register,
        access=PROVIDER_ACCESS,
    )
    return start_server(app, TlsMaterial(tls_dir(var, service)), port=port, max_workers=8)
