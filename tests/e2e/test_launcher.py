"""``make run`` keeps going: when a service dies the launcher's supervisor says so, restarts it
with backoff on the same ports, and leaves the other services running."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mynumber_core.server import GrpcApp, start_server
from mynumber_core.tls import TlsMaterial
from mynumber_dev.keys import ensure_dev_keys, tls_dir
from mynumber_dev.platform import Platform, Supervisor


def _serving(health_port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{health_port}") as channel:
        try:
            status = (
                health_pb2_grpc.HealthStub(channel)
                .Check(health_pb2.HealthCheckRequest(), timeout=1)
                .status
            )
        except grpc.RpcError:
            return False
    return bool(status == health_pb2.HealthCheckResponse.SERVING)


def test_a_killed_service_is_restarted_and_the_others_keep_running(tmp_path: Path) -> None:
    platform = Platform(var=tmp_path / "var", services=["registry", "tax"], fixed_ports=False)
    platform.start()
    said: list[str] = []
    try:
        supervisor = Supervisor(platform, said.append, initial=0.5, cap=4.0)
        registry_pid = platform.procs["registry"].process.pid
        victim = platform.procs["tax"]
        victim.process.kill()  # SIGKILL, as a crash would
        victim.process.wait()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            supervisor.check()
            tax = platform.procs["tax"]
            if tax.process.pid != victim.process.pid and _serving(tax.health_port):
                break
            time.sleep(0.2)
        tax = platform.procs["tax"]
        assert tax.process.pid != victim.process.pid and tax.process.poll() is None
        assert _serving(tax.health_port) and tax.port == victim.port
        assert supervisor.restarts == {"tax": 1}
        assert any(line.startswith("tax exited with -9; restarting it in 0.5 s") for line in said)
        assert "tax restarted" in " ".join(said)
        # The registry never noticed.
        assert platform.procs["registry"].process.pid == registry_pid
        assert platform.procs["registry"].process.poll() is None
        assert _serving(platform.procs["registry"].health_port)
    finally:
        platform.stop()


def test_the_gateway_is_serving_only_once_its_http_port_answers(tmp_path: Path) -> None:
    """A launcher (or a readiness probe) that sees the gateway SERVING can use the portal at
    once: health turns SERVING after uvicorn has bound the HTTP port, not when gRPC is up."""
    platform = Platform(var=tmp_path / "var", services=["registry", "gateway"], fixed_ports=False)
    platform.start()
    try:
        with socket.create_connection(("127.0.0.1", platform.http_port), timeout=2):
            pass  # refused here before the fix: gRPC health said SERVING before uvicorn bound
    finally:
        platform.stop()


def test_health_reports_not_serving_until_marked(tmp_path: Path) -> None:
    var = tmp_path / "var"
    ensure_dev_keys(var)
    app = GrpcApp(
        name="tax", service_names=("mynumber.test.Nothing",), register=lambda s: None, access={}
    )
    server = start_server(app, TlsMaterial(tls_dir(var, "tax")), serving=False)
    try:
        assert not _serving(server.health_port)
        server.mark_serving()
        assert _serving(server.health_port)
    finally:
        server.stop()
