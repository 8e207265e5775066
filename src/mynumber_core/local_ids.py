"""Issuing an agency's own identifier for a person once (basic pension number, taxpayer
reference number): the person's row if their token already has one, else a new row with a
freshly drawn number, retried when a concurrent enrolment or a number collision wins."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.db import Database


def issue_once(
    db: Database,
    *,
    existing: Callable[[Session], str | None],
    issue: Callable[[Session], str],
    raced: str,
    attempts: int = 3,
) -> tuple[str, bool]:
    """(number, already issued): ``existing`` finds the person's number, else ``issue`` adds
    the row and returns its new number, in one transaction; a unique-constraint clash tries
    again up to ``attempts`` times, then Conflict with the message ``raced``."""
    for _ in range(attempts):
        try:
            with db.transaction() as session:
                found = existing(session)
                if found is not None:
                    return found, True
                number = issue(session)
            return number, False
        except IntegrityError:
            continue  # a concurrent enrolment of the same person, or a number collision
    raise errors.Conflict(raced)
