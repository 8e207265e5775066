"""Letters to a resident's old address: queued by every address change, listed for clerks.

If someone else changed the address, the real resident still hears of it at the old one
(the SSN lesson).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.municipality import domain
from services.municipality.models import Letter, Resident
from services.municipality.usecases import records
from services.municipality.usecases.context import Context


@dataclass(frozen=True)
class LetterView:
    """A letter queued for a resident's old address."""

    id: str
    kind: str
    address: str
    created_at: str


def queue_letter_to_old_address(ctx: Context, session: Session, row: Resident) -> None:
    """Queue a notice to the address the resident is leaving (call before changing it)."""
    session.add(
        Letter(
            id=uuid.uuid4().hex,
            address_number=row.address_number,
            kind="address_change_notice",
            address=row.address,
            created_at=ctx.clock(),
        )
    )


class Letters:
    """The clerks' list of letters owed to old addresses."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def letters(self, address_number: str) -> list[LetterView]:
        """Letters owed to a resident's old addresses, newest first."""
        number = domain.parse_address_number(address_number)
        with self._ctx.db.transaction() as session:
            records.resident(session, number)
            rows = session.scalars(
                select(Letter)
                .where(Letter.address_number == number)
                .order_by(Letter.created_at.desc())
            ).all()
            return [LetterView(r.id, r.kind, r.address, r.created_at.isoformat()) for r in rows]
