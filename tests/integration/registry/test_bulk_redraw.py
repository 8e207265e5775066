"""Bulk enrolment when a drawn number was already issued: that resident is left out of the
set-based insert, drawn again and enrolled in the same call; the others are enrolled once,
with their links, issued numbers and idempotency records. SQLite (statement by statement)
and PostgreSQL (the one-statement move). The random source is steered to repeat an issued
number; the enroller and the database are real."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from mynumber_core.db import Database
from mynumber_core.facts import BasicFacts
from mynumber_core.keyring import BlindIndex, FieldCipher, Keyring
from mynumber_core.migrations import upgrade
from mynumber_core.mynumber import validate
from services.registry import bulk, models
from services.registry.tokens import TokenVault
from tests.support.databases import PostgresDatabases, SqliteDatabases


def _residents(n: int, start: int, keyed: bool) -> list[tuple[BasicFacts, str]]:
    born = dt.date(1990, 4, 1)
    return [
        (BasicFacts("山田 花子", born, "female", f"大阪市北区1-{i}"), f"k-{i}" if keyed else "")
        for i in range(start, start + n)
    ]


def _enroller(
    backend: SqliteDatabases | PostgresDatabases, kind: type[bulk.BulkEnroller]
) -> tuple[bulk.BulkEnroller, Database]:
    """An enroller of ``kind`` (preparing in this process) over a new registry database."""
    url = backend("registry")
    upgrade("registry", url)
    keyring = Keyring.generate(["data", "blind", "token", "tag"])
    models.cipher.bind(FieldCipher(keyring))
    vault = TokenVault(keyring.keyset("token").active_key, keyring.keyset("tag").active_key)
    return kind(vault, BlindIndex(keyring)), Database.from_url(url)


def test_an_issued_number_drawn_again_is_redrawn(
    backend: SqliteDatabases | PostgresDatabases, monkeypatch: pytest.MonkeyPatch
) -> None:
    enroller, db = _enroller(backend, bulk.BulkEnroller)
    try:
        with db.transaction() as session:
            first = enroller.enrol(
                session, _residents(5, 0, False), caller="municipality", key_version=1
            )
        taken = first[2].my_number
        draws: list[list[str]] = []
        real: Callable[[int], list[str]] = bulk._random_numbers

        def repeating(count: int) -> list[str]:
            numbers = real(count)
            if not draws:
                numbers[1] = taken  # the second resident draws an issued number
            draws.append(numbers)
            return numbers

        monkeypatch.setattr(bulk, "_random_numbers", repeating)
        with db.transaction() as session:
            second = enroller.enrol(
                session, _residents(5, 5, True), caller="municipality", key_version=1
            )
        assert len(draws) == 2 and len(draws[1]) == 1  # only the collided one went round
        numbers = [e.my_number for e in first + second]
        assert len(set(numbers)) == 10 and all(validate(n) == n for n in numbers)
        assert second[1].my_number == draws[1][0] != taken
        with db.transaction() as session:
            for model in (models.Person, models.IssuedNumber, models.DomainLink):
                assert session.scalar(select(func.count()).select_from(model)) == 10
            keys = session.scalars(select(models.Registration.idempotency_key)).all()
            assert sorted(keys) == [f"k-{i}" for i in range(5, 10)]
    finally:
        db.dispose()


class _TwoChunks(bulk.BulkEnroller):
    """Prepares a batch as two chunks, as the worker pool does for a large one (in this
    process, so the random source can be steered)."""

    def _prepared(
        self, items: Sequence[tuple[int, str, str]], caller: str, version: int, binary: bool
    ) -> Iterator[bulk.Prepared]:
        tools = bulk._Tools(self._blind, self._vault)
        half = max(1, len(items) // 2)
        for part in (items[:half], items[half:]):
            if part:
                yield bulk._prepare(tools, part, caller, version, binary)


def test_a_number_two_chunks_drew_alike_is_enrolled_once(
    backend: SqliteDatabases | PostgresDatabases, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL moves chunk by chunk while the next is prepared: the second chunk's move
    # skips the number the first one took, and that resident is drawn again. SQLite moves
    # the whole batch at once: the repeat is seen before staging and the batch redrawn.
    enroller, db = _enroller(backend, _TwoChunks)
    real: Callable[[int], list[str]] = bulk._random_numbers
    draws: list[list[str]] = []

    def repeating(count: int) -> list[str]:
        numbers = real(count)
        if len(draws) == 1:
            numbers[0] = draws[0][0]  # the second chunk draws the first chunk's first number
        draws.append(numbers)
        return numbers

    monkeypatch.setattr(bulk, "_random_numbers", repeating)
    try:
        with db.transaction() as session:
            enrolled = enroller.enrol(
                session, _residents(6, 0, True), caller="municipality", key_version=1
            )
        numbers = [e.my_number for e in enrolled]
        assert len(draws) == 3 and draws[1][0] == draws[0][0]
        assert len(set(numbers)) == 6 and all(validate(n) == n for n in numbers)
        with db.transaction() as session:
            for model in (models.Person, models.IssuedNumber, models.DomainLink):
                assert session.scalar(select(func.count()).select_from(model)) == 6
            keys = session.scalars(select(models.Registration.idempotency_key)).all()
            assert sorted(keys) == [f"k-{i}" for i in range(6)]
    finally:
        db.dispose()


def _waiting_for_a_lock(db: Database) -> bool:
    """Some transaction of ``db`` waits for a lock another holds (PostgreSQL)."""
    with db.engine.connect() as conn:
        return bool(conn.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")))


def test_two_concurrent_calls_that_drew_the_same_number_both_succeed(
    backend: SqliteDatabases | PostgresDatabases, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bench keeps two BulkRegister calls in flight, as a loader would. The second call's
    # issued-number probe cannot see the first call's uncommitted number: on PostgreSQL its
    # insert waits on the unique index, then skips the row (ON CONFLICT DO NOTHING) and draws
    # it again; without that it failed with a unique violation once the first one committed.
    enroller, db = _enroller(backend, bulk.BulkEnroller)
    real: Callable[[int], list[str]] = bulk._random_numbers
    shared = real(1)[0]
    draws: list[list[str]] = []

    def repeating(count: int) -> list[str]:
        numbers = real(count)
        if len(draws) < 2:
            numbers[0] = shared  # each call's first draw starts with the same number
        draws.append(numbers)
        return numbers

    monkeypatch.setattr(bulk, "_random_numbers", repeating)
    enrolled_first, commit_first = threading.Event(), threading.Event()
    results: dict[str, list[bulk.Enrolled]] = {}

    def first() -> None:
        with db.transaction() as session:
            results["first"] = enroller.enrol(
                session, _residents(4, 0, True), caller="municipality", key_version=1
            )
            enrolled_first.set()
            assert commit_first.wait(30)

    def second() -> None:
        with db.transaction() as session:
            results["second"] = enroller.enrol(
                session, _residents(4, 4, True), caller="municipality", key_version=1
            )

    try:
        with ThreadPoolExecutor(2) as pool:
            one = pool.submit(first)
            assert enrolled_first.wait(30)
            two = pool.submit(second)
            deadline = time.monotonic() + 10
            if db.engine.dialect.name == "postgresql":
                while not _waiting_for_a_lock(db):  # the second call waits on the number
                    assert time.monotonic() < deadline and not two.done()
                    time.sleep(0.02)
            commit_first.set()
            one.result(30)
            two.result(30)
        numbers = [e.my_number for e in results["first"] + results["second"]]
        assert results["first"][0].my_number == shared != results["second"][0].my_number
        assert len(set(numbers)) == 8 and all(validate(n) == n for n in numbers)
        with db.transaction() as session:
            for model in (models.Person, models.IssuedNumber, models.DomainLink):
                assert session.scalar(select(func.count()).select_from(model)) == 8
    finally:
        commit_first.set()
        db.dispose()
