"""Long-term care (介護保険): record a certification and send the result notice to the portal."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from mynumber_core.outbox import enqueue
from services.municipality import domain
from services.municipality.models import CareCertificationRow, OutboxEvent
from services.municipality.usecases import records
from services.municipality.usecases.context import PROC_LTC, Context


@dataclass(frozen=True)
class CareView:
    """A certification as shown to the clerk."""

    address_number: str
    cert: domain.CareCertification


class LongTermCare:
    """Certifications of need for long-term care."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def certify_care(
        self,
        address_number: str,
        level: int,
        certified_on: str,
        valid_from: str,
        valid_until: str,
        idempotency_key: str,
    ) -> CareView:
        """Record a certification and send the result notice to the resident's portal."""
        ctx = self._ctx
        number = domain.parse_address_number(address_number)
        key = domain.parse_idempotency_key(idempotency_key)
        request = {
            "address_number": number,
            "level": level,
            "certified_on": certified_on,
            "valid_from": valid_from,
            "valid_until": valid_until,
        }
        try:
            with ctx.db.transaction() as session:
                row = records.resident(session, number)
                cert = domain.CareCertification.parse(
                    level,
                    certified_on,
                    valid_from,
                    valid_until,
                    birth_date=dt.date.fromisoformat(row.birth_date),
                    today=ctx.today(),
                )
                if records.replay(ctx, session, key, "care", request) is not None:
                    return CareView(number, cert)
                row = records.active(session, number)
                session.add(
                    CareCertificationRow(
                        id=uuid.uuid4().hex,
                        address_number=number,
                        details=records.cert_json(cert),
                        created_at=ctx.clock(),
                    )
                )
                enqueue(
                    session,
                    OutboxEvent,
                    event_type="notice",
                    token=row.token,
                    procedure=PROC_LTC,
                    payload={
                        "kind": "ltc_certification",
                        "title": "要介護認定等結果通知書",
                        "body": (
                            f"認定結果: {cert.level.label}(有効期間 {cert.valid_from.isoformat()}"
                            f" から {cert.valid_until.isoformat()} まで)"
                        ),
                        "level": cert.level.label,
                        "valid_from": cert.valid_from.isoformat(),
                        "valid_until": cert.valid_until.isoformat(),
                    },
                )
                records.remember(ctx, session, key, "care", request, {})
        except IntegrityError:
            # The same key raced in on another replica and committed first: its answer stands.
            if records.replay_winner(ctx, key, "care", request) is None:
                raise
            return CareView(number, cert)
        ctx.wake()
        return CareView(number, cert)
