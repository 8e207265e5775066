"""Rotate a service's data-encryption key and re-encrypt its stored values while it serves.

Usage::

    python -m mynumber_core.reencrypt <service> [--url URL] [--keyring PATH] [--batch 500]
    mynumber admin rotate-data-key <service>

Two steps, both safe while the service (any number of replicas) keeps serving:

1. **Rotate**: add a new version to the ``data`` keyset of the service's keyring, make it
   active and save the file atomically. Every running process notices the new file through
   :meth:`Keyring.refresh` (``FieldCipher.encrypt`` checks it on every write, and
   ``decrypt`` re-reads the file when it meets an unknown key id), so new writes switch to
   the new key at once and values written by the new key are readable everywhere.
2. **Re-encrypt**: import ``services.<name>.models`` (and any sibling ``*_models`` module that
   adds tables to the same ``Base``), find every column whose type is
   :class:`~mynumber_core.columns.EncryptedText`, and walk each table by primary key in
   batches. Each batch is one short transaction that reads the raw ciphertexts (not through
   the service's cipher slot), decrypts each value with whichever version sealed it, seals it
   again under the active key and writes it back with a compare-and-swap
   (``UPDATE ... WHERE pk = :pk AND col = :old``): a row the service changed in between is
   left alone (the service wrote it under the new key) and counted as a conflict. The walk is
   repeated until a pass finds nothing left to rewrite, which also catches a write that began
   before the rotation and committed after the first pass went by.

Old key versions stay in the keyring: values can be in flight, backups hold them, and removing
a version is a separate, deliberate step once a pass reports nothing left under it.

**Blind indexes are not rotated here, and old rows are not re-indexed.** Lookups already search
every version (:meth:`BlindIndex.candidates`), so a new ``blind`` version would be functional
for ``WHERE idx IN (...)`` searches, but (a) some call sites compare indexes by equality
(the registry's bulk enrolment checks ``issued_numbers.number_index = ...`` to never reissue a
number; the gateway's shared-payout-account check compares ``account_index`` values), so two
versions of the index of one value would defeat them; and (b) re-indexing is impossible for
values whose plaintext is not stored (a retired My Number is kept only as its index, which is
the point). The blind key is an HMAC key, not an encryption key: its rotation needs those call
sites to compare through ``candidates`` first, and is out of scope for this tool.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Column, Table, Text, and_, column, or_, select, table, tuple_, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.elements import ColumnElement

from mynumber_core.columns import EncryptedText
from mynumber_core.db import make_engine
from mynumber_core.keyring import FieldCipher, Keyring
from mynumber_core.settings import SERVICE_NAMES

DATA_KEYSET = "data"
DEFAULT_BATCH = 500
MAX_PASSES = 5


@dataclass
class TableReport:
    """What one table's walk did."""

    table: str
    columns: list[str]
    scanned: int = 0
    """Rows read because at least one encrypted value was not under the active key."""
    reencrypted: int = 0
    """Rows rewritten under the active key."""
    conflicts: int = 0
    """Rows the service changed between our read and our write (left as the service wrote)."""


@dataclass
class RotationReport:
    """The outcome of a rotation: the new key id and one report per table."""

    service: str
    old_kid: str
    new_kid: str
    tables: list[TableReport] = field(default_factory=list)
    passes: int = 0

    @property
    def reencrypted(self) -> int:
        """Rows rewritten across every table."""
        return sum(t.reencrypted for t in self.tables)

    def lines(self) -> list[str]:
        """A human-readable summary, one line per table."""
        out = [f"{self.service}: data key {self.old_kid} -> {self.new_kid} ({self.passes} passes)"]
        for t in self.tables:
            out.append(
                f"  {t.table}: {t.reencrypted} re-encrypted, {t.conflicts} changed concurrently "
                f"({', '.join(t.columns)})"
            )
        return out


def service_base(service: str) -> type[DeclarativeBase]:
    """The declarative ``Base`` of a service, with every model module of the service loaded."""
    if service not in SERVICE_NAMES:
        raise SystemExit(f"unknown service {service!r}; expected one of {SERVICE_NAMES}")
    models = importlib.import_module(f"services.{service}.models")
    package = importlib.import_module(f"services.{service}")
    # Some services keep extra tables on the same Base in sibling modules (card_models, ...).
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.endswith("_models"):
            importlib.import_module(f"services.{service}.{info.name}")
    base: type[DeclarativeBase] = models.Base
    return base


def encrypted_columns(tables: Iterable[Table]) -> list[tuple[Table, list[Column[Any]]]]:
    """Every table that has at least one :class:`EncryptedText` column, with those columns."""
    found = []
    for tbl in tables:
        cols = [c for c in tbl.columns if isinstance(c.type, EncryptedText)]
        if cols:
            found.append((tbl, cols))
    return found


def rotate_keyring(path: Path, keyset: str = DATA_KEYSET) -> tuple[str, str]:
    """Add and activate a new version of ``keyset`` in the file at ``path``; (old, new) ids."""
    keyring = Keyring.load(path)
    old = keyring.keyset(keyset).active
    new = keyring.rotate(keyset)
    keyring.save(path)
    return old, new


class Reencryptor:
    """Re-encrypts every encrypted column of one service's tables under the active key."""

    def __init__(
        self,
        engine: Engine,
        cipher: FieldCipher,
        tables: Sequence[tuple[Table, list[Column[Any]]]],
        *,
        batch: int = DEFAULT_BATCH,
        pause: float = 0.0,
    ) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self._engine = engine
        self._cipher = cipher
        self._tables = tables
        self._batch = batch
        self._pause = pause

    def run(self, service: str, old_kid: str, new_kid: str) -> RotationReport:
        """Walk every table until a pass finds nothing left under an old key."""
        report = RotationReport(service, old_kid, new_kid)
        reports = {
            tbl.name: TableReport(tbl.name, [c.name for c in cols]) for tbl, cols in self._tables
        }
        report.tables = list(reports.values())
        for _ in range(MAX_PASSES):
            report.passes += 1
            touched = 0
            for tbl, cols in self._tables:
                touched += self._walk(tbl, cols, reports[tbl.name])
            if touched == 0:
                break
        return report

    def _walk(self, tbl: Table, cols: list[Column[Any]], report: TableReport) -> int:
        """One pass over one table; returns how many rows needed work."""
        pk = list(tbl.primary_key.columns)
        if not pk:
            raise RuntimeError(f"table {tbl.name} has no primary key; cannot re-encrypt it safely")
        # A plain shadow of the table: raw ciphertext in, raw ciphertext out (no cipher slot).
        raw = table(
            tbl.name,
            *(column(c.name, Text() if c in cols else c.type) for c in tbl.columns),
            schema=tbl.schema,
        )
        raw_pk = [raw.c[c.name] for c in pk]
        raw_cols = [raw.c[c.name] for c in cols]
        last: tuple[Any, ...] | None = None
        needed = 0
        while True:
            active = self._cipher.active_kid
            stale = [_not_under(c, active) for c in raw_cols]
            query = select(*raw_pk, *raw_cols).where(or_(*stale))
            if last is not None:
                query = query.where(tuple_(*raw_pk) > tuple_(*last))
            query = query.order_by(*raw_pk).limit(self._batch)
            with self._engine.begin() as conn:
                rows = conn.execute(query).all()
                for row in rows:
                    key = tuple(row[: len(pk)])
                    old_values = row[len(pk) :]
                    new_values = {
                        c.name: self._reseal(c, old, active)
                        for c, old in zip(cols, old_values, strict=True)
                    }
                    match = [p == v for p, v in zip(raw_pk, key, strict=True)]
                    match += [
                        (rc.is_(None) if old is None else rc == old)
                        for rc, old in zip(raw_cols, old_values, strict=True)
                    ]
                    result = conn.execute(update(raw).where(and_(*match)).values(**new_values))
                    if result.rowcount == 1:
                        report.reencrypted += 1
                    else:
                        report.conflicts += 1
                report.scanned += len(rows)
                needed += len(rows)
            if len(rows) < self._batch:
                return needed
            last = tuple(rows[-1][: len(pk)])
            if self._pause:
                time.sleep(self._pause)  # leave room for the service's own writes

    def _reseal(self, col: Column[Any], sealed: str | None, active: str) -> str | None:
        if sealed is None or self._cipher.key_id_of(sealed) == active:
            return sealed
        aad = cast(EncryptedText, col.type).aad
        return self._cipher.encrypt(self._cipher.decrypt(sealed, aad), aad)


def _not_under(col: ColumnElement[Any], kid: str) -> ColumnElement[bool]:
    return and_(col.is_not(None), ~col.startswith(f"{kid}.", autoescape=True))


def rotate_and_reencrypt(
    service: str,
    url: str,
    keyring_path: Path,
    *,
    batch: int = DEFAULT_BATCH,
    pause: float = 0.0,
    rotate: bool = True,
    progress: Callable[[str], None] | None = None,
) -> RotationReport:
    """Rotate the service's data key (unless ``rotate`` is False) and re-encrypt every table."""
    base = service_base(service)
    tables = encrypted_columns(base.metadata.sorted_tables)
    if rotate:
        old_kid, new_kid = rotate_keyring(keyring_path)
    else:
        old_kid = new_kid = Keyring.load(keyring_path).keyset(DATA_KEYSET).active
    if progress:
        progress(f"{service}: data key {new_kid} is active; re-encrypting {len(tables)} tables")
    cipher = FieldCipher(Keyring.load(keyring_path), DATA_KEYSET)
    engine = make_engine(url)
    try:
        return Reencryptor(engine, cipher, tables, batch=batch, pause=pause).run(
            service, old_kid, new_kid
        )
    finally:
        engine.dispose()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mynumber_core.reencrypt",
        description="Rotate a service's data-encryption key and re-encrypt its stored values.",
    )
    parser.add_argument("service", choices=SERVICE_NAMES)
    parser.add_argument("--url", help="database URL (default: the dev SQLite file under var/)")
    parser.add_argument(
        "--keyring", type=Path, help="keyring file (default: var/keys/<service>/keyring.json)"
    )
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="rows per transaction")
    parser.add_argument(
        "--no-rotate",
        action="store_true",
        help="only re-encrypt values still under an old key (resume an interrupted run)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    args = _parser().parse_args(argv)
    if args.batch < 1:
        raise SystemExit("--batch must be at least 1")
    url = args.url or f"sqlite:///var/data/{args.service}.db"
    keyring = args.keyring or Path("var/keys") / args.service / "keyring.json"
    report = rotate_and_reencrypt(
        args.service, url, keyring, batch=args.batch, rotate=not args.no_rotate, progress=print
    )
    for line in report.lines():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
