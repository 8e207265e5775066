"""Vaccinations (予防接種): record doses, and queue "vaccination due" notices for the portal
(transactional outbox)."""

from __future__ import annotations

import datetime as dt

from mynumber_core import errors
from mynumber_core.outbox import enqueue
from services.health import domain
from services.health.models import OutboxEvent, Vaccination
from services.health.usecases import records
from services.health.usecases.context import NOTICE_EVENT, NOTICE_PROCEDURE, Context


class Vaccinations:
    """Doses given and notices of doses due."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def record_vaccination(
        self, token: str, vaccine: str, dose: int, date: str, idempotency_key: str = ""
    ) -> str:
        """Record one dose; the date may not precede birth or lie in the future."""
        ctx = self._ctx
        token = domain.check_token(token)
        key = domain.check_idempotency_key(idempotency_key)
        code = domain.check_vaccine(vaccine)
        dose = domain.check_dose(dose)
        day = domain.parse_past_date("date", date, ctx.today())
        with ctx.db.transaction() as session:
            earlier = records.replayed(session, "vaccination", key)
            if earlier is not None:
                return earlier
            insured = records.insured_by_token(session, token)
            if day < dt.date.fromisoformat(insured.birth_date):
                raise errors.InvalidInput("date is before the person's birth date")
            row = Vaccination(
                id=records.new_id(),
                insured_id=insured.id,
                vaccine=code,
                dose=dose,
                administered_on=day,
                created_at=ctx.clock(),
            )
            session.add(row)
            records.remember(ctx, session, "vaccination", key, row.id)
            return row.id

    def notify_vaccination_due(
        self, token: str, vaccine: str, due_by: str, idempotency_key: str = ""
    ) -> str:
        """Queue a "vaccination due" notice for the portal (transactional outbox)."""
        ctx = self._ctx
        token = domain.check_token(token)
        key = domain.check_idempotency_key(idempotency_key)
        code = domain.check_vaccine(vaccine)
        due = domain.parse_date("due_by", due_by)
        if due < ctx.today():
            raise errors.InvalidInput("due_by is in the past; a notice announces a future date")
        with ctx.db.transaction() as session:
            earlier = records.replayed(session, "notice", key)
            if earlier is not None:
                return earlier
            records.insured_by_token(session, token)
            label = domain.VACCINE_NAMES[code]
            event_id = enqueue(
                session,
                OutboxEvent,
                event_type=NOTICE_EVENT,
                token=token,
                procedure=NOTICE_PROCEDURE,
                payload={
                    "category": "vaccination",
                    "title": f"予防接種のお知らせ（{label}）",
                    "body": (
                        f"{label}の接種時期です。{due.year}年{due.month}月{due.day}日までに"
                        "接種をご検討ください。"
                    ),
                    "vaccine": code,
                    "due_by": due.isoformat(),
                    "issuer": "health",
                },
            )
            records.remember(ctx, session, "notice", key, event_id)
        ctx.wake()
        return event_id
