"""A service's engine waits out a PostgreSQL restart (mynumber_core.db), on a real server.

The private cluster (never the shared one on 5432) is stopped in immediate mode with pooled
connections open, and started again a second later: a session opened meanwhile gets its
answer once the server is back (the pooled connection is found dead by the pre-ping, and the
new one waits for the server). A server that stays down past the budget fails with the
driver's error, which the server interceptor maps to UNAVAILABLE.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from mynumber_core import db as core_db
from mynumber_core import errors
from tests.chaos.pgcluster import PrivatePostgres

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def server() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres().create()
    try:
        yield pg
    finally:
        pg.destroy()


def test_a_session_during_a_one_second_restart_waits_and_succeeds(
    server: PrivatePostgres,
) -> None:
    database = core_db.Database.from_url(f"{server.url}/postgres")
    try:
        with database.transaction() as session:  # a pooled connection, soon dead
            assert session.execute(text("SELECT 1")).scalar_one() == 1
        server.stop("immediate")

        def start_again() -> None:
            time.sleep(1.0)
            server.start()

        restarted = threading.Thread(target=start_again)
        began = time.monotonic()
        restarted.start()
        try:
            with database.transaction() as session:
                assert session.execute(text("SELECT 2")).scalar_one() == 2
        finally:
            restarted.join()
        assert time.monotonic() - began >= 1.0, "the server was down: the session had to wait"
    finally:
        database.dispose()


def test_a_server_that_stays_down_fails_unavailable_after_the_budget(
    server: PrivatePostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core_db, "CONNECT_WAIT_SECONDS", 0.5)
    database = core_db.Database.from_url(f"{server.url}/postgres")
    server.stop("immediate")
    try:
        began = time.monotonic()
        with pytest.raises(OperationalError) as failure, database.transaction() as session:
            session.execute(text("SELECT 1"))
        assert time.monotonic() - began < 5
        mapped = errors.infrastructure_error(failure.value)
        assert isinstance(mapped, errors.Unavailable)
    finally:
        server.start()
        database.dispose()


def test_a_missing_database_is_not_waited_for(server: PrivatePostgres) -> None:
    database = core_db.Database.from_url(f"{server.url}/no_such_database")
    try:
        began = time.monotonic()
        with pytest.raises(OperationalError), database.transaction() as session:
            session.execute(text("SELECT 1"))
        assert time.monotonic() - began < core_db.CONNECT_WAIT_SECONDS / 2
    finally:
        database.dispose()
