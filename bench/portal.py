"""Portal page loads under concurrent residents, beside a static file from the same server.

Twenty residents (by default), each logged in with their own demo My Number Card through the
login API (challenge → card signature), fetch the main pages — ``/me`` (eight exchanges
through the hub), ``/log`` (the exchange log with every inclusion proof verified), ``/inbox``
and ``/payments`` (two exchanges) — round and round, each keeping one request in flight, for
a bounded time. The baseline is measured in the same run just before, with the same clients
and concurrency: ``GET /static/portal.css`` from the same uvicorn process, i.e. what the HTTP
server, the middleware and loopback cost with no page work at all.

Reported: p50 and p95 per page and over all pages, and pages per second, each beside the
baseline. Everything is on 127.0.0.1. Run alone with ``python -m bench.portal``.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.driver import Result
from bench.load import portal_session
from bench.sections import BenchPlatform
from bench.table import Row, render

PAGES = ("/me", "/log", "/inbox", "/payments")
BASELINE = "/static/portal.css"
RESIDENTS = 20
TIMEOUT = 30.0


def _sessions(bp: BenchPlatform, count: int) -> list[httpx.Client]:
    """One logged-in client per resident, each with their own card."""
    carded = [r for r in bp.residents if r.card_file and r.card_pin][:count]
    if len(carded) < count:
        print(f"portal pages: only {len(carded)} residents have a card", flush=True)
    base_url = f"http://127.0.0.1:{bp.platform.http_port}"
    clients = []
    for r in carded:
        client = portal_session(base_url, Path(r.card_file or ""), r.card_pin or "")
        client.timeout = httpx.Timeout(TIMEOUT)
        clients.append(client)
    return clients


def _fetch(client: httpx.Client, path: str) -> None:
    """One page load; anything but a 200 with a body is an error (a redirect to /login too)."""
    response = client.get(path)
    if response.status_code != 200 or not response.content:
        raise RuntimeError(f"HTTP {response.status_code}")


def _closed_loop(
    clients: list[httpx.Client], paths: tuple[str, ...], seconds: float
) -> dict[str, Result]:
    """Every client keeps one request in flight, cycling through ``paths``, for ``seconds``."""
    lock = threading.Lock()
    latencies: dict[str, list[float]] = {p: [] for p in paths}
    errors: dict[str, dict[str, int]] = {p: {} for p in paths}
    deadline = time.perf_counter() + seconds

    def resident(n: int) -> None:
        client = clients[n]
        i = n  # residents start on different pages
        while time.perf_counter() < deadline:
            path = paths[i % len(paths)]
            i += 1
            started = time.perf_counter()
            try:
                _fetch(client, path)
            except Exception as exc:  # counted, the run goes on
                with lock:
                    kind = str(exc) if isinstance(exc, RuntimeError) else type(exc).__name__
                    errors[path][kind] = errors[path].get(kind, 0) + 1
                continue
            with lock:
                latencies[path].append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(clients), thread_name_prefix="resident") as pool:
        list(pool.map(resident, range(len(clients))))
    elapsed = time.perf_counter() - started
    return {
        p: Result(len(latencies[p]), sum(errors[p].values()), elapsed, latencies[p], errors[p])
        for p in paths
    }


def _merge(results: dict[str, Result]) -> Result:
    first = next(iter(results.values()))
    kinds: dict[str, int] = {}
    for r in results.values():
        for k, v in r.error_kinds.items():
            kinds[k] = kinds.get(k, 0) + v
    return Result(
        sum(r.ops for r in results.values()),
        sum(r.errors for r in results.values()),
        first.seconds,
        [x for r in results.values() for x in r.latencies_ms],
        kinds,
    )


def _describe(name: str, r: Result) -> str:
    kinds = ", ".join(f"{k}: {v}" for k, v in sorted(r.error_kinds.items())) or "none"
    return (
        f"portal pages {name}: {r.ops} loads ({r.per_second:.1f}/s), p50={r.p50:.1f} ms "
        f"p95={r.percentile(95):.1f} ms, errors={r.errors} ({kinds})"
    )


def page_loads(bp: BenchPlatform, seconds: float = 20.0, residents: int = RESIDENTS) -> list[Row]:
    """p50/p95 of each main page and overall under ``residents`` concurrent residents."""
    if "gateway" not in bp.platform.procs:
        print("portal pages skipped: the gateway is not running", flush=True)
        return []
    clients = _sessions(bp, residents)
    if not clients:
        print("portal pages skipped: no demo resident has a card", flush=True)
        return []
    try:
        for client in clients:  # every session works, and every page renders, before timing
            for path in (*PAGES, BASELINE):
                _fetch(client, path)
        n = len(clients)
        print(f"portal pages: {n} residents, {BASELINE} for {seconds:g} s …", flush=True)
        base = _closed_loop(clients, (BASELINE,), seconds)[BASELINE]
        print(_describe(BASELINE, base), flush=True)
        print(f"portal pages: {n} residents, {', '.join(PAGES)} for {seconds:g} s …", flush=True)
        pages = _closed_loop(clients, PAGES, seconds)
        for path, result in pages.items():
            print(_describe(path, result), flush=True)
        overall = _merge(pages)
        print(_describe("all pages", overall), flush=True)
    finally:
        for client in clients:
            client.close()
    base_name = f"GET {BASELINE}, same server, {n} residents"
    rows: list[Row] = []
    for label, r in [*pages.items(), ("all main pages", overall)]:
        tag = f"portal page {label}, {n} residents, errors {r.errors}/{r.ops + r.errors}"
        rows.append(Row(f"{tag}: p50", r.p50, base.p50, "ms", base_name))
        rows.append(Row(f"{tag}: p95", r.percentile(95), base.percentile(95), "ms", base_name))
    rows.append(
        Row(
            f"portal main pages, {n} residents: throughput",
            overall.per_second,
            base.per_second,
            "pages/s",
            base_name,
        )
    )
    return rows


def main(argv: list[str] | None = None) -> None:
    """This section alone: the platform with a few residents, then the page loads."""
    parser = argparse.ArgumentParser(prog="python -m bench.portal")
    parser.add_argument("--residents", type=int, default=RESIDENTS)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="mynumber-bench-portal-") as tmp,
        BenchPlatform(Path(tmp), max(args.residents, 20)) as bp,
    ):
        rows = page_loads(bp, args.seconds, args.residents)
    print()
    print(render(rows))


if __name__ == "__main__":
    main()
