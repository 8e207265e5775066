"""Status codes that tell callers what to do, through a real mTLS server and real failures.

A database that is down, restarting or locked answers UNAVAILABLE (retry later, same key); a
peer that cannot be reached answers UNAVAILABLE; only a bug answers INTERNAL, and then the log
has its traceback with every My Number redacted. Each failure here is real: a PostgreSQL
backend terminated by the server, a SQLite file locked by another connection, a connection to
a port nobody listens on, a gRPC peer that is not there.
"""

from __future__ import annotations

import io
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from sqlalchemy import create_engine, text

from mynumber_core.channels import Channels
from mynumber_core.log import configure_logging
from mynumber_core.mynumber import generate
from mynumber_core.server import GrpcApp, running
from mynumber_core.tls import TlsMaterial
from mynumber_dev.keys import ensure_dev_keys, tls_dir
from tests.support.databases import PG_ADMIN_DSN, PostgresDatabases, SqliteDatabases

METHOD = "/mynumber.test.Faults/Run"


@dataclass
class FaultServer:
    """A real server (the shared interceptors) whose one handler does what a test says."""

    var: Path
    endpoint: str
    handler: list[Callable[[], None]] = field(default_factory=list)

    def call(self) -> grpc.RpcError:
        channels = Channels(TlsMaterial(tls_dir(self.var, "pension")), {"tax": self.endpoint})
        try:
            with pytest.raises(grpc.RpcError) as info:
                channels.channel("tax").unary_unary(METHOD)(b"", timeout=10)
            return info.value
        finally:
            channels.close()


@pytest.fixture
def faults(tmp_path: Path) -> Iterator[FaultServer]:
    var = tmp_path / "var"
    ensure_dev_keys(var)
    state = FaultServer(var, "")

    def run(_request: bytes, _context: grpc.ServicerContext) -> bytes:
        state.handler[-1]()
        return b""

    class Handlers(grpc.GenericRpcHandler):
        def service(self, details: grpc.HandlerCallDetails) -> Any:
            if details.method == METHOD:
                return grpc.unary_unary_rpc_method_handler(run)
            return None

    app = GrpcApp(
        name="tax",
        service_names=("mynumber.test.Faults",),
        register=lambda server: server.add_generic_rpc_handlers((Handlers(),)),
        access={METHOD: frozenset({"pension"})},
    )
    with running(app, TlsMaterial(tls_dir(var, "tax"))) as server:
        state.endpoint = f"127.0.0.1:{server.port}"
        yield state


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_outage(backend: SqliteDatabases | PostgresDatabases) -> Callable[[], None]:
    """A handler that meets a real outage of its database (one per backend)."""
    url = backend("tax")
    engine = create_engine(url)
    if isinstance(backend, PostgresDatabases):

        def terminated() -> None:
            with engine.connect() as conn:
                pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
                with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
                conn.execute(text("SELECT 1"))  # the server closed it: 57P01

        return terminated
    Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    holder = sqlite3.connect(
        url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
    )
    holder.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    locked = create_engine(url, connect_args={"timeout": 0.05})

    def busy() -> None:
        holder.execute("BEGIN EXCLUSIVE")
        try:
            with locked.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (1)"))
        finally:
            holder.execute("ROLLBACK")

    return busy


def test_a_database_outage_is_unavailable(
    faults: FaultServer, backend: SqliteDatabases | PostgresDatabases
) -> None:
    faults.handler.append(_database_outage(backend))
    error = faults.call()
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "database is unavailable or restarting" in (error.details() or "")


def test_an_unreachable_database_server_is_unavailable(faults: FaultServer) -> None:
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/x")

    def connect() -> None:
        with engine.connect():
            pass

    faults.handler.append(connect)
    error = faults.call()
    assert error.code() == grpc.StatusCode.UNAVAILABLE


def test_an_unreachable_peer_is_unavailable_before_the_deadline(faults: FaultServer) -> None:
    """The handler asks a registry that is not there (an idempotent, retried method): the
    caller hears UNAVAILABLE once the retries are spent, well before its 10 s deadline."""
    peers = Channels(
        TlsMaterial(tls_dir(faults.var, "tax")), {"registry": f"127.0.0.1:{_closed_port()}"}
    )

    def ask() -> None:
        pb_grpc.HubStub(peers.channel("registry")).Query(
            pb.QueryRequest(request_id="r-1"), timeout=8
        )

    faults.handler.append(ask)
    started = time.monotonic()
    error = faults.call()
    peers.close()
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert time.monotonic() - started < 7
    # the relayed failure carries retry pushback: the caller's channel did not retry it
    assert ("grpc-retry-pushback-ms", "-1") in tuple(error.trailing_metadata() or ())


def test_a_bug_is_internal_and_its_traceback_is_logged_redacted(faults: FaultServer) -> None:
    number = generate(lambda _: False)
    buffer = io.StringIO()
    configure_logging(fmt="json", level="info", stream=buffer)

    def bug() -> None:
        try:
            empty: dict[str, int] = {}
            empty[number]  # the KeyError's message carries the number
        except KeyError as cause:
            raise ValueError(f"no record for {number}", {"nested": [number]}) from cause

    faults.handler.append(bug)
    try:
        error = faults.call()
    finally:
        configure_logging(fmt="json", level="info")
    assert error.code() == grpc.StatusCode.INTERNAL
    assert number not in (error.details() or "")
    logged = buffer.getvalue()
    assert "unexpected error" in logged and "Traceback" in logged and "ValueError" in logged
    assert "[redacted]" in logged
    assert number not in logged
