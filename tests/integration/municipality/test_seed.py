"""The demo seeding module registers every demo resident through the real API, once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from mynumber_core.db import Database
from mynumber_core.mynumber import is_valid
from mynumber_dev.demo import generate_residents
from mynumber_dev.seed_municipality import seed
from services.municipality import models
from tests.support.stack import Stack


def test_seed_registers_every_resident_once(tmp_path: Path, backend: Callable[[str], str]) -> None:
    residents = generate_residents(30)
    with Stack(tmp_path, ["registry", "municipality"], database=backend) as stack:
        channel = stack.channel("municipality", as_identity="operator")
        seed(channel, residents)
        numbers = [r.my_number for r in residents]
        assert all(is_valid(n) for n in numbers) and len(set(numbers)) == len(residents)
        seed(channel, residents)  # idempotent: the same numbers, nobody registered twice
        assert [r.my_number for r in residents] == numbers
        db = Database.from_url(backend("municipality"))
        try:
            with db.transaction() as session:
                count = session.scalar(select(func.count()).select_from(models.Resident))
                households = session.scalar(select(func.count()).select_from(models.Household))
                disasters = session.scalar(select(func.count()).select_from(models.Disaster))
        finally:
            db.dispose()
    assert count == len(residents)
    assert households == len({r.household for r in residents})
    assert disasters == 1
