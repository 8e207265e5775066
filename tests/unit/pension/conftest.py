"""Fixtures for the pension unit tests: a SQLite database and a fake registry client."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mynumber_core import errors
from mynumber_core.db import Database
from mynumber_core.facts import BasicFacts
from mynumber_core.keyring import FieldCipher, Keyring
from mynumber_core.registry_client import RegistryClient
from services.pension.models import CIPHER, Base
from services.pension.usecases import FormIdentity, PensionService

TODAY = dt.date(2026, 11, 26)
NUMBER = "123456789018"


class FakeRegistry(RegistryClient):
    """Answers link/query/publish from tables; records every call."""

    def __init__(self) -> None:  # no channels: nothing leaves the process
        self.answers: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any]]] = {}
        self.queries: list[dict[str, Any]] = []
        self.links: list[str] = []
        self.published: list[dict[str, Any]] = []

    def link(self, my_number: str, facts: BasicFacts) -> str:
        self.links.append(my_number)
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
        call = dict(
            token=token,
            provider=provider,
            item=item,
            procedure=procedure,
            request_id=request_id,
            params=dict(params or {}),
        )
        self.queries.append(call)
        answer = self.answers.get((provider, item))
        if answer is None:
            raise errors.NotFound(f"registry: {provider}: no {item}")
        return answer(call)

    def publish(
        self,
        token: str,
        event_type: str,
        event_id: str,
        payload: Any,
        *,
        procedure: str,
        audience: Any = (),
    ) -> list[str]:
        self.published.append(dict(token=token, event_type=event_type, procedure=procedure))
        return list(audience)


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
