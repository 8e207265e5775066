"""A wall-clock stack sampler for a running service (the bench's stand-in for py-spy).

Started inside a service process by the ``sitecustomize`` that :mod:`bench.profile_portal`
puts on that process's ``PYTHONPATH``: when ``MYNUMBER_STACK_SAMPLE_DIR`` is set and the
process's service is listed in ``MYNUMBER_STACK_SAMPLE_SERVICES``, a daemon thread looks at
every thread's stack every ``MYNUMBER_STACK_SAMPLE_MS`` (default 10 ms) with
``sys._current_frames()``. A sample is kept when the stack passes through one of the handlers
named in :data:`HANDLERS` (a portal page, a registry RPC): it is counted under that handler,
once per function on the stack (inclusive) and once for its innermost frame (self). Waiting
counts as much as running, which is the point: a page that waits 1 s on the registry shows it.
The event loop thread is sampled too (busy or idle in its selector).

Every two seconds the counts are written to ``<dir>/<service>-<pid>.json`` (replaced
atomically), so the file is there however the process ends. Only code locations (file and
function names) are recorded: no arguments, no values, no personal data.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType

HANDLERS: dict[str, tuple[str, ...]] = {
    "gateway": ("me_page", "log_page", "inbox_page", "payments_page"),
    "registry": ("BatchQuery", "ListEntries", "Query", "GetCheckpoint", "GetConsistencyProof"),
}
"""Per service: the functions whose samples are counted (the first one on a stack wins)."""
_IDLE_LEAVES = frozenset({"select", "poll", "epoll", "_run_once"})


def _service() -> str:
    """The service this process runs (from ``-m services.<name>``)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", "") or ""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "services" else ""


def _where(frame: FrameType) -> str:
    code = frame.f_code
    path = code.co_filename
    for marker in ("/site-packages/", "/work/main/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{code.co_name}"


class Sampler:
    """Counts of stack samples per handler (see the module docstring)."""

    def __init__(self, service: str, out: Path, interval: float) -> None:
        self.service = service
        self.handlers = HANDLERS.get(service, ())
        self.out = out
        self.interval = interval
        self.samples: Counter[str] = Counter()
        self.inclusive: dict[str, Counter[str]] = {}
        self.leaf: dict[str, Counter[str]] = {}
        self.loop = Counter[str]()
        self._me = 0

    def _sample(self) -> None:
        main_id = threading.main_thread().ident
        for ident, frame in sys._current_frames().items():
            if ident == self._me:
                continue
            stack: list[FrameType] = []
            f: FrameType | None = frame
            while f is not None:
                stack.append(f)
                f = f.f_back
            if ident == main_id:
                leaf = stack[0].f_code.co_name
                self.loop["idle" if leaf in _IDLE_LEAVES else "busy"] += 1
                if leaf not in _IDLE_LEAVES:
                    self.loop["busy:" + _where(stack[0])] += 1
                continue
            names = [s.f_code.co_name for s in stack]
            handler = next((h for h in reversed(names) if h in self.handlers), None)
            if handler is None:
                continue
            self.samples[handler] += 1
            seen = {_where(s) for s in stack}
            self.inclusive.setdefault(handler, Counter()).update(seen)
            self.leaf.setdefault(handler, Counter())[_where(stack[0])] += 1

    def _dump(self) -> None:
        body = {
            "service": self.service,
            "interval_ms": self.interval * 1000,
            "samples": dict(self.samples),
            "inclusive": {h: dict(c.most_common(80)) for h, c in self.inclusive.items()},
            "leaf": {h: dict(c.most_common(40)) for h, c in self.leaf.items()},
            "loop": dict(self.loop.most_common(40)),
        }
        target = self.out / f"{self.service}-{os.getpid()}.json"
        scratch = target.with_suffix(".tmp")
        scratch.write_text(json.dumps(body))
        scratch.replace(target)

    def run(self) -> None:
        """Sample until the process ends, writing the counts every two seconds."""
        self._me = threading.get_ident()
        last = time.monotonic()
        while True:
            time.sleep(self.interval)
            self._sample()
            if time.monotonic() - last >= 2.0:
                last = time.monotonic()
                self._dump()


def start_from_env() -> None:
    """Start sampling when this process's service is one the environment names."""
    out = os.environ.get("MYNUMBER_STACK_SAMPLE_DIR")
    if not out:
        return

    def later() -> None:
        service = ""
        for _ in range(300):  # __main__ is known once runpy starts the module
            time.sleep(0.5)
            service = _service()
            if service:
                break
        wanted = os.environ.get("MYNUMBER_STACK_SAMPLE_SERVICES", "gateway").split(",")
        if service not in wanted:
            return
        interval = float(os.environ.get("MYNUMBER_STACK_SAMPLE_MS", "10")) / 1000
        Sampler(service, Path(out), interval).run()

    threading.Thread(target=later, name="stack-sampler", daemon=True).start()
