"""Care flags: disability grade, chronic-care needs and evacuation assistance, which the
municipality's disaster support list reads through the ``care_flags`` item."""

from __future__ import annotations

import json
from collections.abc import Sequence

from services.health import domain
from services.health.domain import CareFlags, ChronicCare
from services.health.models import CareFlagsRow
from services.health.usecases import records
from services.health.usecases.context import Context


class CareFlagsRecords:
    """Replace a person's care flags."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def set_care_flags(
        self,
        token: str,
        disability_grade: int,
        chronic_care: Sequence[ChronicCare],
        needs_evacuation_assistance: bool,
    ) -> CareFlags:
        """Replace the person's care flags."""
        ctx = self._ctx
        token = domain.check_token(token)
        flags = CareFlags.build(disability_grade, chronic_care, needs_evacuation_assistance)
        document = json.dumps(flags.as_item(), sort_keys=True)
        with ctx.db.transaction() as session:
            insured = records.insured_by_token(session, token)
            row = session.get(CareFlagsRow, insured.id)
            if row is None:
                session.add(
                    CareFlagsRow(insured_id=insured.id, flags=document, updated_at=ctx.clock())
                )
            else:
                row.flags = document
                row.updated_at = ctx.clock()
        return flags
