"""Extra registry replicas beside a running :class:`~mynumber_dev.platform.Platform`.

A replica is another ``python -m services.registry`` process on the same database, keyring and
certificate; clients reach several replicas by dialling ``"host1:port1,host2:port2"`` through
:class:`mynumber_core.channels.Channels`. Used by the scale-out tests and the bench.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mynumber_dev.keys import keyring_path, tls_dir
from mynumber_dev.platform import REPO, Platform, pick_port, wait_until_serving


@dataclass
class Replica:
    """One registry process."""

    address: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM and wait (SIGKILL after ``grace`` seconds)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_replica(platform: Platform, name: str, *, timeout: float = 30.0) -> Replica:
    """Another registry process on the platform's registry database; SERVING when returned."""
    port, health_port = pick_port(None), pick_port(None)
    env = {
        **os.environ,
        "MYNUMBER_GRPC_PORT": str(port),
        "MYNUMBER_HEALTH_PORT": str(health_port),
        "MYNUMBER_METRICS_PORT": str(pick_port(None)),
        "MYNUMBER_DATABASE_URL": platform.database_url("registry"),
        "MYNUMBER_KEYRING_PATH": str(keyring_path(platform.var, "registry")),
        "MYNUMBER_TLS_DIR": str(tls_dir(platform.var, "registry")),
        "MYNUMBER_ENDPOINTS": json.dumps(platform.endpoints),
        "MYNUMBER_LOG_FORMAT": "json",
        "PYTHONPATH": os.pathsep.join(
            [str(REPO), str(REPO / "src"), str(REPO / "gen"), os.environ.get("PYTHONPATH", "")]
        ),
        **platform.extra_env,
    }
    log_path = platform.var / "log" / f"{name}.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.registry"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    replica = Replica(f"127.0.0.1:{port}", log_path, process)
    wait_until_serving(
        name,
        health_port,
        process,
        log_path,
        deadline=time.monotonic() + timeout,
        timeout=timeout,
        give_up=replica.stop,
    )
    return replica
