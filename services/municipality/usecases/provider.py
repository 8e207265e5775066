"""What the municipality provides through the hub: items (basic facts, household, long-term
care) and the portal's move-out application event."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from mynumber_core.provider import DeliveredEvent, ProvideCall
from services.municipality import domain
from services.municipality.models import MoveOutNotice
from services.municipality.usecases import records
from services.municipality.usecases.context import Context


class ProviderItems:
    """Answers to other domains' queries, and events delivered to the municipality."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def provide_basic_facts(self, call: ProvideCall) -> Mapping[str, Any]:
        """Item ``basic_facts``: the four facts, kana, residence details and register status."""
        ctx = self._ctx
        with ctx.db.transaction() as session:
            row = records.by_token(session, call.token)
            form = records.form_of(row)
            data: dict[str, Any] = {
                "name": form.name,
                "name_kana": form.name_kana,
                "birth_date": form.birth_date,
                "sex": form.sex,
                "address": form.address,
                "resident_type": form.resident_type,
                "status": row.status,
                "status_date": row.status_date or "",
            }
            if form.resident_type == domain.ResidentType.FOREIGN:
                data.update(
                    nationality=form.nationality,
                    residence_status=form.residence_status,
                    period_of_stay_until=form.period_of_stay_until,
                )
            return data

    def provide_household(self, call: ProvideCall) -> Mapping[str, Any]:
        """Item ``household``: size and each member's relationship and birth year, no names."""
        ctx = self._ctx
        with ctx.db.transaction() as session:
            row = records.by_token(session, call.token)
            members = records.members(session, row.household_id)
            return {
                "household_id": row.household_id,
                "size": len(members),
                "relationship": row.relationship,
                "is_householder": row.relationship == domain.HOUSEHOLDER,
                "members": [
                    {
                        "relationship": m.relationship,
                        "birth_year": int(m.birth_date[:4]),
                        "is_subject": m.address_number == row.address_number,
                    }
                    for m in members
                ],
            }

    def provide_ltc(self, call: ProvideCall) -> Mapping[str, Any]:
        """Item ``ltc_certification``: the certification valid today, if any."""
        ctx = self._ctx
        with ctx.db.transaction() as session:
            row = records.by_token(session, call.token)
            certs = records.care_history(session, [row.address_number])[row.address_number]
        cert = domain.current_certification(certs, ctx.today())
        if cert is None:
            return {"certified": False}
        return {
            "certified": True,
            "level": cert.level.label,
            "needs_care": cert.level.needs_care,
            "certified_on": cert.certified_on.isoformat(),
            "valid_from": cert.valid_from.isoformat(),
            "valid_until": cert.valid_until.isoformat(),
        }

    def on_move_out_application(self, session: Session, event: DeliveredEvent) -> None:
        """Event ``application.move_out`` from the portal: record the notice for the clerk."""
        ctx = self._ctx
        row = records.by_token(session, event.token)
        payload = dict(event.payload)
        destination = str(payload.get("destination_address") or payload.get("destination") or "")
        planned = str(payload.get("effective_date") or payload.get("planned_date") or "")
        details = {"destination_address": destination[:200], "planned_date": planned[:10]}
        session.add(
            MoveOutNotice(
                id=event.event_id,
                address_number=row.address_number,
                details=json.dumps(details, ensure_ascii=False),
                status="received",
                received_at=ctx.clock(),
            )
        )
