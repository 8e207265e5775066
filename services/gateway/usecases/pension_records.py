"""Pension records that may be the resident's (issue 13 item 3): list them and decide.

Pension proposes a formerly orphaned contribution record to the resident it likely belongs
to (a notice and an inbox document arrive through the hub). Here the resident:

- **lists** their candidate records: an exchange through the hub (portal → pension, item
  ``candidate_records``, procedure ``pension.record_reconciliation``), so it is on /log;
  pension answers for the asking resident's token only, with the period, the employer and
  the months — nothing of the record's name, birth date or sex;
- **decides** (``confirm`` or ``reject``) with a fresh card signature over exactly the
  record and the decision (step-up action ``pension_record_decision``). A record that is
  not waiting for this resident's decision is NOT_FOUND (another resident's record looks
  exactly like one that does not exist) and nothing is signed away or sent. The decision
  goes to pension as a ``pension_record.decision`` event through the hub; pension merges or
  returns the record to the pool and writes the outcome to the inbox.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mynumber_core import errors
from mynumber_core.outbox import enqueue
from services.gateway.models import OutboxEvent
from services.gateway.usecases.context import PortalContext, request_id

if TYPE_CHECKING:
    from services.gateway.usecases.auth import Auth, SessionInfo, StepUpProof

PROCEDURE = "pension.record_reconciliation"
ITEM = "candidate_records"
EVENT = "pension_record.decision"
ACTION = "pension_record_decision"
DECISIONS = ("confirm", "reject")
WAITING = "notified"
"""The status of a record waiting for the resident's decision."""
_RECORD_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def parse_record_id(value: Any) -> str:
    """A pension record number as the notice shows it (1-32 letters, digits, '_' or '-')."""
    if not isinstance(value, str) or not _RECORD_ID.fullmatch(value):
        raise errors.InvalidInput(
            "record_id must be 1-32 letters, digits, '_' or '-' (the record number the "
            "notice shows)"
        )
    return value


def parse_decision(value: Any) -> str:
    """``confirm`` (it is my record) or ``reject`` (it is not)."""
    if value not in DECISIONS:
        raise errors.InvalidInput(
            "decision must be 'confirm' (the record is yours) or 'reject' (it is not)"
        )
    return str(value)


def decision_fields(raw: dict[str, Any]) -> dict[str, str]:
    """The exact values a ``pension_record_decision`` card signature covers."""
    return {
        "record_id": parse_record_id(raw.get("record_id")),
        "decision": parse_decision(raw.get("decision")),
    }


class PensionRecords:
    """The resident's candidate pension records and their card-signed decisions."""

    def __init__(self, ctx: PortalContext, auth: Auth) -> None:
        self._ctx = ctx
        self._auth = auth

    def records(self, sess: SessionInfo) -> list[dict[str, Any]]:
        """The resident's candidate records, asked of pension through the hub (none when
        pension does not know the resident at all: no link, so no candidate either)."""
        try:
            answer = self._ctx.registry.query(
                sess.token, "pension", ITEM, PROCEDURE, request_id(), acting=sess.acting()
            )
        except errors.NotFound:
            return []
        records = answer.get("records")
        if not isinstance(records, list):
            raise errors.Unavailable("pension answered candidate_records without records")
        return [dict(r) for r in records if isinstance(r, dict)]

    def decide(
        self, sess: SessionInfo, raw: dict[str, Any], proof: StepUpProof | None
    ) -> dict[str, Any]:
        """Send the resident's card-signed decision on one of their waiting records; returns
        the record as it was shown, with the decision sent."""
        fields = decision_fields(raw)
        record = next(
            (r for r in self.records(sess) if r.get("record_id") == fields["record_id"]), None
        )
        if record is None or record.get("status") != WAITING:
            raise errors.NotFound(
                "no such pension record is waiting for your decision; see GET /api/pension/records"
            )
        evidence = self._auth.consume_step_up(sess, proof, ACTION, fields)
        # The registry delivers the decision only under an event id it authorised for this
        # resident's grant and card step-up (services/registry/resident_acts.py).
        authorised = self._ctx.registry.authorise_event(
            sess.token, EVENT, PROCEDURE, acting=sess.acting(evidence)
        )
        with self._ctx.db.transaction() as session:
            enqueue(
                session,
                OutboxEvent,
                event_type=EVENT,
                token=sess.token,
                procedure=PROCEDURE,
                payload=fields,
                event_id=authorised,
            )
        self._ctx.wake_outbox()
        return {**record, "decision": fields["decision"], "status": "decision_sent"}
