"""The public-funds receipt account (公金受取口座): registering or changing it (holder-name
check against the municipality's record, card signature, a notice to the resident) and
confirming payouts to it with the card, which releases payouts agencies held.

Both go through the registry under the resident's grant and the card's step-up: a change is
recorded there as a salted commitment (the salt stays with the account and goes to paying
agencies in the ``payout_account`` item), a confirmation is an event the registry authorises.
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.clock import aware
from mynumber_core.outbox import enqueue
from mynumber_core.payout_attestation import SALT_BYTES, SALT_FIELD
from services.gateway import domain
from services.gateway.models import OutboxEvent, PayoutAccountRow
from services.gateway.usecases.context import PORTAL_SENDER, PortalContext, request_id
from services.gateway.usecases.inbox import add_notice

if TYPE_CHECKING:
    from services.gateway.usecases.auth import Auth, SessionInfo, StepUpProof
    from services.gateway.usecases.locks import Locks

ACCOUNT_PURPOSE = "payout-account"


class Payouts:
    """The resident's payout account."""

    def __init__(self, ctx: PortalContext, auth: Auth, locks: Locks) -> None:
        self._ctx = ctx
        self._auth = auth
        self._locks = locks

    def payout_account(self, sess: SessionInfo) -> dict[str, Any] | None:
        """The registered account (number masked) and its flags, or None."""
        with self._ctx.db.transaction() as session:
            row = session.get(PayoutAccountRow, sess.resident_id)
            if row is None:
                return None
            return account_view(session, row, masked=True)

    def _registered_kana(self, sess: SessionInfo) -> str:
        try:
            facts = self._ctx.registry.query(
                sess.token,
                "municipality",
                "basic_facts",
                domain.MY_INFORMATION_PROCEDURE,
                request_id(),
                acting=sess.acting(),
            )
        except errors.NotFound:
            raise errors.FailedPrecondition(
                "the municipality has no resident record to check the holder name against"
            ) from None
        return str(facts.get("name_kana") or "")

    def set_payout_account(
        self, sess: SessionInfo, raw: dict[str, Any], proof: StepUpProof | None
    ) -> dict[str, Any]:
        """Register or change the account after the holder-name check and a card signature."""
        account = domain.parse_payout_account(raw)
        self._locks.require_online_changes(sess)
        evidence = self._auth.consume_step_up(
            sess, proof, "change_payout_account", account.as_dict()
        )
        if not domain.holder_matches(account.holder_kana, self._registered_kana(sess)):
            raise errors.InvalidInput(
                "the account holder's name does not match your registered name (フリガナ); "
                "a public-funds account must be in your own name"
            )
        # The registry records a salted commitment to exactly what the card approved; paying
        # agencies pay only to an account that opens it (mynumber_core.payout_attestation).
        salt = secrets.token_bytes(SALT_BYTES)
        self._ctx.registry.record_payout_account(
            sess.token, account.as_dict(), salt, acting=sess.acting(evidence)
        )
        stored = {**account.as_dict(), SALT_FIELD: salt.hex()}
        now = self._ctx.clock()
        with self._ctx.db.transaction() as session:
            row = session.get(PayoutAccountRow, sess.resident_id)
            index = self._ctx.blind.index(ACCOUNT_PURPOSE, account.identity())
            if row is None:
                row = PayoutAccountRow(
                    resident_id=sess.resident_id,
                    details=json.dumps(stored, ensure_ascii=False),
                    account_index=index,
                    confirmed_with_card=True,
                    confirmed_at=now,
                    registered_at=now,
                    changed_at=now,
                )
                session.add(row)
            else:
                row.details = json.dumps(stored, ensure_ascii=False)
                row.account_index = index
                row.changed_at = now
                row.confirmed_with_card = True
                row.confirmed_at = now
            session.flush()
            add_notice(
                self._ctx,
                session,
                sess.resident_id,
                f"portal:payout:{uuid.uuid4().hex}",
                domain.Document(
                    "公金受取口座が登録・変更されました",
                    "Your public-funds receipt account was registered or changed",
                    "口座番号 "
                    + domain.mask_account_number(account.account_number)
                    + " が登録されました。心当たりがない場合はすぐにご連絡ください。",
                    "Account "
                    + domain.mask_account_number(account.account_number)
                    + " was registered. If this was not you, contact us at once.",
                    PORTAL_SENDER,
                    "payout_account",
                    "",
                ),
            )
            return account_view(session, row, masked=True)

    def confirm_payout(self, sess: SessionInfo, proof: StepUpProof | None) -> dict[str, Any]:
        """Confirm payouts to the registered account with a fresh card signature: agencies
        release payouts they held after an account or address change (``payout_confirmed``).

        The signature covers the account itself (bank, branch, account number): one made
        before the account was changed is refused (PERMISSION_DENIED)."""
        fields = registered_account_fields(self._ctx, sess)
        evidence = self._auth.consume_step_up(sess, proof, "confirm_payout", fields)
        # The registry authorises the event (and records the confirmation) under the grant.
        event_id = self._ctx.registry.authorise_event(
            sess.token, "payout_confirmed", domain.PAYOUT_PROCEDURE, acting=sess.acting(evidence)
        )
        now = self._ctx.clock()
        with self._ctx.db.transaction() as session:
            row = session.get(PayoutAccountRow, sess.resident_id)
            assert row is not None
            if confirmed_account(row) != fields:
                raise errors.Conflict(
                    "the account changed while it was being confirmed; confirm it again"
                )
            row.confirmed_with_card, row.confirmed_at = True, now
            enqueue(
                session,
                OutboxEvent,
                event_type="payout_confirmed",
                token=sess.token,
                procedure=domain.PAYOUT_PROCEDURE,
                payload={"confirmed_at": now.isoformat()},
                event_id=event_id,
            )
            add_notice(
                self._ctx,
                session,
                sess.resident_id,
                f"portal:payout-confirmed:{uuid.uuid4().hex}",
                domain.Document(
                    "公金受取口座への振込を確認しました",
                    "You confirmed payouts to your public-funds account",
                    "マイナンバーカードで口座への振込を確認しました。保留中の還付金・年金は順次"
                    "振り込まれます。心当たりがない場合はすぐにご連絡ください。",
                    "You confirmed payouts to your account with your card; held refunds and "
                    "pension payments will be released. If this was not you, contact us at once.",
                    PORTAL_SENDER,
                    "payout_account",
                    "",
                ),
            )
            view = account_view(session, row, masked=True)
        self._ctx.wake_outbox()
        return view


def account_view(session: Session, row: PayoutAccountRow, *, masked: bool) -> dict[str, Any]:
    """The account as shown (number masked when ``masked``) with its dates and flags."""
    details = json.loads(row.details)
    shared = (
        session.scalar(
            select(func.count())
            .select_from(PayoutAccountRow)
            .where(
                PayoutAccountRow.account_index == row.account_index,
                PayoutAccountRow.resident_id != row.resident_id,
            )
        )
        or 0
    )
    changed = aware(row.changed_at)
    if masked:
        details["account_number"] = domain.mask_account_number(details["account_number"])
        details.pop(SALT_FIELD, None)  # only paying agencies need it, to check the registry
    return {
        **details,
        "registered_at": aware(row.registered_at).isoformat(),
        "changed_at": changed.isoformat(),
        "cooling_off_until": (changed + domain.COOLING_OFF).isoformat(),
        "confirmed_with_card": row.confirmed_with_card,
        "confirmed_at": aware(row.confirmed_at).isoformat() if row.confirmed_at else None,
        "shared_with_others": shared > 0,
    }


def registered_account_fields(ctx: PortalContext, sess: SessionInfo) -> dict[str, str]:
    """The registered account a ``confirm_payout`` signature covers (as registered)."""
    with ctx.db.transaction() as session:
        row = session.get(PayoutAccountRow, sess.resident_id)
        if row is None:
            raise errors.NotFound("register a public-funds account first")
        return confirmed_account(row)


def confirmed_account(row: PayoutAccountRow) -> dict[str, str]:
    """Bank code, branch code and account number of a registered account (signed fields)."""
    details = json.loads(row.details)
    return {name: str(details[name]) for name in ("bank_code", "branch_code", "account_number")}
