"""Fixtures for the tax unit tests: a SQLite database and the shared fake registry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from mynumber_core.db import Database
from mynumber_core.facts import FormIdentity
from mynumber_core.keyring import FieldCipher, Keyring
from services.tax.models import CIPHER, Base
from services.tax.usecases import TaxService
from tests.support.fake_registry import FakeRegistry

TODAY = dt.date(2026, 11, 26)
NUMBER = "111222333446"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    CIPHER.bind(FieldCipher(Keyring.generate(["data", "blind"])))
    database = Database.from_url(f"sqlite:///{tmp_path / 'tax.db'}")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def service(db: Database, registry: FakeRegistry) -> TaxService:
    return TaxService(db, registry, today=lambda: TODAY)


def identity(number: str = NUMBER) -> FormIdentity:
    """A valid form identity (synthetic resident)."""
    return FormIdentity.parse(number, "佐藤 花子", "1985-02-03", "female", "横浜市中区本町6-50")
