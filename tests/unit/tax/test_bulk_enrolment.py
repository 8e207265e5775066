"""RegisterTaxpayers' use case over the shared fake registry: the registry is asked in
slices of at most 1,000 records, every form gets its own answer in order, a record the
registry refuses changes nothing, and registering again answers the same reference numbers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from mynumber_core import errors
from mynumber_core.db import Database
from mynumber_core.facts import BasicFacts
from mynumber_core.mynumber import check_digit
from mynumber_core.registry_records import LinkOutcome
from services.tax.models import Taxpayer
from services.tax.usecases import TaxService
from services.tax.usecases.bulk_enrolment import LINK_SLICE, RawForm, Registered
from tests.support.fake_registry import FakeRegistry


def _number(i: int) -> str:
    body = f"{30_000_000_000 + i:011d}"
    return body + str(check_digit(body))


def _form(i: int) -> RawForm:
    return RawForm(_number(i), f"佐藤 花子{i}", "1985-02-03", "female", f"横浜市中区本町6-{i}")


class CountingRegistry(FakeRegistry):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def link_many(self, records: Sequence[tuple[str, BasicFacts]]) -> list[LinkOutcome]:
        self.calls.append(len(records))
        return super().link_many(records)


def _rows(db: Database) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Taxpayer)) or 0)


def test_bulk_registration_in_slices_with_an_answer_per_form(db: Database) -> None:
    registry = CountingRegistry()
    service = TaxService(db, registry)
    forms = [_form(i) for i in range(LINK_SLICE * 2 + 5)]
    forms[3] = RawForm("12345", "佐藤 花子", "1985-02-03", "female", "横浜市")
    registry.unlinkable.add(forms[7].my_number)
    answers = service.register_many(forms)

    assert registry.calls == [LINK_SLICE, LINK_SLICE, 4]  # the malformed one never left
    assert len(answers) == len(forms)
    bad, refused = answers[3], answers[7]
    assert isinstance(bad, errors.InvalidInput) and bad.message.startswith("record 3: ")
    assert isinstance(refused, errors.NotFound) and refused.message.startswith("record 7: ")
    good = [a for a in answers if isinstance(a, Registered)]
    assert len(good) == len(forms) - 2 and not any(a.already for a in good)
    assert len({a.reference_number for a in good}) == len(good)
    assert _rows(db) == len(good)

    again = service.register_many(forms[:10])
    assert [a.reference_number for a in again if isinstance(a, Registered)] == [
        a.reference_number for a in answers[:10] if isinstance(a, Registered)
    ]
    assert all(a.already for a in again if isinstance(a, Registered))
    assert _rows(db) == len(good)
