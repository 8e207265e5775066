"""The facts the linkage model compares, without the model: what the registry's Reconcile path
passes around before it scores anything.

They live apart from :mod:`services.registry.linkage` so that the registry can serve (and
start) without importing Splink, DuckDB and sqlglot, which took seconds of every registry
start-up; the model is imported on the first ``Reconcile`` call.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_THRESHOLD = 0.99
"""Match probability from which a candidate becomes a notice to the resident (see the bench)."""


@dataclass(frozen=True)
class OrphanFacts:
    """The identifying facts of one orphan record, as the clerk wrote them."""

    record_id: str
    name_kana: str
    name_kanji: str | None
    birth_date_written: str
    sex: str
    prefecture: str | None


@dataclass(frozen=True)
class ResidentFacts:
    """A resident's basic facts as the registry holds them (kana reading when known)."""

    resident_id: str
    name_kana: str | None
    name_kanji: str | None
    birth_date: str
    sex: str
    prefecture: str | None
