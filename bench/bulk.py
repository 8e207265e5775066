"""Registry bulk enrolment on PostgreSQL: the worker-process preparation (both cores for the
crypto) and binary COPY, beside the same enroller preparing inline, in the same run.

In-process (no gRPC), on a fresh database per variant, in batches of 10,000 as BulkRegister
receives them: the figure is residents enrolled per second (numbers, AES-GCM facts and
number, blind index, person key, the municipality's token, and the set-based inserts).
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid

import psycopg
from psycopg import sql

from bench.table import Row
from mynumber_core.db import Database
from mynumber_core.facts import BasicFacts
from mynumber_core.keyring import BlindIndex, FieldCipher, Keyring
from mynumber_core.migrations import upgrade
from services.registry import models
from services.registry.bulk import BulkEnroller, KeyMaterial
from services.registry.tokens import TokenVault

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
BATCH = 10_000


def _residents(n: int, offset: int) -> list[tuple[BasicFacts, str]]:
    born = dt.date(1980, 1, 1)
    return [
        (
            BasicFacts("山田 太郎", born, "male", f"東京都千代田区千代田1-{offset + i}"),
            "",
        )
        for i in range(n)
    ]


def _run(total: int, workers: int) -> float:
    name = f"bench_bulk_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
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
            started = time.perf_counter()
            for done in range(0, total, BATCH):
                with db.transaction() as session:
                    enroller.enrol(
                        session,
                        _residents(min(BATCH, total - done), done),
                        caller="municipality",
                        key_version=1,
                    )
            return total / (time.perf_counter() - started)
        finally:
            enroller.close()
            db.dispose()
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def rows(total: int) -> list[Row]:
    """Workers + binary COPY against inline preparation, same database server, same run."""
    inline = _run(total, workers=0)
    pooled = _run(total, workers=os.cpu_count() or 2)
    return [
        Row(
            f"registry bulk enrolment, {total:,} on PostgreSQL (worker processes)",
            pooled,
            inline,
            "residents/s",
            "the same enroller preparing inline (one core)",
        )
    ]
