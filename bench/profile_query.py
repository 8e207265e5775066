"""Where one Query's time goes in the registry: ``python -m bench.profile_query``.

Starts the registry in this process (SQLite by default, ``--postgres`` for PostgreSQL) with a
real test provider for tax over mTLS, sends Queries one at a time from a client, and profiles
the registry's handling of each (``HubServicer.Query``: use case, database, provider call,
log append) with cProfile in the handler thread. Prints the functions with the most cumulative
time, per query.

``--whole`` profiles the whole server-side call instead (the registry's interceptors too:
the access check, the query-rate monitor, the call log line), and ``--timer cpu`` measures
each thread's CPU time (``time.thread_time``) instead of wall time: on a loaded machine the
wall clock counts the time other processes ran, the CPU clock only the work a query costs.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mynumber.registry.v1 import registry_pb2 as pb

from mynumber_core import tracing
from mynumber_core.structs import to_struct
from services.registry import servicer
from tests.integration.registry.conftest import RegistryEnv, start_with_providers
from tests.support.databases import database_factory

QUERY_METHOD = "/mynumber.registry.v1.Hub/Query"


def main() -> None:
    """Profile ``--queries`` sequential Queries and print the top of the profile."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile_query")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=1, help="Queries in flight")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (tottime, …)")
    parser.add_argument(
        "--whole", action="store_true", help="profile the whole call, interceptors included"
    )
    parser.add_argument(
        "--timer", choices=("wall", "cpu"), default="wall", help="wall time or thread CPU time"
    )
    args = parser.parse_args()
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    timer = time.thread_time if args.timer == "cpu" else time.perf_counter

    def run_profiled(fn: Any, *call: Any) -> Any:
        profile = cProfile.Profile(timer)
        try:
            return profile.runcall(fn, *call)
        finally:
            with lock:
                profiles.append(profile)

    if args.whole:
        serving = tracing._ServingInterceptor.intercept

        def whole(self: Any, method: Any, request: Any, context: Any, name: str) -> Any:
            if name != QUERY_METHOD:
                return serving(self, method, request, context, name)
            return run_profiled(serving, self, method, request, context, name)

        tracing._ServingInterceptor.intercept = whole  # type: ignore[method-assign,assignment]
    else:
        original = servicer.HubServicer.Query

        def profiled(self: Any, request: Any, context: Any) -> Any:
            return run_profiled(original, self, request, context)

        servicer.HubServicer.Query = profiled  # type: ignore[method-assign]
    backend = "postgres" if args.postgres else "sqlite"
    with (
        tempfile.TemporaryDirectory(prefix="mynumber-profile-") as tmp,
        database_factory(backend, Path(tmp)) as database,
    ):
        stack, providers, servers = start_with_providers(Path(tmp), database, ("tax", "pension"))
        env = RegistryEnv(stack, providers)
        try:
            resident = env.linked("pension", "tax")
            hub = env.hub("pension")

            def query(_: int = 0) -> None:
                hub.Query(
                    pb.QueryRequest(
                        token=resident.tokens["pension"],
                        provider="tax",
                        item="income",
                        procedure="pension.exemption",
                        request_id=uuid.uuid4().hex,
                        params=to_struct({"year": 2025}),
                    ),
                    timeout=10,
                )

            for _ in range(20):  # warm-up: connections, caches
                query()
            profiles.clear()
            started = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(query, range(args.queries)))
            elapsed = time.perf_counter() - started
        finally:
            env.close()
            stack.stop()
            for srv in servers:
                srv.stop(0)
    out = io.StringIO()
    stats = pstats.Stats(profiles[0], stream=out)
    for p in profiles[1:]:
        stats.add(p)
    stats.sort_stats(args.sort).print_stats(args.top)
    print(
        f"{backend}: {args.queries} Queries, {args.concurrency} in flight: "
        f"{args.queries / elapsed:.1f}/s, {elapsed / args.queries * 1000:.2f} ms each on "
        f"average; the profiled {'call' if args.whole else 'handler'} {args.timer} time below "
        f"is the total over all of them ({stats.total_tt / args.queries * 1000:.2f} ms each)"  # type: ignore[attr-defined]
    )
    print(out.getvalue())


if __name__ == "__main__":
    main()
