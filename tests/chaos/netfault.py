"""Network faults on loopback: a TCP relay in front of the registry that can black-hole.

Every service (and the suite's own clients) reaches the registry through :class:`TcpRelay`.
Normally it copies bytes both ways. While :meth:`TcpRelay.black_hole` is on, the network to
the registry is "dropped": the relay still accepts TCP connections (the kernel completes the
handshake) but forwards nothing and answers nothing, on new and existing connections alike, as
a partitioned network or a silently dead peer would. When the fault is healed, what was held
flows on (as TCP would retransmit it). mTLS passes through untouched.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


class TcpRelay:
    """A threaded TCP relay from a free loopback port to ``upstream`` ("host:port")."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._open = threading.Event()
        self._open.set()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self.accepted = 0
        threading.Thread(target=self._accept, name="relay-accept", daemon=True).start()

    @contextlib.contextmanager
    def black_hole(self) -> Iterator[None]:
        """Drop the network for the duration of the block."""
        self._open.clear()
        try:
            yield
        finally:
            self._open.set()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            self._track(client)
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        self._open.wait()  # a connection made during the fault hangs, unanswered
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            self._close(client)  # the registry is down: the caller sees the connection drop
            return
        upstream.settimeout(None)
        self._track(upstream)
        threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
        self._pump(upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                self._open.wait()  # during the fault nothing is forwarded
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._close(source)
            self._close(sink)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()

    def close(self) -> None:
        """Stop accepting and drop every connection."""
        self._closed.set()
        self._open.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            self._close(sock)
