"""Bulk enrolment: many residents per transaction, loaded with COPY on PostgreSQL.

Rows are prepared in Python (random person key, a fresh number, AES-GCM ciphertexts, the
blind index, the municipality's token), loaded into a temporary staging table (binary
``COPY`` on PostgreSQL, ``executemany`` on SQLite), then moved into the real tables with
set-based SQL that skips any number already issued. Skipped rows (a number collision,
vanishingly rare) get a new number and go round again, so no number is ever given out twice.

The preparation is CPU-bound crypto, so a large batch is prepared by a pool of worker
processes (one per core, started with ``spawn`` so no gRPC thread is forked). The workers
hold the registry's own data, blind-index and token keys — they are the registry's processes;
nothing leaves the machine.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import operator
import os
import secrets
import struct
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import cast

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from mynumber_core.columns import EncryptedText
from mynumber_core.facts import BasicFacts
from mynumber_core.keyring import BlindIndex, FieldCipher, Keyring, KeySet
from mynumber_core.mynumber import WEIGHTS
from services.registry import models
from services.registry.models import Person
from services.registry.tokens import PERSON_KEY_BYTES, TokenVault

NUMBER_PURPOSE = "my-number"
_COLUMNS = ("seq", "person_key", "number", "number_index", "facts", "idem")
POOL_THRESHOLD = 4_000
"""Batches at least this large are prepared by the worker processes; smaller ones inline."""
_CHUNK = 2_000


@dataclass(frozen=True)
class KeyMaterial:
    """The registry keys a preparing worker needs (data, blind index, token, tag)."""

    data: KeySet
    blind: KeySet
    token_master: bytes
    tag_key: bytes


@dataclass(frozen=True)
class _Tools:
    """What preparing rows needs, in this process."""

    blind: BlindIndex
    vault: TokenVault


_worker: dict[str, _Tools] = {}


def _init_worker(material: KeyMaterial) -> None:
    """Set up one worker process: the registry's column cipher and indexes."""
    keyring = Keyring({"data": material.data, "blind": material.blind})
    models.cipher.bind(FieldCipher(keyring))
    _worker["tools"] = _Tools(
        BlindIndex(keyring), TokenVault(material.token_master, material.tag_key)
    )


@dataclass
class Prepared:
    """One prepared batch, columnar: what the caller answers with, and what is staged.

    ``copy`` holds the staging rows as binary ``COPY`` tuples (PostgreSQL: no per-row work
    in the registry's main process); otherwise ``rows`` holds them as tuples.
    """

    seqs: list[int]
    numbers: list[str]
    tokens: list[str]
    rows: list[tuple[object, ...]]
    copy: bytes


_SPAN = 10**11
_UNBIASED = (1 << 64) // _SPAN * _SPAN
"""64-bit draws at or above this are redrawn, so ``draw % _SPAN`` is uniform."""
_DIGIT_OFFSET = ord("0") * sum(WEIGHTS)


def _check_digit_fast(body: bytes) -> int:
    """:func:`check_digit` of 11 ASCII digits already known to be digits (bulk paths)."""
    remainder = (sum(map(operator.mul, body, WEIGHTS)) - _DIGIT_OFFSET) % 11
    return 0 if remainder <= 1 else 11 - remainder


def _random_numbers(count: int) -> list[str]:
    """``count`` distinct fresh numbers: uniform 11-digit bodies and their check digit."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        raw = secrets.token_bytes(8 * (count - len(out)))
        for (draw,) in struct.iter_unpack(">Q", raw):
            if draw >= _UNBIASED:
                continue
            body = b"%011d" % (draw % _SPAN)
            number = (body + b"%d" % _check_digit_fast(body)).decode()
            if number not in seen:
                seen.add(number)
                out.append(number)
    return out


_COPY_HEAD = struct.Struct(">hiii")
_COPY_LEN = struct.Struct(">i")
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
COPY_TRAILER = b"\xff\xff"


def _copy_tuples(rows: Sequence[tuple[int, bytes, str, str, str, str]]) -> bytes:
    """The rows as PostgreSQL binary ``COPY`` tuples (int4, bytea, then four texts)."""
    head, length = _COPY_HEAD.pack, _COPY_LEN.pack
    parts = []
    for seq, person_key, number, index, facts, idem in rows:
        n, x, f, d = number.encode(), index.encode(), facts.encode(), idem.encode()
        parts.append(
            head(len(_COLUMNS), 4, seq, len(person_key))
            + person_key
            + length(len(n))
            + n
            + length(len(x))
            + x
            + length(len(f))
            + f
            + length(len(d))
            + d
        )
    return b"".join(parts)


def _prepare(
    tools: _Tools,
    items: Sequence[tuple[int, str, str]],
    caller: str,
    version: int,
    binary: bool = False,
) -> Prepared:
    """Rows for (seq, facts JSON, idempotency key): a fresh number and person key each.

    Each step runs over the whole batch (one key lookup, one cipher, one random draw per
    column), not per row."""
    cipher = models.cipher.cipher
    number_aad = cast(EncryptedText, Person.__table__.c.number.type).aad
    facts_aad = cast(EncryptedText, Person.__table__.c.facts.type).aad
    seqs = [seq for seq, _, _ in items]
    numbers = _random_numbers(len(items))
    keys = secrets.token_bytes(PERSON_KEY_BYTES * len(items))
    person_keys = [keys[i : i + PERSON_KEY_BYTES] for i in range(0, len(keys), PERSON_KEY_BYTES)]
    rows = list(
        zip(
            seqs,
            person_keys,
            cipher.encrypt_many(numbers, number_aad),
            tools.blind.index_many(NUMBER_PURPOSE, numbers),
            cipher.encrypt_many([facts for _, facts, _ in items], facts_aad),
            [idem for _, _, idem in items],
            strict=True,
        )
    )
    tokens = tools.vault.make_many(caller, version, person_keys)
    if binary:
        return Prepared(seqs, numbers, tokens, [], _copy_tuples(rows))
    return Prepared(seqs, numbers, tokens, cast(list[tuple[object, ...]], rows), b"")


def _prepare_in_worker(
    items: Sequence[tuple[int, str, str]], caller: str, version: int, binary: bool
) -> Prepared:
    return _prepare(_worker["tools"], items, caller, version, binary)


_MOVE = (
    "WITH staged AS (SELECT seq, person_key, number, number_index, facts, "
    "nextval(pg_get_serial_sequence('persons', 'id')) AS id FROM bulk_stage), "
    "issued AS (INSERT INTO issued_numbers (number_index, person_id, retired, issued_at) "
    "SELECT number_index, id, false, :now FROM staged ORDER BY seq "
    "ON CONFLICT DO NOTHING RETURNING person_id), "
    "fresh AS (INSERT INTO persons (id, person_key, number, number_index, facts, status, "
    "reissued, created_at, updated_at) SELECT s.id, s.person_key, s.number, s.number_index, "
    "s.facts, 'active', false, :now, :now FROM staged s JOIN issued i ON i.person_id = s.id "
    "ORDER BY s.seq RETURNING id, person_key), "
    "linked AS (INSERT INTO links (person_id, domain, key_version, linked_at) "
    "SELECT id, :caller, :version, :now FROM fresh), "
    "registered AS (INSERT INTO registrations (caller, idempotency_key, kind, person_id) "
    "SELECT :caller, s.idem, 'register', f.id FROM fresh f "
    "JOIN bulk_stage s ON s.person_key = f.person_key "
    "WHERE CAST(:keyed AS boolean) AND s.idem <> '') "
    "SELECT count(*) FROM fresh"
)
"""The PostgreSQL move, in one statement. Each staged row takes its person id first; the
numbers are claimed in ``issued_numbers`` (its primary key is every number ever issued), and
only the rows whose number was claimed become persons, links and idempotency records. A
number already issued, or drawn by a concurrent BulkRegister too (``ON CONFLICT DO NOTHING``
waits for that transaction and skips the row if it committed the number), leaves its row out
to be drawn again; its person id is never used. The foreign keys to ``persons`` are checked
at the end of the statement, when its persons are in. A batch without idempotency keys skips
their join (``:keyed`` false is a one-time filter)."""


@dataclass(frozen=True)
class Enrolled:
    """One enrolled resident: the number (for the notification card) and the token."""

    my_number: str
    token: str
    key_version: int


class BulkEnroller:
    """Set-based enrolment into the registry's tables (either backend)."""

    def __init__(
        self,
        vault: TokenVault,
        blind: BlindIndex,
        material: KeyMaterial | None = None,
        *,
        workers: int | None = None,
    ) -> None:
        self._vault = vault
        self._blind = blind
        self._material = material
        self._workers = workers if workers is not None else (os.cpu_count() or 2)
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor | None:
        """The worker pool (started on first use), or None to prepare inline."""
        if self._material is None or self._workers < 2:
            return None
        with self._pool_lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self._workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(self._material,),
                )
            return self._pool

    def close(self) -> None:
        """Stop the worker processes."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def _prepare_all(
        self, items: Sequence[tuple[int, str, str]], caller: str, version: int
    ) -> list[Prepared]:
        """Every row of ``items`` prepared as tuples before any is staged (SQLite: one move
        for all)."""
        prepared = list(self._prepared(items, caller, version, False))
        numbers = [n for p in prepared for n in p.numbers]
        if len(set(numbers)) != len(numbers):  # two workers drew the same number: redraw
            tools = _Tools(self._blind, self._vault)
            return [_prepare(tools, items, caller, version)]
        return prepared

    def _prepared(
        self, items: Sequence[tuple[int, str, str]], caller: str, version: int, binary: bool
    ) -> Iterator[Prepared]:
        """``items`` prepared chunk by chunk, in order, as the workers finish them (every
        chunk is submitted at once, so the workers run ahead of the caller); inline in one
        piece when the batch is small or there is no pool."""
        pool = self._executor() if len(items) >= POOL_THRESHOLD else None
        if pool is None:
            yield _prepare(_Tools(self._blind, self._vault), items, caller, version, binary)
            return
        chunks = [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]
        futures = [pool.submit(_prepare_in_worker, c, caller, version, binary) for c in chunks]
        try:
            for future in futures:
                yield future.result()
        finally:
            for future in futures:
                future.cancel()

    def _create_stage(self, session: Session) -> None:
        dialect = session.get_bind().dialect.name
        binary = "bytea" if dialect == "postgresql" else "blob"
        session.execute(text("DROP TABLE IF EXISTS bulk_stage"))
        session.execute(
            text(
                f"CREATE TEMPORARY TABLE bulk_stage (seq integer, person_key {binary}, "
                "number text, number_index text, facts text, idem text)"
            )
        )

    def _stage_rows(self, session: Session, batches: Sequence[Prepared]) -> None:
        """SQLite: the prepared rows into a new staging table."""
        self._create_stage(session)
        session.execute(
            text(
                "INSERT INTO bulk_stage (seq, person_key, number, number_index, facts, idem) "
                "VALUES (:seq, :person_key, :number, :number_index, :facts, :idem)"
            ),
            [dict(zip(_COLUMNS, row, strict=True)) for b in batches for row in b.rows],
        )

    def _copy_chunk(self, session: Session, chunk: Prepared) -> None:
        """PostgreSQL: one prepared chunk into the (empty) staging table by binary ``COPY``."""
        raw = cast(psycopg.Connection, session.connection().connection.dbapi_connection)
        with (
            raw.cursor() as cursor,
            cursor.copy(
                f"COPY bulk_stage ({', '.join(_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            copy.write(COPY_SIGNATURE)
            copy.write(chunk.copy)
            copy.write(COPY_TRAILER)

    def _enrol_postgresql(
        self,
        session: Session,
        items: Sequence[tuple[int, str, str]],
        *,
        caller: str,
        version: int,
        params: dict[str, object],
        keyed: bool,
        numbers: dict[int, str],
        tokens: dict[int, str],
    ) -> list[int]:
        """Stage and move chunk by chunk while the workers prepare the next chunks: the
        database's inserts (most of the time) and the workers' crypto overlap instead of
        taking turns. Answers the seqs whose number was already issued (to go round again);
        a number two chunks drew alike is one of them, as the second chunk's move skips it."""
        self._create_stage(session)
        session.execute(text("CREATE INDEX ON bulk_stage (person_key)"))
        # The batch's sort by seq stays in memory (4 MB spilled 10,000 rows to disk).
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        left: list[int] = []
        for chunk in self._prepared(items, caller, version, True):
            numbers.update(zip(chunk.seqs, chunk.numbers, strict=True))
            tokens.update(zip(chunk.seqs, chunk.tokens, strict=True))
            self._copy_chunk(session, chunk)
            if self._move_postgresql(session, params, keyed) != len(chunk.seqs):
                left += self._not_inserted(session)  # a number drawn was already issued
            session.execute(text("TRUNCATE bulk_stage"))
        session.execute(text("DROP TABLE bulk_stage"))
        return left

    def _move_postgresql(self, session: Session, params: dict[str, object], keyed: bool) -> int:
        """Staged rows into the real tables in one statement (:data:`_MOVE`): the numbers
        claimed feed the persons, and the persons inserted feed the other tables through
        RETURNING (no join back over ``persons``); answers how many were inserted (fewer
        than staged when a number was already issued).

        Every lookup is an index probe whatever the planner estimates: a number already
        issued is found by the insert's own conflict check on ``issued_numbers``' primary
        key, and the idempotency keys are joined through the staging table's own index."""
        return int(
            session.execute(
                text(_MOVE),
                {**params, "keyed": keyed},
            ).scalar_one()
        )

    def _move_sqlite(self, session: Session, params: dict[str, object]) -> list[int]:
        """Staged rows into the real tables, statement by statement (SQLite has no
        data-modifying WITH); answers the seqs left out as :meth:`_move_postgresql` does."""
        session.execute(
            text(
                "INSERT INTO persons (person_key, number, number_index, facts, status, "
                "reissued, created_at, updated_at) SELECT person_key, number, number_index, "
                "facts, 'active', false, :now, :now FROM bulk_stage s WHERE NOT EXISTS "
                "(SELECT 1 FROM issued_numbers i WHERE i.number_index = s.number_index) "
                "ORDER BY seq"
            ),
            params,
        )
        joined = "FROM persons p JOIN bulk_stage s ON s.person_key = p.person_key"
        session.execute(
            text(
                "INSERT INTO issued_numbers (number_index, person_id, retired, issued_at) "
                f"SELECT p.number_index, p.id, false, :now {joined}"
            ),
            params,
        )
        session.execute(
            text(
                "INSERT INTO links (person_id, domain, key_version, linked_at) "
                f"SELECT p.id, :caller, :version, :now {joined}"
            ),
            params,
        )
        session.execute(
            text(
                "INSERT INTO registrations (caller, idempotency_key, kind, person_id) "
                f"SELECT :caller, s.idem, 'register', p.id {joined} WHERE s.idem <> ''"
            ),
            params,
        )
        return self._not_inserted(session)

    @staticmethod
    def _not_inserted(session: Session) -> list[int]:
        """The staged seqs whose person was not inserted (their number was taken)."""
        return [
            int(seq)
            for (seq,) in session.execute(
                text(
                    "SELECT seq FROM bulk_stage s WHERE NOT EXISTS "
                    "(SELECT 1 FROM persons p WHERE p.person_key = s.person_key)"
                )
            )
        ]

    def enrol(
        self,
        session: Session,
        residents: Sequence[tuple[BasicFacts, str]],
        *,
        caller: str,
        key_version: int,
    ) -> list[Enrolled]:
        """Enrol ``residents`` (facts, idempotency key) in the caller's transaction."""
        numbers: dict[int, str] = {}
        tokens: dict[int, str] = {}
        facts_json = [facts.to_json() for facts, _ in residents]
        pending = list(range(len(residents)))
        now = dt.datetime.now(dt.UTC)
        postgresql = session.get_bind().dialect.name == "postgresql"
        keyed = any(key for _, key in residents)
        params = {"now": now, "caller": caller, "version": key_version}
        while pending:
            items = [(seq, facts_json[seq], residents[seq][1]) for seq in pending]
            if postgresql:
                pending = self._enrol_postgresql(
                    session,
                    items,
                    caller=caller,
                    version=key_version,
                    params=params,
                    keyed=keyed,
                    numbers=numbers,
                    tokens=tokens,
                )
                continue
            batches = self._prepare_all(items, caller, key_version)
            for batch in batches:
                numbers.update(zip(batch.seqs, batch.numbers, strict=True))
                tokens.update(zip(batch.seqs, batch.tokens, strict=True))
            self._stage_rows(session, batches)
            pending = self._move_sqlite(session, params)
            session.execute(text("DROP TABLE bulk_stage"))
        return [Enrolled(numbers[i], tokens[i], key_version) for i in range(len(residents))]
