"""The baselines: a bare gRPC echo server over the same mTLS, optionally forwarding to a next
hop (client → A → B is the "bare two-hop chain" the exchange is compared with).

Run as a process: ``python -m bench.echo --port P --tls-dir DIR [--next HOST:PORT]``.
"""

from __future__ import annotations

import argparse
import signal
import threading
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

from mynumber_core.tls import TlsMaterial

METHOD = "/bench.Echo/Echo"


def _identity(data: bytes) -> bytes:
    return data


def serve(port: int, tls_dir: Path, next_hop: str | None) -> None:
    """Serve until SIGTERM."""
    tls = TlsMaterial(tls_dir)
    forward: Any = None
    if next_hop:
        channel = grpc.secure_channel(
            next_hop, tls.channel_credentials(), options=[("grpc.ssl_target_name_override", "tax")]
        )
        forward = channel.unary_unary(
            METHOD, request_serializer=_identity, response_deserializer=_identity
        )

    def echo(request: bytes, context: grpc.ServicerContext) -> bytes:
        return forward(request, timeout=5) if forward else request

    handler = grpc.method_handlers_generic_handler(
        "bench.Echo",
        {
            "Echo": grpc.unary_unary_rpc_method_handler(
                echo, request_deserializer=_identity, response_serializer=_identity
            )
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    server.add_generic_rpc_handlers((handler,))
    server.add_secure_port(f"127.0.0.1:{port}", tls.server_credentials())
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop(1).wait()


def echo_callable(channel: grpc.Channel) -> Any:
    """A callable sending bytes to the echo method."""
    return channel.unary_unary(
        METHOD, request_serializer=_identity, response_deserializer=_identity
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls-dir", type=Path, required=True)
    parser.add_argument("--next", dest="next_hop")
    args = parser.parse_args()
    serve(args.port, args.tls_dir, args.next_hop)
