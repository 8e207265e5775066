"""The written facts of an orphaned pension record (宙に浮いた年金記録), checked in one place.

Pension checks a record when an operator files it in the orphan pool; the registry checks the
identifying part again when pension sends it to ``Reconcile``. Both use
:func:`check_identifying_facts`, so a record the pool accepts is never refused later by the
registry. Errors name the record's position and the field, never the value (which is
personal data).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from mynumber_core.errors import InvalidInput
from mynumber_core.facts import SEXES

MAX_RECORD_ID = 32
MAX_NAME = 100
MAX_WRITTEN_DATE = 40
MAX_EMPLOYER = 200
MAX_PREFECTURE = 8
RECORD_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
"""A record number as the portal, the CLI and the review queue accept it."""
_MONTH = re.compile(r"\A([0-9]{4})-(0[1-9]|1[0-2])\Z")


def check_identifying_facts(
    where: str,
    *,
    record_id: str,
    name_kana: str,
    name_kanji: str | None,
    birth_date_written: str,
    sex: str,
) -> None:
    """The record id and the facts the registry compares; InvalidInput names ``where``."""
    if not RECORD_ID.fullmatch(record_id):
        raise InvalidInput(
            f"{where}.record_id must be 1 to {MAX_RECORD_ID} letters, digits, '_' or '-' "
            "(the record number residents and operators name it by)"
        )
    if not name_kana.strip() or len(name_kana) > MAX_NAME:
        raise InvalidInput(f"{where}.name_kana must be 1 to {MAX_NAME} characters")
    if len(name_kanji or "") > MAX_NAME:
        raise InvalidInput(f"{where}.name_kanji must be at most {MAX_NAME} characters")
    if len(birth_date_written) > MAX_WRITTEN_DATE:
        raise InvalidInput(
            f"{where}.birth_date_written must be at most {MAX_WRITTEN_DATE} characters, as "
            "the ledger wrote it (e.g. 昭和45年3月12日; empty when the ledger has none)"
        )
    if sex not in SEXES:
        raise InvalidInput(f"{where}.sex must be 'male' or 'female'")


class WrittenFacts(Protocol):
    """The identifying facts of a record as written (pension's and the registry's types)."""

    @property
    def record_id(self) -> str: ...
    @property
    def name_kana(self) -> str: ...
    @property
    def name_kanji(self) -> str | None: ...
    @property
    def birth_date_written(self) -> str: ...
    @property
    def sex(self) -> str: ...


Record = TypeVar("Record", bound=WrittenFacts)


def check_records(
    records: Sequence[Record], also: Callable[[str, Record], None] = lambda where, record: None
) -> None:
    """Each record's identifying facts, then ``also`` (what the caller checks besides), and no
    record id twice in one call; InvalidInput names ``records[n]``."""
    seen: set[str] = set()
    for n, r in enumerate(records):
        where = f"records[{n}]"
        check_identifying_facts(
            where,
            record_id=r.record_id,
            name_kana=r.name_kana,
            name_kanji=r.name_kanji,
            birth_date_written=r.birth_date_written,
            sex=r.sex,
        )
        also(where, r)
        if r.record_id in seen:
            raise InvalidInput(f"{where}.record_id repeats an earlier record; send each once")
        seen.add(r.record_id)


def month_index(where: str, field: str, text: str) -> int:
    """A ``YYYY-MM`` month as a count of months (for comparing periods)."""
    found = _MONTH.match(text)
    if found is None:
        raise InvalidInput(f"{where}.{field} must be a month written YYYY-MM, e.g. 1988-04")
    return int(found.group(1)) * 12 + int(found.group(2)) - 1


def check_ledger_entry(
    where: str,
    *,
    employer: str,
    prefecture: str | None,
    period_start: str,
    period_end: str,
    months: int,
) -> None:
    """What the pool keeps beside the identifying facts: who paid, where, when and how long."""
    if not employer.strip() or len(employer) > MAX_EMPLOYER:
        raise InvalidInput(f"{where}.employer must be 1 to {MAX_EMPLOYER} characters")
    if len(prefecture or "") > MAX_PREFECTURE:
        raise InvalidInput(f"{where}.prefecture must be at most {MAX_PREFECTURE} characters")
    first = month_index(where, "period_start", period_start)
    last = month_index(where, "period_end", period_end)
    if last < first:
        raise InvalidInput(f"{where}.period_end is before period_start")
    if not 1 <= months <= last - first + 1:
        raise InvalidInput(
            f"{where}.months must be at least 1 and at most the period's {last - first + 1} months"
        )
