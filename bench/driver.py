"""A closed-loop load driver: N workers each keep one call in flight for a fixed count or time."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Result:
    """Throughput and latency of one measured run."""

    ops: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    error_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        """Successful operations per second."""
        return self.ops / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """Latency percentile in milliseconds (q in 0..100)."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    @property
    def p50(self) -> float:
        """Median latency (ms)."""
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


def run(call: Callable[[int], object], *, total: int, concurrency: int, warmup: int = 20) -> Result:
    """Make ``total`` calls spread over ``concurrency`` workers; ``call(i)`` does call i."""
    for i in range(min(warmup, total)):
        call(-1 - i)
    counter = iter(range(total))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0
    kinds: dict[str, int] = {}

    def worker() -> None:
        nonlocal errors
        local: list[float] = []
        local_errors = 0
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            started = time.perf_counter()
            try:
                call(i)
            except Exception as exc:
                local_errors += 1
                code = getattr(exc, "code", None)
                with lock:
                    kinds[str(code() if callable(code) else type(exc).__name__)] = (
                        kinds.get(str(code() if callable(code) else type(exc).__name__), 0) + 1
                    )
                continue
            local.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(local)
            errors += local_errors

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return Result(len(latencies), errors, elapsed, latencies, kinds)
