"""RecordIncomes' validation over arbitrary input (hypothesis): every record is answered in
order; a record with a bad field, an unknown reference number or a repeated taxpayer and year
is refused by its position and writes nothing; the valid ones are stored as RecordIncome would
store them."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mynumber_core import errors
from mynumber_core.facts import FormIdentity
from services.tax.models import IncomeYear, Taxpayer
from services.tax.usecases import IncomeView, TaxService
from services.tax.usecases.bulk_income import RawIncome
from tests.unit.tax.conftest import NUMBER, TODAY

AMOUNTS = st.one_of(st.integers(min_value=-10, max_value=10**7), st.just(10**15))
RECORDS = st.builds(
    RawIncome,
    reference_number=st.sampled_from(["known", "12345678", "", "x1234567"]),
    year=st.sampled_from([TODAY.year - 1, TODAY.year - 2, TODAY.year + 1, 1800]),
    salary=AMOUNTS,
    business=AMOUNTS,
    withholding=st.just(0),
    social_insurance=st.just(0),
)


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(RECORDS, max_size=10))
def test_each_record_is_answered_and_only_valid_ones_are_written(
    service: TaxService, records: list[RawIncome]
) -> None:
    with service.ctx.db.transaction() as session:
        ref = session.scalars(select(Taxpayer.reference_number)).first()
    if ref is None:
        ref, _ = service.register(
            FormIdentity.parse(NUMBER, "佐藤 花子", "1985-02-03", "female", "横浜市中区本町6-1")
        )
    records = [
        RawIncome(
            ref if r.reference_number == "known" else r.reference_number,
            r.year,
            r.salary,
            r.business,
            r.withholding,
            r.social_insurance,
        )
        for r in records
    ]
    with service.ctx.db.transaction() as session:
        before = {
            (row.year, row.salary, row.business)
            for row in session.scalars(select(IncomeYear)).all()
        }
    answers = service.record_incomes(records)
    assert len(answers) == len(records)
    stored: dict[int, tuple[int, int]] = {}
    seen: set[int] = set()
    for i, (record, answer) in enumerate(zip(records, answers, strict=True)):
        if isinstance(answer, IncomeView):
            assert record.reference_number == ref and record.year not in seen
            stored[record.year] = (record.salary, record.business)
        else:
            assert isinstance(answer, errors.InvalidInput | errors.NotFound)
            assert answer.message.startswith(f"record {i}: ")
        if record.reference_number == ref and isinstance(answer, IncomeView):
            seen.add(record.year)
    with service.ctx.db.transaction() as session:
        after = {
            row.year: (row.salary, row.business) for row in session.scalars(select(IncomeYear))
        }
    for year, figures in stored.items():
        assert after[year] == figures
    for year, salary, business in before:
        if year not in stored:
            assert after[year] == (salary, business)
