"""The registry's record-linkage model (services.registry.linkage) is trained and scores right.

The model is trained by Splink's own estimators on synthetic residents and orphan records,
then scores a small fixed set of records written for known residents — clean, with an era
slip, with kana variants and day and month swapped, under a maiden name — and a decoy written
by nobody: each record's best candidate is its writer, and the decoy finds no one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from splink import DuckDBAPI

from mynumber_core.japanese import format_era, to_era
from mynumber_dev.demo import DemoResident, generate_residents
from mynumber_dev.orphans import make_orphans, prefecture_of
from services.registry import linkage


def _resident_facts(residents: list[DemoResident]) -> list[linkage.ResidentFacts]:
    return [
        linkage.ResidentFacts(
            f"R{i}",
            r.name_kana,
            None if r.foreign else r.name,
            r.birth_date,
            r.sex,
            prefecture_of(r.address),
        )
        for i, r in enumerate(residents)
    ]


@pytest.fixture(scope="module")
def trained() -> tuple[dict[str, Any], list[DemoResident]]:
    residents = generate_residents(4000, seed=21)
    orphans = make_orphans(residents, 2000, seed=22)
    model = linkage.train(
        DuckDBAPI(),
        linkage.orphan_frame(
            linkage.OrphanFacts(
                o.record_id, o.name_kana, o.name_kanji, o.birth_date_written, o.sex, o.prefecture
            )
            for o in orphans
        ),
        linkage.resident_frame(_resident_facts(residents)),
        u_pairs=1e6,
    )
    return model, residents


def test_every_level_has_trained_m_and_u(
    trained: tuple[dict[str, Any], list[DemoResident]],
) -> None:
    model, _ = trained
    assert 0 < model["probability_two_random_records_match"] < 0.01
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            assert 0 < level["u_probability"] < 1, (comparison["output_column_name"], level)
            assert 0 < level["m_probability"] <= 1, (comparison["output_column_name"], level)
    dates = next(c for c in model["comparisons"] if c["output_column_name"] == "birth_date")
    exact = dates["comparison_levels"][1]
    # EM moved the starting point (0.8) and the exact date is strong evidence
    assert exact["m_probability"] != 0.8
    assert exact["m_probability"] / exact["u_probability"] > 1000


def _pick(residents: list[DemoResident], rule: Any) -> tuple[int, DemoResident]:
    return next((i, r) for i, r in enumerate(residents) if rule(r))


def test_a_fixed_set_is_scored_correctly(
    trained: tuple[dict[str, Any], list[DemoResident]],
) -> None:
    model, residents = trained
    born = dt.date.fromisoformat

    def adult(r: DemoResident) -> bool:
        return not r.foreign and born(r.birth_date).year < 1980

    i_clean, clean = _pick(residents, adult)
    i_slip, slip = _pick(
        residents, lambda r: adult(r) and to_era(born(r.birth_date))[0] == "昭和" and r is not clean
    )
    i_swap, swap = _pick(
        residents,
        lambda r: (
            adult(r)
            and born(r.birth_date).day <= 12
            and born(r.birth_date).day != born(r.birth_date).month
            and "ウ" in r.name_kana
            and r not in (clean, slip)
        ),
    )
    i_wife, wife = _pick(
        residents, lambda r: adult(r) and r.sex == "female" and r not in (clean, slip, swap)
    )
    era, year = to_era(born(slip.birth_date))
    d = born(swap.birth_date)
    swap_era, swap_year = to_era(d)
    others = sorted({r.name_kana.split()[0] for r in residents} - {wife.name_kana.split()[0]})
    records = [
        linkage.OrphanFacts(
            "clean",
            clean.name_kana,
            clean.name,
            format_era(born(clean.birth_date)),
            clean.sex,
            prefecture_of(clean.address),
        ),
        linkage.OrphanFacts(
            "slip",
            slip.name_kana,
            None,
            f"平成{year}年{born(slip.birth_date).month}月{born(slip.birth_date).day}日",
            slip.sex,
            None,
        ),
        linkage.OrphanFacts(
            "swap",
            swap.name_kana.replace("ウ", "ー", 1),
            None,
            f"{swap_era}{swap_year}年{d.day}月{d.month}日",
            swap.sex,
            prefecture_of(swap.address),
        ),
        linkage.OrphanFacts(
            "maiden",
            f"{others[0]} {wife.name_kana.split()[1]}",
            None,
            format_era(born(wife.birth_date)),
            "female",
            prefecture_of(wife.address),
        ),
        linkage.OrphanFacts(
            "decoy", "ズンダ モチコ", "寿舞 餅子", "昭和25年1月1日", "female", "沖縄県"
        ),
    ]
    assert era == "昭和"
    found = linkage.predict(
        DuckDBAPI(),
        model,
        linkage.orphan_frame(records),
        linkage.resident_frame(_resident_facts(residents)),
        threshold=0.01,
    )
    best: dict[str, linkage.Candidate] = {}
    for candidate in found:
        best.setdefault(candidate.record_id, candidate)
    expected = {"clean": i_clean, "slip": i_slip, "swap": i_swap, "maiden": i_wife}
    for record, index in expected.items():
        assert best[record].resident_id == f"R{index}", record
        assert best[record].match_probability >= 0.5, (record, best[record])
    assert best["clean"].match_probability >= linkage.DEFAULT_THRESHOLD
    assert set(best["clean"].agreeing) >= {
        "surname",
        "given_name",
        "name_kanji",
        "birth_date",
        "sex",
    }
    assert "birth_date~" in best["slip"].agreeing
    assert "given_name" in best["maiden"].agreeing and "surname" not in best["maiden"].agreeing
    assert "decoy" not in best


def test_the_exact_baseline_needs_name_and_date_as_written() -> None:
    residents = [
        linkage.ResidentFacts("R1", "サトウ ユウコ", None, "1970-03-12", "female", None),
        linkage.ResidentFacts("R2", "サトウ ユウコ", None, "1971-03-12", "female", None),
    ]
    records = [
        linkage.OrphanFacts("a", "サトウ ユウコ", None, "昭和45年3月12日", "female", None),
        linkage.OrphanFacts("b", "サトー ユウコ", None, "昭和45年3月12日", "female", None),
        linkage.OrphanFacts("c", "サトウ ユウコ", None, "平成45年3月12日", "female", None),
    ]
    found = linkage.exact_baseline(linkage.orphan_frame(records), linkage.resident_frame(residents))
    assert found == {"a": ["R1"]}


def test_unreadable_dates_leave_the_date_columns_empty() -> None:
    frame = linkage.orphan_frame(
        [
            linkage.OrphanFacts("x", "ヤマダ タロウ", None, "1970/3/12", "male", None),
            linkage.OrphanFacts("y", "ヤマダ タロウ", None, "昭和45年2月30日", "male", None),
        ]
    ).to_pylist()
    assert frame[0]["dob"] is None and frame[0]["era_ymd"] is None
    assert frame[1]["dob"] is None and frame[1]["era_ymd"] == "45-02-30"
    assert frame[0]["surname_key"] == "ヤマタ" and frame[0]["given_key"] == "タロ"


def test_the_trained_model_is_rendered_for_each_backend_from_one_source() -> None:
    from services.registry.reconcile import TrainedModel

    saved = TrainedModel.load().splink
    spark = linkage.in_dialect(saved, "spark")
    duck = linkage.in_dialect(saved, "duckdb")
    assert spark["sql_dialect"] == "spark" and duck["sql_dialect"] == "duckdb"
    for rendered in (spark, duck):
        assert (
            rendered["probability_two_random_records_match"]
            == saved["probability_two_random_records_match"]
        )
        for fresh, trained in zip(rendered["comparisons"], saved["comparisons"], strict=True):
            for level, was in zip(
                fresh["comparison_levels"], trained["comparison_levels"], strict=True
            ):
                assert level.get("m_probability") == was.get("m_probability")
                assert level.get("u_probability") == was.get("u_probability")
    # Spark SQL reads "x" as a string literal: identifiers must be back-quoted there
    spark_sql = [
        lv["sql_condition"] for c in spark["comparisons"] for lv in c["comparison_levels"]
    ] + [r["blocking_rule"] for r in spark["blocking_rules_to_generate_predictions"]]
    assert not any('"' in sql for sql in spark_sql)
    assert any("`surname_kana_l`" in sql for sql in spark_sql)


def test_a_model_that_no_longer_matches_the_comparisons_is_refused() -> None:
    import copy

    from mynumber_core import errors
    from services.registry.reconcile import TrainedModel

    saved = TrainedModel.load().splink
    fewer = copy.deepcopy(saved)
    del fewer["comparisons"][0]["comparison_levels"][2]
    with pytest.raises(errors.FailedPrecondition, match="retrain"):
        linkage.in_dialect(fewer, "duckdb")
    extra = copy.deepcopy(saved)
    extra["comparisons"].append(copy.deepcopy(saved["comparisons"][0]))
    extra["comparisons"][-1]["output_column_name"] = "nickname"
    with pytest.raises(errors.FailedPrecondition, match="retrain"):
        linkage.in_dialect(extra, "duckdb")


_WRONG_ERA = {"大正": "昭和", "昭和": "平成", "平成": "昭和", "令和": "平成"}


@given(day=st.dates(min_value=dt.date(1913, 1, 1), max_value=dt.date(2026, 12, 31)))
def test_an_era_slip_with_day_and_month_swapped_meets_the_residents_era_date(
    day: dt.date,
) -> None:
    era, year = to_era(day)
    written = f"{_WRONG_ERA[era]}{year}年{day.day}月{day.month}日"
    orphan = linkage.orphan_frame(
        [linkage.OrphanFacts("x", "ヤマダ ハナコ", None, written, "female", None)]
    ).to_pylist()[0]
    resident = linkage.resident_frame(
        [linkage.ResidentFacts("R", "ヤマダ ハナコ", None, day.isoformat(), "female", None)]
    ).to_pylist()[0]
    assert orphan["era_ymd"] != resident["era_ymd"] or day.day == day.month
    if day.day != day.month:
        # the written "month" is the true day; swapped back it is the resident's era date,
        # even when it read as a 13th month or later
        assert orphan["era_ymd_swapped"] == resident["era_ymd"]
    else:
        assert orphan["era_ymd_swapped"] is None
    if day.day <= 12 and day.day != day.month:
        assert resident["era_ymd_swapped"] == orphan["era_ymd"]
    else:
        assert resident["era_ymd_swapped"] is None


def test_one_backend_serves_batch_after_batch() -> None:
    # A long-lived backend (one Spark session, one DuckDB connection) keeps what earlier calls
    # registered: each call's tables have their own names and are dropped afterwards.
    from services.registry.reconcile import TrainedModel

    saved = TrainedModel.load()
    residents = linkage.resident_frame(
        [linkage.ResidentFacts("R1", "サトウ ユウコ", None, "1970-03-12", "female", None)]
    )
    api = DuckDBAPI()
    for record_id in ("first", "second"):
        written = linkage.OrphanFacts(
            record_id, "サトウ ユウコ", None, "昭和45年3月12日", "female", None
        )
        records = linkage.orphan_frame([written])
        found = linkage.predict(
            api,
            saved.splink,
            records,
            residents,
            threshold=0.5,
            written_share=saved.written_share,
        )
        assert [(c.record_id, c.resident_id) for c in found] == [(record_id, "R1")]
    leftovers = api._execute_sql_against_backend("SHOW TABLES").fetchall()
    assert not [t for (t,) in leftovers if t.startswith(("orphans_", "residents_"))]
