"""Certificate rotation without a restart: the registry serves a newly issued certificate.

The server credentials re-read ``tls.crt``/``tls.key`` when they change
(:meth:`TlsMaterial.server_credentials`), so replacing the files the way a Kubernetes Secret
update does is enough: the next TLS handshake presents the new certificate. A client on a
raw TLS socket (presenting its own platform certificate, offering ``h2`` like gRPC does)
reads the serial number the server presented before and after; calls keep succeeding
throughout, on the existing connection and on new ones.
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
from pathlib import Path

import grpc
from cryptography import x509
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_core.channels import Channels
from mynumber_core.tls import CERT_FILE, KEY_FILE, TlsMaterial, issue_service_cert
from mynumber_dev.keys import tls_dir
from tests.support.stack import Stack


def _served_serial(port: int, client_dir: Path) -> int:
    """The serial number of the certificate the server presents on a fresh TLS connection."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(client_dir / "ca.pem"))
    ctx.load_cert_chain(str(client_dir / CERT_FILE), str(client_dir / KEY_FILE))
    ctx.set_alpn_protocols(["h2"])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return int(x509.load_der_x509_certificate(der).serial_number)


def _replace(path: Path, data: bytes) -> None:
    """Atomic replacement, as a mounted Secret's symlink swap is."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _checkpoint(stub: pb_grpc.ExchangeLogStub) -> int:
    return len(stub.GetCheckpoint(pb.GetCheckpointRequest(), timeout=10).checkpoint)


def test_registry_serves_a_new_certificate_without_restart(tmp_path: Path) -> None:
    with Stack(tmp_path, ["registry"]) as stack:
        port = stack.servers["registry"].port
        server_dir = tls_dir(tmp_path, "registry")
        client_dir = tls_dir(tmp_path, "tax")
        original = x509.load_pem_x509_certificate((server_dir / CERT_FILE).read_bytes())
        assert _served_serial(port, client_dir) == original.serial_number

        existing = pb_grpc.ExchangeLogStub(stack.channel("registry", as_identity="tax"))
        _checkpoint(existing)
        failures: list[str] = []
        calls = [0]
        stop = threading.Event()

        def traffic() -> None:
            while not stop.is_set():
                try:
                    _checkpoint(existing)
                    calls[0] += 1
                except grpc.RpcError as exc:
                    failures.append(f"{exc.code().name}: {exc.details()}")

        worker = threading.Thread(target=traffic, daemon=True)
        worker.start()
        try:
            ca_pem = (tmp_path / "tls" / "ca.pem").read_bytes()
            ca_key = (tmp_path / "tls" / "ca.key").read_bytes()
            cert, key = issue_service_cert(ca_pem, ca_key, "registry", days=30)
            _replace(server_dir / KEY_FILE, key)
            _replace(server_dir / CERT_FILE, cert)
            rotated = x509.load_pem_x509_certificate(cert)
            assert rotated.serial_number != original.serial_number

            # A new connection sees the new certificate: same port, same process.
            assert _served_serial(port, client_dir) == rotated.serial_number
            # A new gRPC channel (fresh handshake) works against the rotated certificate.
            fresh = Channels(TlsMaterial(client_dir), stack.endpoints)
            try:
                stub = pb_grpc.ExchangeLogStub(fresh.channel("registry"))
                assert _checkpoint(stub) > 0
            finally:
                fresh.close()
        finally:
            stop.set()
            worker.join(timeout=10)
        assert failures == [], failures
        assert calls[0] > 0
        # Still the same server object: nothing restarted.
        assert stack.servers["registry"].port == port
