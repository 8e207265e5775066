"""Outgoing gRPC channels: mutual TLS as this service, request id and deadline propagation."""

from __future__ import annotations

import ipaddress
import threading

import grpc

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
                ],
            )
            chan = grpc.intercept_channel(raw, ClientContextInterceptor(self._timeout))
            self._channels[service] = chan
            return chan

    def close(self) -> None:
        """Close every channel."""
        with self._lock:
            for chan in self._channels.values():
                chan.close()
            self._channels.clear()
