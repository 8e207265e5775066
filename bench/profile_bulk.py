"""Where bulk enrolment's time goes: ``python -m bench.profile_bulk [N] [--workers W]``.

Enrols N residents (default 100,000) in-process on a fresh PostgreSQL database, in batches of
10,000 as BulkRegister receives them, and prints the wall-clock time of each phase: the
preparation (the worker processes' crypto, and moving the prepared rows between processes),
the staging COPY, and every SQL statement the enroller runs (from SQLAlchemy's cursor events).
Run ``EXPLAIN ANALYZE`` on the statement named at the top when it dominates.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import event

from bench.bulk import ADMIN, BATCH, URL, _residents
from mynumber_core.db import Database
from mynumber_core.keyring import BlindIndex, FieldCipher, Keyring
from mynumber_core.migrations import upgrade
from services.registry import models
from services.registry.bulk import BulkEnroller, KeyMaterial
from services.registry.tokens import TokenVault


def _timed(times: dict[str, float], label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            times[label] += time.perf_counter() - started

    return wrapper


def _waited(times: dict[str, float], label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A generator function whose time spent producing each item is added to ``label``."""

    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        items = fn(*args, **kwargs)
        while True:
            started = time.perf_counter()
            try:
                item = next(items)
            except StopIteration:
                return
            finally:
                times[label] += time.perf_counter() - started
            yield item

    return wrapper


def profile(total: int, workers: int) -> dict[str, float]:
    """Seconds per phase of enrolling ``total`` residents (the key ``total``: the whole)."""
    name = f"bench_profile_bulk_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    times: dict[str, float] = defaultdict(float)
    try:
        url = URL.format(name=name)
        upgrade("registry", url)
        keyring = Keyring.generate(["data", "blind", "token", "tag"])
        models.cipher.bind(FieldCipher(keyring))
        vault = TokenVault(keyring.keyset("token").active_key, keyring.keyset("tag").active_key)
        material = KeyMaterial(
            keyring.keyset("data"),
            keyring.keyset("blind"),
            keyring.keyset("token").active_key,
            keyring.keyset("tag").active_key,
        )
        enroller = BulkEnroller(vault, BlindIndex(keyring), material, workers=workers)
        db = Database.from_url(url)
        try:
            if workers > 1:  # start the pool outside the timing, as a running registry has
                with db.transaction() as session:
                    enroller.enrol(
                        session, _residents(BATCH, -BATCH), caller="municipality", key_version=1
                    )
            setattr(  # noqa: B010 - wrap the instance's bound methods
                enroller,
                "_prepared",
                _waited(times, "waiting for prepared chunks (workers)", enroller._prepared),
            )
            setattr(  # noqa: B010
                enroller, "_copy_chunk", _timed(times, "stage (COPY)", enroller._copy_chunk)
            )
            running: dict[int, float] = {}

            @event.listens_for(db.engine, "before_cursor_execute")
            def _before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
                running[id(cursor)] = time.perf_counter()

            @event.listens_for(db.engine, "after_cursor_execute")
            def _after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
                label = "sql: " + " ".join(statement.split())[:70]
                times[label] += time.perf_counter() - running.pop(id(cursor))

            for done in range(0, total, BATCH):
                residents = _residents(min(BATCH, total - done), done)
                started = time.perf_counter()
                with db.transaction() as session:
                    enroller.enrol(session, residents, caller="municipality", key_version=1)
                times["total"] += time.perf_counter() - started
        finally:
            enroller.close()
            db.dispose()
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    return times


def main() -> None:
    """Profile and print the phases, largest first."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile_bulk")
    parser.add_argument("total", nargs="?", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    times = profile(args.total, args.workers)
    whole = times.pop("total")
    print(
        f"{args.total:,} residents, {args.workers} workers: {whole:.2f} s "
        f"({args.total / whole:,.0f}/s), load {os.getloadavg()[0]:.1f}"
    )
    for label, seconds in sorted(times.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds:8.2f} s  {label}")


if __name__ == "__main__":
    main()
