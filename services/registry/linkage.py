"""Probabilistic record linkage of orphaned pension records against the basic facts.

A Fellegi–Sunter model built with Splink. Its comparisons know Japanese records:

- names are compared per part (surname, given name) in katakana: exact (term-frequency
  adjusted: a rare name agreeing weighs more than 佐藤), then on the phonetic key of
  :func:`mynumber_core.japanese.kana_key` (ヲ/オ, ヂ/ジ, small kana, long vowels, voiced marks
  folded), then within one edit (Damerau–Levenshtein) of the key; a different surname where
  a woman is involved is its own level (maiden names); kanji when the record has it;
- the birth date, written in an era, is compared exactly, with day and month swapped, with the
  era wrong but the era year, month and day right (昭和/平成 slips), with both at once, with
  the year one off and the month and day right, and within the same month;
- sex and the prefecture of the record against the resident's address.

The m and u probabilities are not set by hand: u comes from random sampling of record pairs
and m from expectation maximisation on two blocking rules (each estimates the comparisons the
other fixes), both Splink's own estimators. The SQL is portable, so the same model runs on
the embedded DuckDB backend and on Spark (``make reconcile-spark``).

Why about 570 lines: the model's comparisons, its training (u by sampling, m by EM) and its
scoring are one Splink settings object and must change together.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from rapidfuzz.distance import JaroWinkler
from splink import Linker, SettingsCreator, block_on
from splink.internals.comparison_level_creator import ComparisonLevelCreator

from mynumber_core import errors
from mynumber_core.japanese import (
    format_era,
    from_era,
    kana_key,
    normalize_kana,
    parse_era_parts,
    prefecture_of,
    to_era,
)
from services.registry.linkage_facts import DEFAULT_THRESHOLD as DEFAULT_THRESHOLD
from services.registry.linkage_facts import OrphanFacts, ResidentFacts

MIN_WEIGHT = -10.0
"""Pairs below this match weight (odds 1:1024) add nothing to a record's total."""

COLUMNS = (
    "unique_id",
    "surname_kana",
    "given_kana",
    "surname_key",
    "given_key",
    "name_kanji",
    "given_kanji",
    "dob",
    "dob_swapped",
    "era_ymd",
    "era_ymd_swapped",
    "md",
    "birth_year",
    "sex",
    "prefecture",
)

SCHEMA = pa.schema(
    [(name, pa.int64() if name == "birth_year" else pa.string()) for name in COLUMNS]
)
"""Both sides' model input: typed, so an all-null column still has a type."""

FIELD_LABELS = {
    "surname": "surname (kana)",
    "given_name": "given name (kana)",
    "name_kanji": "name (kanji)",
    "birth_date": "birth date",
    "sex": "sex",
    "prefecture": "prefecture",
}


@dataclass(frozen=True)
class Candidate:
    """One scored pair: the orphan record, the resident, the probability, what agreed."""

    record_id: str
    resident_id: str
    match_probability: float
    agreeing: tuple[str, ...]


# Names repeat (a million residents share a few thousand name parts) and kana folding is the
# slowest step of building the frames: remember the last names seen. Both are pure functions.
_normalize = functools.lru_cache(maxsize=1 << 16)(normalize_kana)
_key = functools.lru_cache(maxsize=1 << 16)(kana_key)


def _split(name_kana: str | None) -> tuple[str | None, str | None]:
    if not name_kana or not name_kana.strip():
        return None, None
    parts = name_kana.replace("\u3000", " ").split()
    surname = _normalize(parts[0])
    given = _normalize("".join(parts[1:])) if len(parts) > 1 else None
    return surname or None, given or None


def _swap(day: dt.date | None) -> str | None:
    if day is None or day.day > 12 or day.day == day.month:
        return None
    try:
        return dt.date(day.year, day.day, day.month).isoformat()
    except ValueError:
        return None


def _row(
    uid: str,
    name_kana: str | None,
    kanji: str | None,
    day: dt.date | None,
    era_ymd: str | None,
    md: str | None,
    year: int | None,
    sex: str,
    prefecture: str | None,
) -> dict[str, Any]:
    surname, given = _split(name_kana)
    era_swapped = None
    if era_ymd is not None:
        era_year, written_month, written_day = era_ymd.split("-")
        if written_month != written_day and int(written_day) <= 12:
            era_swapped = f"{era_year}-{written_day}-{written_month}"
    return {
        "unique_id": uid,
        "surname_kana": surname,
        "given_kana": given,
        "surname_key": _key(surname) if surname else None,
        "given_key": _key(given) if given else None,
        "name_kanji": "".join(kanji.split()) if kanji and kanji.strip() else None,
        "given_kanji": kanji.split()[-1] if kanji and len(kanji.split()) > 1 else None,
        "dob": day.isoformat() if day else None,
        "dob_swapped": _swap(day),
        "era_ymd": era_ymd,
        "era_ymd_swapped": era_swapped,
        "md": md,
        "birth_year": year,
        "sex": sex or None,
        "prefecture": prefecture or None,
    }


def orphan_frame(records: Iterable[OrphanFacts]) -> pa.Table:
    """Model input for orphan records; an unreadable era date leaves the date columns null."""
    rows = []
    for r in records:
        try:
            era, year, month, day = parse_era_parts(r.birth_date_written)
        except errors.InvalidInput:
            rows.append(
                _row(
                    r.record_id,
                    r.name_kana,
                    r.name_kanji,
                    None,
                    None,
                    None,
                    None,
                    r.sex,
                    r.prefecture,
                )
            )
            continue
        try:
            written: dt.date | None = from_era(era, year, month, day)
        except errors.InvalidInput:
            written = None
        rows.append(
            _row(
                r.record_id,
                r.name_kana,
                r.name_kanji,
                written,
                f"{year:02d}-{month:02d}-{day:02d}",
                f"{month:02d}-{day:02d}",
                written.year if written else None,
                r.sex,
                r.prefecture,
            )
        )
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def resident_frame(residents: Iterable[ResidentFacts]) -> pa.Table:
    """Model input for the residents the registry holds."""
    rows = []
    for r in residents:
        day = dt.date.fromisoformat(r.birth_date)
        _, era_year = to_era(day)
        rows.append(
            _row(
                r.resident_id,
                r.name_kana,
                r.name_kanji,
                day,
                f"{era_year:02d}-{day.month:02d}-{day.day:02d}",
                f"{day.month:02d}-{day.day:02d}",
                day.year,
                r.sex,
                r.prefecture,
            )
        )
    return pa.Table.from_pylist(rows, schema=SCHEMA)


class SyntheticResident(Protocol):
    """A generated resident (``mynumber_dev``) as the model's training and scoring read it."""

    @property
    def name(self) -> str: ...
    @property
    def name_kana(self) -> str: ...
    @property
    def birth_date(self) -> str: ...
    @property
    def sex(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def foreign(self) -> bool: ...


class SyntheticRecord(Protocol):
    """A generated orphan record with its ground truth (the index of the resident who wrote it,
    or None for a decoy)."""

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
    @property
    def prefecture(self) -> str | None: ...
    @property
    def truth(self) -> int | None: ...


def labelled_frames(
    residents: Iterable[SyntheticResident], records: Iterable[SyntheticRecord]
) -> tuple[pa.Table, pa.Table, dict[str, str | None]]:
    """Model input for synthetic data with known ground truth (training, the bench, tests):
    the orphan frame, the resident frame (resident ``i`` is ``R{i}``) and, per record id, the
    resident id that wrote it (None for a decoy)."""
    records = list(records)
    residents_frame = resident_frame(
        ResidentFacts(
            f"R{i}",
            r.name_kana,
            None if r.foreign else r.name,
            r.birth_date,
            r.sex,
            prefecture_of(r.address),
        )
        for i, r in enumerate(residents)
    )
    orphans_frame = orphan_frame(
        OrphanFacts(
            o.record_id, o.name_kana, o.name_kanji, o.birth_date_written, o.sex, o.prefecture
        )
        for o in records
    )
    truth = {o.record_id: (f"R{o.truth}" if o.truth is not None else None) for o in records}
    return orphans_frame, residents_frame, truth


def _name_part(column: str, output: str) -> cl.CustomComparison:
    levels: list[ComparisonLevelCreator | dict[str, Any]] = [
        cll.NullLevel(f"{column}_key"),
        # a rare name agreeing says more than 佐藤 agreeing: term-frequency adjusted
        cll.ExactMatchLevel(f"{column}_kana", term_frequency_adjustments=True),
        cll.ExactMatchLevel(f"{column}_key").configure(label_for_charts="same phonetic key"),
        cll.DamerauLevenshteinLevel(f"{column}_key", 1),
    ]
    if column == "surname":
        # Most Japanese wives take the husband's surname: a different surname means less
        # between two women than between two men (EM learns how much less), and a little
        # less when one side is a woman (the clerk may also have written the wrong sex).
        levels.append(cll.CustomLevel("sex_l = 'female' AND sex_r = 'female'", "both women"))
        levels.append(
            cll.CustomLevel("sex_l = 'female' OR sex_r = 'female'", "a woman on one side")
        )
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(output_column_name=output, comparison_levels=levels)


def _birth_date() -> cl.CustomComparison:
    # m_probability here is only EM's starting point; training re-estimates every m.
    return cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.CustomLevel("era_ymd_l IS NULL OR era_ymd_r IS NULL").configure(is_null_level=True),
            cll.CustomLevel("dob_l = dob_r", "exact").configure(m_probability=0.8),
            cll.CustomLevel("dob_swapped_l = dob_r", "day and month swapped").configure(
                m_probability=0.03
            ),
            cll.CustomLevel("era_ymd_l = era_ymd_r", "era slip").configure(m_probability=0.05),
            cll.CustomLevel(
                "era_ymd_swapped_l = era_ymd_r", "era slip, day and month swapped"
            ).configure(m_probability=0.005),
            cll.CustomLevel(
                "md_l = md_r AND abs(birth_year_l - birth_year_r) = 1", "year off by one"
            ).configure(m_probability=0.04),
            cll.CustomLevel(
                "substr(dob_l, 1, 7) = substr(dob_r, 1, 7)", "same year and month"
            ).configure(m_probability=0.02),
            cll.ElseLevel().configure(m_probability=0.06),
        ],
    )


PREDICTION_RULES: tuple[Any, ...] = (
    block_on("dob", "given_key"),
    block_on("dob", "surname_key"),
    # a name part and the month and day (a typo or a maiden name, and the era year off)
    block_on("md", "given_key"),
    block_on("md", "surname_key"),
    block_on("surname_key", "given_key", "birth_year"),
    "l.dob_swapped = r.dob AND l.given_key = r.given_key",
    "l.dob_swapped = r.dob AND l.surname_key = r.surname_key",
    block_on("era_ymd", "given_key"),
    block_on("era_ymd", "surname_key"),
    # an era slip and day and month swapped at once
    "l.era_ymd_swapped = r.era_ymd AND l.given_key = r.given_key",
    "l.era_ymd_swapped = r.era_ymd AND l.surname_key = r.surname_key",
    # the same with kanji, for residents whose kana reading the registry does not hold
    block_on("dob", "given_kanji"),
    block_on("name_kanji", "md"),
    block_on("name_kanji", "birth_year"),
    block_on("era_ymd", "given_kanji"),
)


def settings() -> SettingsCreator:
    """The untrained model: comparisons and the blocking rules for prediction."""
    return SettingsCreator(
        link_type="link_only",
        comparisons=[
            _name_part("surname", "surname"),
            _name_part("given", "given_name"),
            cl.CustomComparison(
                output_column_name="name_kanji",
                comparison_levels=[
                    cll.NullLevel("name_kanji"),
                    cll.ExactMatchLevel("name_kanji"),
                    cll.ExactMatchLevel("given_kanji").configure(
                        label_for_charts="given name only (a changed surname)"
                    ),
                    cll.ElseLevel(),
                ],
            ),
            _birth_date(),
            cl.ExactMatch("sex"),
            cl.ExactMatch("prefecture"),
        ],
        blocking_rules_to_generate_predictions=list(PREDICTION_RULES),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
    )


@contextlib.contextmanager
def _linker(db_api: Any, orphans: pa.Table, residents: pa.Table, model: Any) -> Iterator[Linker]:
    # Unique table names, dropped afterwards: a long-lived backend (one Spark session serving
    # many batches) still holds the tables of earlier calls, and Splink refuses a name twice.
    # The display names stay "orphans" and "residents" (predict reads them back).
    tag = uuid.uuid4().hex[:12]
    names = (f"orphans_{tag}", f"residents_{tag}")
    left = db_api.register(orphans, dataset_display_name="orphans", table_name=names[0])
    right = db_api.register(residents, dataset_display_name="residents", table_name=names[1])
    try:
        yield Linker([left, right], model, log_level="WARNING")
    finally:
        for name in names:
            db_api.delete_table_from_database(name)


def train(
    db_api: Any,
    orphans: pa.Table,
    residents: pa.Table,
    *,
    seed: int = 2007,
    u_pairs: float = 5e6,
    em_pairs: float = 2e6,
) -> dict[str, Any]:
    """Estimate the model on these records with Splink's own estimators; the trained
    settings (JSON-serialisable) come back for :func:`predict` and for saving."""
    if orphans.num_rows == 0 or residents.num_rows == 0:
        raise errors.InvalidInput("training needs orphan records and residents")
    with _linker(db_api, orphans, residents, settings()) as linker:
        linker.training.estimate_probability_two_random_records_match(
            ["l.surname_key = r.surname_key AND l.given_key = r.given_key AND l.dob = r.dob"],
            recall=0.6,
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("dob"), max_pairs=em_pairs
        )
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("surname_key", "given_key", "prefecture", "name_kanji"), max_pairs=em_pairs
        )
        trained: dict[str, Any] = linker.misc.save_model_to_json()
    return trained


def in_dialect(model: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The trained model as SQL for ``dialect`` (``duckdb``, ``spark``): the comparisons and
    blocking rules rendered afresh from :func:`settings`, the trained m, u and prior copied in.

    The saved SQL cannot simply be re-labelled: DuckDB quotes identifiers with ``"``, which
    Spark SQL reads as string literals (every such level would compare two constants). One
    source — :func:`settings` — serves every backend; a model whose comparisons or levels no
    longer match it is refused.
    """
    fresh = settings().create_settings_dict(dialect)
    trained = {c["output_column_name"]: c for c in model["comparisons"]}
    for comparison in fresh["comparisons"]:
        name = comparison["output_column_name"]
        old = trained.get(name)
        labels = [lv["label_for_charts"] for lv in comparison["comparison_levels"]]
        if old is None or [lv["label_for_charts"] for lv in old["comparison_levels"]] != labels:
            raise errors.FailedPrecondition(
                f"the trained model's comparison {name!r} does not match linkage.settings(); "
                "retrain it with scripts/train_reconcile_model.py"
            )
        for level, was in zip(
            comparison["comparison_levels"], old["comparison_levels"], strict=True
        ):
            for key in ("m_probability", "u_probability"):
                if key in was:
                    level[key] = was[key]
    if len(trained) != len(fresh["comparisons"]):
        raise errors.FailedPrecondition(
            "the trained model has comparisons linkage.settings() lacks; "
            "retrain it with scripts/train_reconcile_model.py"
        )
    fresh["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    fresh["sql_dialect"] = dialect
    return fresh


def _level_weights(model: dict[str, Any]) -> dict[str, list[float]]:
    """Per comparison, the match weight (log2 m/u) of each non-null level, best level first."""
    weights: dict[str, list[float]] = {}
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        weights[comparison["output_column_name"]] = [
            math.log2(lv["m_probability"] / lv["u_probability"]) for lv in levels
        ]
    return weights


def _agreeing(row: dict[str, Any], weights: dict[str, list[float]]) -> tuple[str, ...]:
    agreed = []
    for name, levels in weights.items():
        weight = row.get(f"mw_{name}")
        if weight is None or float(weight) <= 0:
            continue
        level = min(range(len(levels)), key=lambda i: abs(levels[i] - float(weight)))
        agreed.append(name if level == 0 else f"{name}~")
    return tuple(agreed)


def predict(
    db_api: Any,
    model: dict[str, Any],
    orphans: pa.Table,
    residents: pa.Table,
    *,
    threshold: float = 0.5,
    written_share: float | None = None,
) -> list[Candidate]:
    """Candidates whose record-level probability is at least ``threshold``, best first.

    Splink scores each pair on its own. A record, though, was written by at most one
    resident: with prior ``pi`` that it was written by some resident (``lambda`` times the
    number of residents, both from the trained model) and pairwise posterior odds ``o_j``
    for every candidate ``j`` of the record, the probability that ``j`` wrote it is
    ``o_j / ((1 - pi) + sum(o_k))``. One strong candidate rises; two alike share it.
    ``written_share`` gives ``pi`` from the training run instead (a small batch against
    another population): ``lambda`` then becomes ``pi`` over the number of residents.

    ``agreeing`` names each comparison whose level is evidence for the match (positive
    weight): plain at its best level, with ``~`` at a partial one (``birth_date~`` for an
    era slip, ``surname~`` for one edit apart).
    """
    if orphans.num_rows == 0 or residents.num_rows == 0:
        return []
    model = in_dialect(model, db_api.sql_dialect.sql_dialect_str)
    if written_share is not None:
        model["probability_two_random_records_match"] = written_share / residents.num_rows
    weights = _level_weights(model)
    # only the columns read below leave the engine (the intermediate columns are many, and a
    # million-record run returns millions of pairs)
    wanted = ["source_dataset_l", "unique_id_l", "unique_id_r", "match_weight"]
    wanted += [f"mw_{name}" for name in weights]
    # the names come from settings() (in_dialect re-rendered them), not from any input
    assert all(name.isidentifier() for name in wanted)
    with _linker(db_api, orphans, residents, model) as linker:
        predicted = linker.inference.predict(
            threshold_match_weight=MIN_WEIGHT, warning_mode="never"
        )
        scored = linker.misc.query_sql(
            f"SELECT {', '.join(wanted)} FROM {predicted.physical_name}"  # noqa: S608
        ).as_record_list()
    prior = min(0.99, float(model["probability_two_random_records_match"]) * residents.num_rows)
    by_record: dict[str, list[tuple[str, float, dict[str, Any]]]] = {}
    for row in scored:
        orphan_left = row["source_dataset_l"] == "orphans"
        record = str(row["unique_id_l"] if orphan_left else row["unique_id_r"])
        resident = str(row["unique_id_r"] if orphan_left else row["unique_id_l"])
        odds = 2.0 ** min(float(row["match_weight"]), 60.0)
        by_record.setdefault(record, []).append((resident, odds, row))
    out: list[Candidate] = []
    for record, pairs in sorted(by_record.items()):
        total = (1.0 - prior) + sum(odds for _, odds, _ in pairs)
        ranked = sorted(pairs, key=lambda p: -p[1])
        for resident, odds, row in ranked:
            probability = odds / total
            if probability >= threshold:
                out.append(Candidate(record, resident, probability, _agreeing(row, weights)))
    return out


def exact_baseline(orphans: pa.Table, residents: pa.Table) -> dict[str, list[str]]:
    """The deterministic baseline: kana name and birth date exactly as written."""
    key = ("surname_kana", "given_kana", "dob")
    index: dict[tuple[Any, ...], list[str]] = {}
    for row in residents.select(["unique_id", *key]).to_pylist():
        if all(row[k] is not None for k in key):
            index.setdefault(tuple(row[k] for k in key), []).append(str(row["unique_id"]))
    found: dict[str, list[str]] = {}
    for row in orphans.select(["unique_id", *key]).to_pylist():
        hits = index.get(tuple(row[k] for k in key))
        if hits and all(row[k] is not None for k in key):
            found[str(row["unique_id"])] = hits
    return found


def name_similarity(a: str, b: str) -> float:
    """Jaro–Winkler similarity (0..1) of two names' phonetic keys, for the review queue."""
    return float(JaroWinkler.similarity(kana_key(a), kana_key(b)))


def era_written(birth_date: str) -> str:
    """A resident's ISO birth date as an era date (for tests and fixtures)."""
    return format_era(dt.date.fromisoformat(birth_date))
