"""Bulk enrolment: many residents per transaction, loaded with COPY on PostgreSQL.

Rows are prepared in Python (random person key, a fresh number, AES-GCM ciphertexts, the
blind index, the municipality's token), loaded into a temporary staging table (``COPY`` on
PostgreSQL, ``executemany`` on SQLite), then moved into the real tables with set-based SQL
that skips any number already issued. Skipped rows (a number collision, vanishingly rare)
get a new number and go round again, so no number is ever given out twice.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from mynumber_core.columns import EncryptedText
from mynumber_core.facts import BasicFacts
from mynumber_core.keyring import BlindIndex
from mynumber_core.mynumber import check_digit
from services.registry.models import Person
from services.registry.tokens import PERSON_KEY_BYTES, TokenVault

NUMBER_PURPOSE = "my-number"
_COLUMNS = ("seq", "person_key", "number", "number_index", "facts", "idem")


@dataclass(frozen=True)
class Enrolled:
    """One enrolled resident: the number (for the notification card) and the token."""

    my_number: str
    token: str
    key_version: int


def _random_number() -> str:
    body = f"{secrets.randbelow(10**11):011d}"
    return body + str(check_digit(body))


def _facts_json(facts: BasicFacts) -> str:
    return json.dumps(
        {
            "name": facts.name,
            "birth_date": facts.birth_date.isoformat(),
            "sex": facts.sex,
            "address": facts.address,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


class BulkEnroller:
    """Set-based enrolment into the registry's tables (either backend)."""

    def __init__(self, vault: TokenVault, blind: BlindIndex) -> None:
        self._vault = vault
        self._blind = blind

    def _stage_rows(self, session: Session, rows: Sequence[tuple[object, ...]]) -> None:
        dialect = session.get_bind().dialect.name
        binary = "bytea" if dialect == "postgresql" else "blob"
        session.execute(text("DROP TABLE IF EXISTS bulk_stage"))
        session.execute(
            text(
                f"CREATE TEMPORARY TABLE bulk_stage (seq integer, person_key {binary}, "
                "number text, number_index text, facts text, idem text)"
            )
        )
        if dialect == "postgresql":
            raw = cast(psycopg.Connection, session.connection().connection.dbapi_connection)
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY bulk_stage ({', '.join(_COLUMNS)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            session.execute(
                text(
                    "INSERT INTO bulk_stage (seq, person_key, number, number_index, facts, idem) "
                    "VALUES (:seq, :person_key, :number, :number_index, :facts, :idem)"
                ),
                [dict(zip(_COLUMNS, row, strict=True)) for row in rows],
            )

    def enrol(
        self,
        session: Session,
        residents: Sequence[tuple[BasicFacts, str]],
        *,
        caller: str,
        key_version: int,
    ) -> list[Enrolled]:
        """Enrol ``residents`` (facts, idempotency key) in the caller's transaction."""
        number_type = cast(EncryptedText, Person.__table__.c.number.type)
        facts_type = cast(EncryptedText, Person.__table__.c.facts.type)
        dialect = session.get_bind().dialect
        numbers: dict[int, str] = {}
        person_keys: dict[int, bytes] = {}
        pending = list(range(len(residents)))
        now = dt.datetime.now(dt.UTC)
        while pending:
            rows = []
            seen: set[str] = set()
            for seq in pending:
                number = _random_number()
                while number in seen:
                    number = _random_number()
                seen.add(number)
                facts, idem = residents[seq]
                person_keys[seq] = secrets.token_bytes(PERSON_KEY_BYTES)
                numbers[seq] = number
                rows.append(
                    (
                        seq,
                        person_keys[seq],
                        number_type.process_bind_param(number, dialect),
                        self._blind.index(NUMBER_PURPOSE, number),
                        facts_type.process_bind_param(_facts_json(facts), dialect),
                        idem,
                    )
                )
            self._stage_rows(session, rows)
            params = {"now": now, "caller": caller, "version": key_version}
            session.execute(
                text(
                    "INSERT INTO persons (person_key, number, number_index, facts, status, "
                    "reissued, created_at, updated_at) SELECT person_key, number, number_index, "
                    "facts, "
                    "'active', false, :now, :now FROM bulk_stage s WHERE NOT EXISTS "
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
            pending = [
                int(seq)
                for (seq,) in session.execute(
                    text(
                        "SELECT seq FROM bulk_stage s WHERE NOT EXISTS "
                        "(SELECT 1 FROM persons p WHERE p.person_key = s.person_key)"
                    )
                )
            ]
            session.execute(text("DROP TABLE bulk_stage"))
        return [
            Enrolled(numbers[i], self._vault.make(caller, key_version, person_keys[i]), key_version)
            for i in range(len(residents))
        ]
