"""The bulk-enrolment helpers' validators, over arbitrary input (hypothesis): a repeated
number is refused at each later position and only there, naming the first; record errors
name the call's position (replacing a slice's) and keep their class; an oversized call is
refused; and the municipality's EnrolResidents answers any mix of junk records one by one,
each malformed one by its position, without writing a row or asking the registry; so does
the insurer's EnrolMembers (a record carrying an idempotency key is malformed there)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mynumber_core import bulk_link, errors
from mynumber_core.db import Database
from mynumber_core.facts import BasicFacts
from mynumber_core.keyring import BlindIndex, FieldCipher, Keyring
from mynumber_core.migrations import upgrade
from mynumber_core.mynumber import check_digit
from mynumber_core.registry_records import LinkOutcome
from services.health.domain import IncomeCategory, PlanType
from services.health.models import CIPHER as HEALTH_CIPHER
from services.health.models import Coverage
from services.health.usecases.bulk_enrolment import BulkEnrolment as MemberEnrolment
from services.health.usecases.context import Context as HealthContext
from services.health.usecases.enrolment import EnrolCommand
from services.municipality.domain import ResidentForm
from services.municipality.models import Resident, cipher
from services.municipality.usecases.bulk_enrolment import BulkEnrolment
from services.municipality.usecases.context import Context
from tests.support.fake_registry import FakeRegistry

NUMBERS = st.sampled_from(
    [f"{n:011d}" + str(check_digit(f"{n:011d}")) for n in (1, 2, 3, 12_345_678_901)]
)


@given(st.lists(NUMBERS, max_size=30))
def test_repeats_refuse_each_later_copy_naming_the_first(numbers: list[str]) -> None:
    refused = bulk_link.repeats(list(enumerate(numbers)))
    first: dict[str, int] = {}
    for i, number in enumerate(numbers):
        if number in first:
            assert refused[i].message.startswith(f"record {i}: ")
            assert f"already in record {first[number]}" in refused[i].message
            assert number not in refused[i].message
        else:
            assert i not in refused
            first[number] = i


@given(
    st.integers(min_value=0, max_value=20_000),
    st.integers(min_value=0, max_value=20_000),
    st.sampled_from([errors.InvalidInput, errors.NotFound, errors.FailedPrecondition]),
    st.text(max_size=40),
)
def test_record_errors_name_one_position(
    i: int, earlier: int, kind: type[errors.DomainError], text: str
) -> None:
    once = bulk_link.record_error(earlier, kind(text))
    again = bulk_link.record_error(i, once)  # a registry slice's position is replaced
    assert type(again) is kind
    assert again.message == f"record {i}: {text}"


@given(st.integers(min_value=0, max_value=30_000))
def test_size_limit(count: int) -> None:
    if count > bulk_link.MAX_RECORDS:
        with pytest.raises(errors.InvalidInput):
            bulk_link.check_size(count, "EnrolResidents")
    else:
        bulk_link.check_size(count, "EnrolResidents")


class _NoRegistry(FakeRegistry):
    def link_many(self, records: Sequence[tuple[str, BasicFacts]]) -> list[LinkOutcome]:
        if records:
            raise AssertionError("a malformed record reached the registry")
        return []


@pytest.fixture(scope="module")
def bulk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BulkEnrolment, Database]]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('bulk')) / 'municipality.db'}"
    upgrade("municipality", url)
    db = Database.from_url(url)
    keyring = Keyring.generate(["data", "blind"])
    cipher.bind(FieldCipher(keyring))
    ctx = Context(db, _NoRegistry(), BlindIndex(keyring), today=lambda: dt.date(2025, 6, 1))
    yield BulkEnrolment(ctx), db
    db.dispose()


JUNK = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
FORMS = st.builds(
    ResidentForm,
    name=JUNK,
    name_kana=JUNK,
    birth_date=st.sampled_from(["", "2099-01-01", "1990-02-30", "x"]),
    sex=st.sampled_from(["male", "female", "", "other"]),
    address=JUNK,
    resident_type=st.sampled_from(["citizen", "foreign", ""]),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(JUNK, FORMS), max_size=8))
def test_enrol_residents_answers_malformed_records_one_by_one(
    bulk: tuple[BulkEnrolment, Database], records: list[tuple[str, ResidentForm]]
) -> None:
    service, db = bulk
    answers = service.enrol_many(records)
    assert len(answers) == len(records)
    for i, answer in enumerate(answers):
        assert isinstance(answer, errors.InvalidInput)
        assert answer.message.startswith(f"record {i}: ")
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Resident)) == 0


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MemberEnrolment, Database]]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('bulk')) / 'health.db'}"
    upgrade("health", url)
    db = Database.from_url(url)
    keyring = Keyring.generate(["data", "blind"])
    HEALTH_CIPHER.bind(FieldCipher(keyring))
    ctx = HealthContext(db, BlindIndex(keyring), _NoRegistry(), today=lambda: dt.date(2025, 6, 1))
    yield MemberEnrolment(ctx), db
    db.dispose()


COMMANDS = st.builds(
    EnrolCommand,
    my_number=JUNK,
    name=JUNK,
    birth_date=st.sampled_from(["", "1990-02-30", "x", "1980-01-01"]),
    sex=st.sampled_from(["male", "female", ""]),
    address=JUNK,
    insurer_number=st.sampled_from(["", "123", "04201x"]),
    plan=st.sampled_from(list(PlanType)),
    symbol=JUNK,
    number=JUNK,
    branch=JUNK,
    valid_from=st.sampled_from(["", "2020-04-01", "2020-13-01"]),
    valid_to=st.sampled_from(["", "2019-01-01"]),
    income=st.sampled_from(list(IncomeCategory)),
    idempotency_key=st.sampled_from(["", "a" * 32]),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(COMMANDS, max_size=8))
def test_enrol_members_answers_malformed_records_one_by_one(
    members: tuple[MemberEnrolment, Database], commands: list[EnrolCommand]
) -> None:
    service, db = members
    answers = service.enrol_many(commands)
    assert len(answers) == len(commands)
    for i, answer in enumerate(answers):
        assert isinstance(answer, errors.InvalidInput)
        assert answer.message.startswith(f"record {i}: ")
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Coverage)) == 0
