"""Contribution months count each calendar month once: merged ledger records that overlap one
another or the months already on record (paid or exempt) do not count those months twice."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.pension.domain import month_of_fiscal_year, months_counted


def _period(first: int, length: int) -> tuple[str, str]:
    last = first + length - 1
    return f"{first // 12:04d}-{first % 12 + 1:02d}", f"{last // 12:04d}-{last % 12 + 1:02d}"


_RECORD = st.tuples(st.integers(1960 * 12, 1990 * 12), st.integers(1, 60), st.integers(0, 60))


@given(
    covered=st.sets(st.tuples(st.integers(1960, 1995), st.integers(1, 12)), max_size=40),
    records=st.lists(_RECORD, max_size=6),
)
def test_each_month_counts_once(
    covered: set[tuple[int, int]], records: list[tuple[int, int, int]]
) -> None:
    merged = []
    union = {y * 12 + m - 1 for y, m in covered}
    for first, length, paid in records:
        months = min(paid, length) or 1
        merged.append((*_period(first, length), months))
        union.update(range(first, first + length))
    total = months_counted(covered, merged)
    assert len(covered) <= total <= len(union)
    assert total <= len(covered) + sum(m for _, _, m in merged)
    # Records that touch nothing on record and nothing of each other add all their months.
    starts = [first for first, _, _ in records]
    disjoint = all(
        a + la <= b or b + lb <= a
        for i, (a, la, _) in enumerate(records)
        for (b, lb, _) in records[i + 1 :]
    ) and not any(y * 12 + m - 1 in range(f, f + ln) for y, m in covered for f, ln, _ in records)
    if disjoint and len(set(starts)) == len(starts):
        assert total == len(covered) + sum(m for _, _, m in merged)


def test_a_record_overlapping_receipts_and_another_record() -> None:
    # FY1988 April–June paid at the counter; two ledgers for 1988-04..1989-03 (12 months)
    # and 1989-01..1989-06 (6 months): 12 + 3 distinct months, not 3 + 12 + 6.
    on_record = [month_of_fiscal_year(1988, i) for i in (1, 2, 3)]
    merged = [("1988-04", "1989-03", 12), ("1989-01", "1989-06", 6)]
    assert months_counted(on_record, merged) == 15
    # Without overlap the months add up.
    assert months_counted([], [("1970-04", "1971-03", 12), ("1975-01", "1975-06", 6)]) == 18
