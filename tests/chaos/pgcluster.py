"""A private, throwaway PostgreSQL cluster for the fault suite.

The database outage fault stops the server in immediate mode (every backend dies at once, as
in a crash; the next start runs crash recovery), so it must never be the shared server on
127.0.0.1:5432 that other tests use. This cluster lives in a temporary folder, listens on a
free loopback port with its socket in that folder, trusts local connections, and is deleted
at the end. Crash recovery after an immediate stop is kept as short as a production server's
would be: checkpoints every 30 s (little WAL to replay) and ``recovery_init_sync_method=syncfs``
(one syncfs instead of an fsync of every file, which took over 10 s on the loaded 2-core
machine).
``initdb`` refuses to run as root, so as root (CI) every server command runs as
the ``postgres`` user (``runuser``), with the folder handed to that user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.support.stack import free_port


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        which = shutil.which("initdb")
        if which is None:
            raise RuntimeError(
                "no initdb found (looked in /usr/lib/postgresql/*/bin and PATH); install the "
                "PostgreSQL server package to run the fault suite's database outage"
            )
        return Path(which).parent
    return Path(found[-1]).parent


class PrivatePostgres:
    """initdb → start → (stop immediate → start)* → destroy."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "server.log"
        self.port = free_port()
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_postgres = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        """SQLAlchemy base URL (no database) for :class:`mynumber_dev.platform.Platform`."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [*self._as_postgres, *args],
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def create(self) -> PrivatePostgres:
        """initdb (trust auth, no fsync at init) and start."""
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        self.start()
        return self

    def start(self) -> float:
        """Start the server and wait until it accepts connections; returns the seconds it
        took (crash recovery included after an immediate stop)."""
        began = time.monotonic()
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c max_connections=300 -c shared_buffers=32MB -c checkpoint_timeout=30s "
            "-c recovery_init_sync_method=syncfs"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.logfile),
            "-o",
            options,
            "-W",
            "start",
        )
        while True:
            try:
                with psycopg.connect(
                    f"postgresql://postgres@127.0.0.1:{self.port}/postgres", connect_timeout=2
                ):
                    return time.monotonic() - began
            except psycopg.OperationalError:
                if time.monotonic() - began > 60:
                    raise
                time.sleep(0.05)

    def stop(self, mode: str = "immediate") -> None:
        """``pg_ctl stop -m <mode>``: immediate kills every backend without a checkpoint."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self, keep_log: Path | None = None) -> None:
        """Stop the server if it runs, copy its log to ``keep_log`` if given, delete the
        folder."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError):
                self.stop("immediate")
        if keep_log is not None and self.logfile.exists():
            shutil.copyfile(self.logfile, keep_log)
        shutil.rmtree(self.root, ignore_errors=True)
