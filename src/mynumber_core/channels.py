"""Outgoing gRPC channels: mutual TLS as this service; request id, deadline and W3C trace
context (``traceparent``) propagation; a gRPC service config with retries and keepalive.

Every channel carries the same service config (the ``grpc.service_config`` channel option, the
gRPC-native way, no hand-written retry loop):

* idempotent methods (their request carries a ``request_id``, ``idempotency_key``,
  ``event_id``, or a form's ``application_id`` or ``receipt_id``, or they only read:
  ``Get…``/``List…``/``Resolve…``/``Check…``/``Identify…``, or they are idempotent by nature:
  ``Link``, :data:`IDEMPOTENT_BY_NATURE`) get a ``retryPolicy`` that
  retries UNAVAILABLE (a refused connection, a peer whose database is restarting) with
  exponential backoff, within the call's deadline; the server's idempotency
  makes a retried write take effect once. A peer that stays down answers UNAVAILABLE after the
  last attempt (about 2 s), before the deadline: the caller learns it may retry later;
* the other methods have ``waitForReady``: while a peer restarts, such a call waits (up to its
  deadline) for the connection instead of failing at once, and it is never sent twice;
* a server that relays a peer's UNAVAILABLE its own channel already retried sends gRPC retry
  pushback (:data:`mynumber_core.interceptors.NO_RETRY`), so retries do not multiply along a
  chain (pension → registry → tax);
* keepalive pings find a dead connection (a black-holed peer) within seconds.

The method list is read from the proto descriptors (:func:`service_config`), so a new method is
covered the day it is added.
"""

from __future__ import annotations

import functools
import importlib
import ipaddress
import json
import pkgutil
import threading
from typing import Any

import grpc
import mynumber

from mynumber_core import tracing
from mynumber_core.interceptors import ClientContextInterceptor
from mynumber_core.tls import TlsMaterial


def _address_list(service: str, addresses: str) -> str:
    """``ipv4:``/``ipv6:`` target for a comma-separated list of replica addresses.

    gRPC resolves a list only when every entry is an IP literal; a host name in it would leave
    the channel failing every call with UNAVAILABLE, so it is refused here with a fix.
    """
    parts = [p.strip() for p in addresses.split(",") if p.strip()]
    kinds: set[int] = set()
    for part in parts:
        host, _, port = part.rpartition(":")
        try:
            version: int = ipaddress.ip_address(host.strip("[]")).version
        except ValueError:
            version = 0  # a host name, or no port at all
        bracketed = host.startswith("[") and host.endswith("]")
        kinds.add(version if port.isdigit() and bracketed == (version == 6) else 0)
    if kinds == {4}:
        return "ipv4:" + ",".join(parts)
    if kinds == {6}:
        return "ipv6:" + ",".join(parts)
    raise RuntimeError(
        f"endpoint for {service!r} lists several addresses, so each must be IP:port (IPv4) "
        f"or [IPv6]:port, all of one family, not {addresses!r}; or give one DNS name whose "
        "records list the replicas (e.g. a headless Kubernetes Service)"
    )


IDEMPOTENCY_FIELDS = frozenset(
    {"request_id", "idempotency_key", "event_id", "application_id", "receipt_id"}
)
"""A request with one of these fields (or a list of messages that have one) is idempotent: a
repeat with the same key returns the first result. (``claim_id`` is not: a pension claim
spends its card signature's nonce first, so a blind resend could be refused as a replay.)"""

READ_ONLY_PREFIXES = ("Get", "List", "Resolve", "Check", "Identify")
"""Methods named so only read, so a retry is always safe."""

IDEMPOTENT_BY_NATURE = frozenset(
    {("mynumber.registry.v1.Registry", "Link"), ("mynumber.registry.v1.Registry", "LinkBatch")}
)
"""Methods without a key whose repeat gives the same answer: Link answers the same token for
the same number and facts, and creates the link once under its unique key. Not retrying them
failed whole chains: an agency's call that links first (pension's ApplyExemption) got the
registry's UNAVAILABLE during a database restart, relayed with retry pushback, so nobody
retried it (the fault suite's one-second PostgreSQL restart)."""

RETRY_POLICY: dict[str, Any] = {
    "maxAttempts": 5,
    "initialBackoff": "0.25s",
    "maxBackoff": "2s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}
"""Up to 5 attempts, backoff 0.25 s doubling to 2 s (jittered by gRPC); never past the deadline."""

KEEPALIVE_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.enable_retries", 1),
]
"""Client keepalive: a ping every 20 s, a connection without an answer in 5 s is dropped.
The server side (:mod:`mynumber_core.server`) permits pings this often."""


def _is_idempotent(method: Any) -> bool:
    if method.name.startswith(READ_ONLY_PREFIXES):
        return True
    if (method.containing_service.full_name, method.name) in IDEMPOTENT_BY_NATURE:
        return True
    for fld in method.input_type.fields:
        if fld.name in IDEMPOTENCY_FIELDS:
            return True
        nested = fld.message_type
        if (
            nested is not None
            and fld.is_repeated
            and any(inner.name in IDEMPOTENCY_FIELDS for inner in nested.fields)
        ):
            return True
    return False


@functools.cache
def _platform_methods() -> tuple[tuple[str, str, bool], ...]:
    """(full service name, method name, idempotent) for every method of the platform's protos."""
    found: list[tuple[str, str, bool]] = []
    for info in pkgutil.walk_packages(mynumber.__path__, "mynumber."):
        if not info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(info.name)
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                found.append((service.full_name, method.name, _is_idempotent(method)))
    return tuple(sorted(found))


@functools.cache
def service_config() -> str:
    """The JSON service config every platform channel carries (see the module docstring)."""
    retried = [{"service": s, "method": m} for s, m, idem in _platform_methods() if idem]
    others = [{"service": s, "method": m} for s, m, idem in _platform_methods() if not idem]
    config = {
        "methodConfig": [
            {"name": retried, "retryPolicy": RETRY_POLICY},
            {"name": [*others, {}], "waitForReady": True},
        ]
    }
    return json.dumps(config)


def channel_options() -> list[tuple[str, Any]]:
    """Options for a platform channel: the service config and keepalive."""
    return [("grpc.service_config", service_config()), *KEEPALIVE_OPTIONS]


class Channels:
    """One cached, intercepted mTLS channel per peer service.

    ``endpoints`` maps a service name to ``host:port`` (several addresses separated by commas
    are balanced round-robin on the client side). The peer's certificate must carry that
    service's name, so a channel to ``tax`` only talks to the real tax service.
    """

    def __init__(
        self, tls: TlsMaterial, endpoints: dict[str, str], *, default_timeout: float = 5.0
    ) -> None:
        self._tls = tls
        self._endpoints = dict(endpoints)
        self._timeout = default_timeout
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()

    def target(self, service: str) -> str:
        """The dial target for a peer service."""
        try:
            address = self._endpoints[service]
        except KeyError:
            raise RuntimeError(f"no endpoint configured for service {service!r}") from None
        if "," in address:
            return _address_list(service, address)
        return address

    def channel(self, service: str) -> grpc.Channel:
        """A ready-to-use channel to the named service."""
        with self._lock:
            existing = self._channels.get(service)
            if existing is not None:
                return existing
            raw = grpc.secure_channel(
                self.target(service),
                self._tls.channel_credentials(),
                options=[
                    ("grpc.ssl_target_name_override", service),
                    ("grpc.lb_policy_name", "round_robin"),
                    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
                    *channel_options(),
                ],
            )
            chan = tracing.traced_channel(
                grpc.intercept_channel(raw, ClientContextInterceptor(self._timeout))
            )
            self._channels[service] = chan
            return chan

    def close(self) -> None:
        """Close every channel."""
        with self._lock:
            for chan in self._channels.values():
                chan.close()
            self._channels.clear()
