"""Fixtures for the tax unit tests: a SQLite database and a fake registry client."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mynumber_core import errors
from mynumber_core.db import Database
from mynumber_core.facts import BasicFacts, FormIdentity
from mynumber_core.keyring import FieldCipher, Keyring
from mynumber_core.registry_client import RegistryClient
from services.tax.models import CIPHER, Base
from services.tax.usecases import TaxService

TODAY = dt.date(2026, 11, 26)
NUMBER = "111222333446"


class FakeTaxRegistry(RegistryClient):
    """Answers link/query from tables; records every call."""

    def __init__(self) -> None:  # no channels: nothing leaves the process
        self.answers: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any]]] = {}
        self.queries: list[dict[str, Any]] = []

    def link(self, my_number: str, facts: BasicFacts) -> str:
        return "tok-" + hashlib.sha256(my_number.encode()).hexdigest()[:16]

    def query(
        self,
        token: str,
        provider: str,
        item: str,
        procedure: str,
        request_id: str,
        params: Any = None,
    ) -> dict[str, Any]:
        call = {
            "provider": provider,
            "item": item,
            "procedure": procedure,
            "request_id": request_id,
            "params": dict(params or {}),
        }
        self.queries.append(call)
        answer = self.answers.get((provider, item))
        if answer is None:
            raise errors.NotFound(f"registry: {provider}: no {item}")
        return answer(call)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    CIPHER.bind(FieldCipher(Keyring.generate(["data", "blind"])))
    database = Database.from_url(f"sqlite:///{tmp_path / 'tax.db'}")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def registry() -> FakeTaxRegistry:
    return FakeTaxRegistry()


@pytest.fixture
def service(db: Database, registry: FakeTaxRegistry) -> TaxService:
    return TaxService(db, registry, today=lambda: TODAY)


def identity(number: str = NUMBER) -> FormIdentity:
    """A valid form identity (synthetic resident)."""
    return FormIdentity.parse(number, "佐藤 花子", "1985-02-03", "female", "横浜市中区本町6-50")
