"""``python -m mynumber_dev keys|run``: dev keys, and the whole platform for ``make run``."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from mynumber_core.log import configure_logging
from mynumber_dev.keys import ensure_dev_keys
from mynumber_dev.platform import Platform, Supervisor, available_services
from mynumber_dev.seed import DEMO_FILE, seed_or_reuse


def _run(args: argparse.Namespace) -> None:
    var: Path = args.var
    platform = Platform(var=var, postgres=args.postgres, services=available_services())
    backend = "PostgreSQL" if args.postgres else "SQLite (var/data/)"
    print(f"Starting {len(platform.services)} services on {backend} …", flush=True)
    # A first start on a busy 2-core machine imports everything cold: give it what the e2e
    # tests give it (a service that dies still fails at once, with its log).
    platform.start(timeout=180.0)
    for name, proc in platform.procs.items():
        print(
            f"  {name:<13} grpc://127.0.0.1:{proc.port}  (health :{proc.health_port}, "
            f"metrics :{proc.metrics_port}, log {proc.log_path})",
            flush=True,
        )
    if "gateway" in platform.procs:
        print(f"  portal        http://127.0.0.1:{platform.http_port}/", flush=True)
    print(f"Endpoints written to {var / 'endpoints.json'}", flush=True)
    demo = var / DEMO_FILE
    seed_or_reuse(
        var,
        platform.endpoints,
        platform.services,
        "postgres" if args.postgres else "sqlite",
        args.residents,
        portal_url=f"http://127.0.0.1:{platform.http_port}",
        reseed=args.reseed,
        say=lambda line: print(line, flush=True),
    )
    print(f"Demo residents (numbers, card files, PINs): {demo}", flush=True)
    print("Ready. Press Ctrl-C to stop.", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # A service that dies is restarted with backoff; the others keep running; Ctrl-C stops all.
    supervisor = Supervisor(platform, lambda line: print(line, flush=True))
    while not stop.is_set():
        supervisor.check()
        stop.wait(0.5)
    print("Stopping …", flush=True)
    codes = platform.stop()
    print("Stopped: " + ", ".join(f"{k}={v}" for k, v in codes.items()), flush=True)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m mynumber_dev")
    parser.add_argument("--var", type=Path, default=Path("var"))
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("keys", help="generate dev CA, certificates and keyrings if missing")
    run = sub.add_parser("run", help="start every service and seed demo residents")
    run.add_argument("--postgres", metavar="URL", help="PostgreSQL server URL (no database)")
    run.add_argument("--residents", type=int, default=300)
    run.add_argument("--reseed", action="store_true", help="seed again even if already seeded")
    args = parser.parse_args()
    configure_logging(fmt="console", level="warning")
    if args.command == "keys":
        made = ensure_dev_keys(args.var)
        print("generated dev keys" if made else "dev keys already present", f"in {args.var}")
    else:
        _run(args)


if __name__ == "__main__":
    main()
