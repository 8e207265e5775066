"""Fixtures for the pension unit tests: a SQLite database and the shared fake registry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from mynumber_core.db import Database
from mynumber_core.keyring import FieldCipher, Keyring
from services.pension.models import CIPHER, Base
from services.pension.usecases import FormIdentity, PensionService
from tests.support.fake_registry import FakeRegistry

TODAY = dt.date(2026, 11, 26)
NUMBER = "123456789018"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    CIPHER.bind(FieldCipher(Keyring.generate(["data", "blind"])))
    database = Database.from_url(f"sqlite:///{tmp_path / 'pension.db'}")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def service(db: Database, registry: FakeRegistry) -> PensionService:
    return PensionService(db, registry, today=lambda: TODAY)


def identity(number: str = NUMBER, birth_date: str = "1990-05-17") -> FormIdentity:
    """A valid form identity (synthetic resident)."""
    return FormIdentity.parse(number, "山田 太郎", birth_date, "male", "東京都千代田区千代田1-1")
