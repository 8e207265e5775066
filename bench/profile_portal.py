"""Where the portal's page time goes: ``python -m bench.profile_portal``.

Starts the platform as :mod:`bench.portal` does, with :mod:`bench.stack_sampler` running in
the gateway and the registry (a ``sitecustomize`` on their ``PYTHONPATH``), then keeps
``--residents`` logged-in residents on one page at a time (``/me``, ``/payments``, ``/log``,
``/inbox``) for ``--seconds`` each, or on all of them at once with ``--mixed``. It prints, per
page: its p50/p95 from this run and the share of the page's wall-clock samples spent in each
function (inclusive: waiting on the registry counts), then the same for the registry's
handlers. Wall clock, not CPU: a thread blocked on a gRPC answer or a lock is sampled like one
that computes.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.portal import RESIDENTS, _closed_loop, _describe, _fetch, _sessions
from bench.sections import BenchPlatform

PAGES = ("/me", "/payments", "/log", "/inbox")
REPO = Path(__file__).resolve().parents[1]
HANDLER = {
    "/me": "me_page",
    "/log": "log_page",
    "/inbox": "inbox_page",
    "/payments": "payments_page",
}
_GENERIC = (
    "threading.py:",
    "anyio/",
    "concurrent/futures/",
    "starlette/",
    "fastapi/",
    "contextvars",
    "bench/stack_sampler.py",
)


def _sitecustomize(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        '"""Starts the bench\'s stack sampler (bench.profile_portal)."""\n'
        "from bench.stack_sampler import start_from_env\n\nstart_from_env()\n"
    )
    return folder


def _read(folder: Path) -> dict[str, dict]:
    found = {}
    for path in folder.glob("*.json"):
        body = json.loads(path.read_text())
        found[body["service"]] = body
    return found


def _delta(after: dict, before: dict | None, handler: str, kind: str) -> Counter[str]:
    now = Counter(after.get(kind, {}).get(handler, {}))
    if before is not None:
        now.subtract(before.get(kind, {}).get(handler, {}))
    return +now


def _report(title: str, after: dict, before: dict | None, handler: str, top: int) -> None:
    total = after.get("samples", {}).get(handler, 0)
    if before is not None:
        total -= before.get("samples", {}).get(handler, 0)
    print(f"\n{title}: {total} samples in {handler}")
    if total <= 0:
        return
    inclusive = _delta(after, before, handler, "inclusive")
    shown = 0
    for where, n in inclusive.most_common():
        if any(g in where for g in _GENERIC):
            continue
        print(f"  {100 * n / total:5.1f}%  {where}")
        shown += 1
        if shown >= top:
            break
    print("  innermost frames:")
    for where, n in _delta(after, before, handler, "leaf").most_common(8):
        print(f"  {100 * n / total:5.1f}%  {where}")


def main(argv: list[str] | None = None) -> None:
    """Profile each main page in turn under concurrent residents."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile_portal")
    parser.add_argument("--residents", type=int, default=RESIDENTS)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--top", type=int, default=22)
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument(
        "--mixed", action="store_true", help="all pages at once, not one page at a time"
    )
    args = parser.parse_args(argv)
    pages = tuple(args.pages.split(","))
    with tempfile.TemporaryDirectory(prefix="mynumber-profile-portal-") as tmp:
        samples = Path(tmp) / "samples"
        samples.mkdir()
        site = _sitecustomize(Path(tmp) / "site")
        bp = BenchPlatform(Path(tmp) / "var", max(args.residents, 20))
        bp.platform.extra_env.update(
            {
                "MYNUMBER_STACK_SAMPLE_DIR": str(samples),
                "MYNUMBER_STACK_SAMPLE_SERVICES": "gateway,registry",
                "PYTHONPATH": os.pathsep.join(
                    [str(site), str(REPO), str(REPO / "src"), str(REPO / "gen")]
                ),
            }
        )
        with bp:
            clients = _sessions(bp, args.residents)
            for client in clients:
                for path in pages:
                    _fetch(client, path)
            phases = [(p,) for p in pages]
            if args.mixed:
                phases = [pages]  # every page at once, as bench.portal runs them
            try:
                for phase in phases:
                    time.sleep(2.5)  # the samplers write every 2 s
                    before = _read(samples)
                    results = _closed_loop(clients, phase, args.seconds)
                    time.sleep(2.5)
                    after = _read(samples)
                    print("\n" + "=" * 100)
                    gw = after.get("gateway", {})
                    for path in phase:
                        print(_describe(path, results[path]))
                        _report("gateway", gw, before.get("gateway"), HANDLER[path], args.top)
                    loop_now = Counter(gw.get("loop", {}))
                    loop_now.subtract((before.get("gateway") or {}).get("loop", {}))
                    busy, idle = loop_now["busy"], loop_now["idle"]
                    if busy + idle:
                        print(f"  gateway event loop busy {100 * busy / (busy + idle):.0f}%:")
                        for where, n in (+loop_now).most_common(8):
                            if where.startswith("busy:"):
                                print(f"    {100 * n / (busy + idle):5.1f}%  {where[5:]}")
                    reg = after.get("registry", {})
                    for h in ("BatchQuery", "ListEntries", "GetCheckpoint", "GetConsistencyProof"):
                        _report("registry", reg, before.get("registry"), h, 12)
            finally:
                for client in clients:
                    client.close()


if __name__ == "__main__":
    main()
