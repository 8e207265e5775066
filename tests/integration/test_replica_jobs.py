"""Background jobs are safe with several replicas on one database.

Three outbox relays, each with its own engine and connection pool as three replicas of a
service would have, drain one outbox table at the same time (SQLite and PostgreSQL): every
event is published exactly once. The payout release job's row claim (tax refunds, pension
claims) skips a row another replica is deciding (``FOR UPDATE SKIP LOCKED`` on PostgreSQL).
"""

from __future__ import annotations

import collections
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mynumber_core.clock import utc_now
from mynumber_core.db import Database
from mynumber_core.keyring import FieldCipher, Keyring
from mynumber_core.outbox import OutboxMixin, OutboxRelay, OutboxRow, enqueue
from mynumber_dev.keys import ensure_dev_keys, keyring_path
from services.tax import models as tax_models
from services.tax.usecases import refunds
from tests.support.databases import PostgresDatabases, SqliteDatabases, postgres_available

REPLICAS = 3
EVENTS = 120


class _Base(DeclarativeBase):
    pass


class Event(_Base, OutboxMixin):
    """An outbox table like every service's (plain payload: nothing personal here)."""

    __tablename__ = "outbox_events"

    payload: Mapped[str] = mapped_column(String(2000))


def test_three_relays_publish_each_event_once(
    backend: SqliteDatabases | PostgresDatabases, tmp_path: Path
) -> None:
    url = backend("tax")
    setup = Database.from_url(url)
    _Base.metadata.create_all(setup.engine)
    with setup.transaction() as session:
        ids = [
            enqueue(
                session,
                Event,
                event_type="refund_notice",
                token=f"token-{n}",
                procedure="tax.refund",
                payload={"n": n},
            )
            for n in range(EVENTS)
        ]
    published: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def publish(row: OutboxRow, _payload: dict[str, Any]) -> None:
        time.sleep(0.002)  # a publish is a network round trip: the window replicas race in
        with lock:
            published[row.id] += 1

    replicas = [Database.from_url(url) for _ in range(REPLICAS)]
    relays = [OutboxRelay("tax", db, Event, publish) for db in replicas]
    start = threading.Barrier(REPLICAS)
    failures: list[BaseException] = []

    def run(relay: OutboxRelay) -> None:
        start.wait()
        try:
            for _ in range(50):
                relay.drain(limit=25)
                with lock:
                    if len(published) == EVENTS:
                        return
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for db in (*replicas, setup):
        db.engine.dispose()
    assert failures == []
    assert set(published) == set(ids)
    twice = {event: n for event, n in published.items() if n > 1}
    assert twice == {}, f"{len(twice)} events published more than once"


@pytest.mark.postgres
def test_a_held_refund_being_decided_is_skipped_by_other_replicas(tmp_path: Path) -> None:
    """The tax release job's row claim (``FOR UPDATE SKIP LOCKED``): while one replica holds
    a held refund's row, another replica's claim gets nothing; once the first released it,
    the claim still gets nothing (so the refund and its inbox document happen once)."""
    if not postgres_available():
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is not reachable; .ci/run starts it")
    var = tmp_path / "var"
    ensure_dev_keys(var)
    tax_models.CIPHER.bind(FieldCipher(Keyring.load(keyring_path(var, "tax"))))
    databases = PostgresDatabases()
    try:
        url = databases("tax")
        first, second = Database.from_url(url), Database.from_url(url)
        tax_models.Base.metadata.create_all(first.engine)
        now = utc_now()
        with first.transaction() as session:
            session.add(
                tax_models.Taxpayer(
                    id="tp1",
                    reference_number="T0000001",
                    token="token-1",
                    address="-",
                    created_at=now,
                    updated_at=now,
                )
            )
            session.flush()
            session.add(
                tax_models.RefundRow(
                    id="r1",
                    taxpayer_id="tp1",
                    year=2025,
                    amount=1000,
                    status="held",
                    hold_reason="new account",
                    account_reference="",
                    issued_at=now,
                )
            )
        with first.transaction() as deciding:
            row = refunds._still_held(deciding, "r1")
            assert row is not None
            with second.transaction() as other:
                assert refunds._still_held(other, "r1") is None  # skipped, not waited on
            row.status = "released"
        with second.transaction() as other:
            assert refunds._still_held(other, "r1") is None  # decided meanwhile
        first.engine.dispose()
        second.engine.dispose()
    finally:
        databases.close()
