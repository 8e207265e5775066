"""The public-funds receipt account (公金受取口座) as agencies see it, and the payout policy
every paying agency applies (tax refunds, pension claim payments).

The policy is the fraud countermeasure against redirected payouts (the SSN lesson): a payout
is **held** when

* the account is not the one the resident's card approved at the registry
  (``registry_verified`` is not True: see :mod:`mynumber_core.payout_attestation`) — held
  until the resident registers it again with their card (a forged answer from a compromised
  portal pays nobody);
* the account is registered by unrelated residents too (``shared_with_others``) — held for
  the agency's review, and an alert is raised; it is released once the account is no longer
  shared;
* the account was changed less than the cooling-off period ago and the change was not
  confirmed with the resident's card (``confirmed_with_card``);
* the address was changed less than the cooling-off period ago and the resident has not
  confirmed the account with a card signature since (``confirmed_at``, the portal's
  ``confirm_payout`` step-up).

A held payout is decided again later (the agency's release job, :func:`decide_again`): it
goes out once the period has passed or the confirmation has arrived. A shared-account hold is
lifted by an operator's review (:class:`SharedAccountReview`), for the reviewed account only.

Why about 490 lines: the payout policy, the shared-account review that it raises and the
release job that re-applies it are one rule set that tax and pension share; splitting them
would spread one decision over three files.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.alerts import parse_alert_id, parse_operator_id, recent_alerts
from mynumber_core.clock import utc_now
from mynumber_core.db import Database
from mynumber_core.payout_attestation import VERIFIED_FIELD

_log = structlog.get_logger("mynumber.payout")

DEFAULT_COOLING_OFF = dt.timedelta(days=14)

Row = TypeVar("Row")
View = TypeVar("View")

PIN_REFUSALS: dict[str, tuple[str, str]] = {
    "locked": ("請求ロック中で暗証番号がありませんでした", "no claim PIN was given"),
    "wrong_pin": ("暗証番号が誤っていました", "the claim PIN was wrong"),
}
"""Why a payout claim was refused under the resident's refunds-and-claims lock, (ja, en), for
the notice to the resident's inbox."""

HOLD_UNVERIFIED = "unverified_account"
HOLD_SHARED = "shared_account"
HOLD_NEW_ACCOUNT = "new_account"
HOLD_NEW_ADDRESS = "new_address"


def mask_account(account: Mapping[str, Any]) -> str:
    """A masked account reference for display: bank code and the last three digits."""
    bank = str(account.get("bank_code") or "????")
    number = str(account.get("account_number") or "")
    return f"{bank}-***-****{number[-3:]}" if number else f"{bank}-***-****"


@dataclass(frozen=True)
class PayoutDecision:
    """Whether a payout goes out now or is held, and why."""

    release: bool
    hold_reason: str = ""
    hold_code: str = ""
    """``shared_account``, ``new_account`` or ``new_address`` when held."""
    release_after: dt.datetime | None = None
    """When the hold lapses by itself (None: only a confirmation or a review releases it)."""
    alert: bool = False
    """The agency must raise an alert for its operators (a shared account)."""


def _when(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class PayoutPolicy:
    """Release or hold a payout (see the module docstring); ``cooling_off`` is a setting."""

    def __init__(
        self,
        cooling_off: dt.timedelta = DEFAULT_COOLING_OFF,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.cooling_off = cooling_off
        self._clock = clock

    def decide(
        self, account: Mapping[str, Any], facts: Mapping[str, Any] | None = None
    ) -> PayoutDecision:
        """Release or hold a payout to ``account`` (the portal's ``payout_account`` item).

        ``facts`` is what the agency knows about the person: the municipality's basic facts
        plus ``address_changed_at`` (datetime or ISO text), when the agency last learnt of
        an address change (the ``address_changed`` event).
        """
        address_changed_at = (facts or {}).get("address_changed_at")
        now = self._clock()
        if account.get(VERIFIED_FIELD) is not True:
            return PayoutDecision(
                False,
                "the payout account is not the one the resident approved with their card at "
                "the registry; held until the resident registers it again on the portal",
                HOLD_UNVERIFIED,
                None,
            )
        if account.get("shared_with_others"):
            return PayoutDecision(
                False,
                "the payout account is also registered by unrelated residents; held for review",
                HOLD_SHARED,
                None,
                alert=True,
            )
        changed = _when(account.get("changed_at"))
        confirmed = bool(account.get("confirmed_with_card"))
        confirmed_at = _when(account.get("confirmed_at")) or (changed if confirmed else None)
        if changed is not None and not confirmed and now < changed + self.cooling_off:
            return PayoutDecision(
                False,
                "the payout account was changed recently without a card signature; held "
                f"until {(changed + self.cooling_off).date().isoformat()} unless the resident "
                "confirms it with their card on the portal",
                HOLD_NEW_ACCOUNT,
                changed + self.cooling_off,
            )
        moved = _when(address_changed_at)
        if (
            moved is not None
            and now < moved + self.cooling_off
            and (confirmed_at is None or confirmed_at < moved)
        ):
            return PayoutDecision(
                False,
                "the address was changed recently; held until "
                f"{(moved + self.cooling_off).date().isoformat()} unless the resident confirms "
                "the payout account with their card on the portal",
                HOLD_NEW_ADDRESS,
                moved + self.cooling_off,
            )
        return PayoutDecision(True)


class ReleaseJob:
    """Runs an agency's release of held payouts in a background thread: every ``interval``
    seconds (cooling-off periods lapse) and soon after :meth:`wake` (a ``payout_confirmed``
    event arrived). Errors are logged and retried at the next run; :meth:`stop` ends it."""

    def __init__(self, name: str, release: Callable[[], object], interval: float = 3600.0) -> None:
        self._name = name
        self._release = release
        self._interval = interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Run soon (after the current transaction has committed)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and wait for the thread."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stopping.is_set():
                return
            time.sleep(0.2)  # let the waking event's transaction commit first
            try:
                self._release()
            except Exception:  # a background job must survive and retry
                _log.exception("releasing held payouts failed; retrying at the next run")


# ------------------------------------------------ the operator's review of a shared account

SHARED_ACCOUNT_ALERT = "shared_payout_account"
"""The ``kind`` of the alert raised when a payout is held for a shared account."""


def decide_again(
    policy: PayoutPolicy,
    account: Mapping[str, Any],
    address_changed_at: Any,
    *,
    approved: Callable[[], bool],
) -> PayoutDecision:
    """The release job's decision on a held payout, with a fresh look at the account.

    A shared-account hold an operator approved for this very account (``approved``) is lifted;
    the other holds (new account, new address) still apply.
    """
    facts = {"address_changed_at": address_changed_at}
    decision = policy.decide(account, facts)
    if decision.hold_code == HOLD_SHARED and approved():
        decision = policy.decide({**account, "shared_with_others": False}, facts)
    return decision


class SharedAccountReview:
    """Alerts about payouts held for a shared account, and the operator's approval after review.

    One flow for every paying agency: ``alerts`` is the agency's ``Alert`` model
    (:class:`mynumber_core.alerts.AlertMixin`), ``owner_field`` its column naming the agency's
    identifier of the person (e.g. ``reference_number``), and ``held_account`` returns the
    masked account a payout (the alert's subject) is held for, or None once it is not held.
    """

    def __init__(
        self,
        db: Database,
        alerts: type[Any],
        *,
        owner_field: str,
        held_account: Callable[[Session, str], str | None],
        not_found: str,
        not_held: str,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._db = db
        self._alerts = alerts
        self._owner_field = owner_field
        self._held_account = held_account
        self._not_found = not_found
        self._not_held = not_held
        self._clock = clock

    def raise_alert(self, session: Session, owner: str, subject: str, detail: str) -> None:
        """Record an alert for the operators: ``subject``'s payout is held for review."""
        session.add(
            self._alerts(
                id=uuid.uuid4().hex,
                kind=SHARED_ACCOUNT_ALERT,
                subject=subject,
                detail=detail,
                created_at=self._clock(),
                **{self._owner_field: owner},
            )
        )

    def approved(self, subject: str, account: Mapping[str, Any]) -> bool:
        """Whether an operator approved ``subject``'s shared account, as the account is now."""
        masked = mask_account(account)
        model = self._alerts
        with self._db.transaction() as session:
            return any(
                a.approved_account == masked
                for a in session.scalars(
                    select(model).where(
                        model.subject == subject,
                        model.kind == SHARED_ACCOUNT_ALERT,
                        model.approved_at.is_not(None),
                    )
                )
            )

    def approve(self, owner: str, alert_id: str, operator_id: str) -> Any:
        """An operator approves a payout held for a shared account, after review: who and when
        are recorded with the reviewed account; the next release run pays it (if nothing else
        holds it). Approving again returns the recorded approval."""
        aid = parse_alert_id(alert_id)
        operator = parse_operator_id(operator_id)
        with self._db.transaction() as session:
            alert = session.get(self._alerts, aid)
            if alert is None or getattr(alert, self._owner_field) != owner:
                raise errors.NotFound(self._not_found)
            if alert.kind != SHARED_ACCOUNT_ALERT:
                raise errors.FailedPrecondition("only shared-account alerts can be approved")
            if alert.approved_at is not None:
                return alert
            account = self._held_account(session, alert.subject)
            if account is None:
                raise errors.FailedPrecondition(self._not_held)
            alert.approved_by, alert.approved_at = operator, self._clock()
            alert.approved_account = account
            session.flush()
        _log.info("shared payout account approved by an operator")
        return alert

    def recent(self, limit: int = 100) -> list[Any]:
        """Operator alerts, newest first."""
        return recent_alerts(self._db, self._alerts, limit)


class PayoutAccountSource(Protocol):
    """Where an agency reads the payout account: the registry port's ``payout_account``
    (and ``query`` for a claim's other look-ups)."""

    def query(
        self,
        token: str,
        provider: str,
        item: str,
        procedure: str,
        request_id: str,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Ask a provider for an item (the claim's other look-ups)."""
        ...

    def payout_account(self, token: str, procedure: str, request_id: str) -> dict[str, Any]:
        """The portal's ``payout_account`` item checked against the registry's attestation
        (:func:`mynumber_core.payout_attestation.attested_account`)."""
        ...


def recheck_held_payout(
    registry: PayoutAccountSource,
    policy: PayoutPolicy,
    review: SharedAccountReview,
    *,
    token: str,
    procedure: str,
    request_id: str,
    subject: str,
    address_changed_at: Any,
) -> tuple[dict[str, Any], PayoutDecision] | None:
    """The release job's fresh look at a held payout: the account as the portal has it now
    (an exchange in the resident's log) and the decision on it (:func:`decide_again`).

    None while the account cannot be read (removed, or refused by the resident's lock): the
    payout stays held.
    """
    try:
        account = registry.payout_account(token, procedure, request_id)
    except (errors.NotFound, errors.PermissionDenied):
        return None
    decision = decide_again(
        policy,
        account,
        address_changed_at,
        approved=partial(review.approved, subject, account),
    )
    return account, decision


class ClaimPinSource(Protocol):
    """Where an agency checks a claim PIN: the registry port's ``verify_claim_pin``."""

    def verify_claim_pin(self, token: str, pin: str, procedure: str) -> None:
        """Raise PermissionDenied (wrong PIN) or RateLimited (too many tries)."""
        ...


def parse_claim_pin(value: str, holder: str) -> str:
    """A claim PIN as given with a payout claim: empty (none given) or six ASCII digits.
    ``holder`` names whose PIN it is in the error ("claimant", "taxpayer")."""
    if value and not (len(value) == 6 and value.isascii() and value.isdigit()):
        raise errors.InvalidInput(f"claim_pin must be the {holder}'s 6-digit claim PIN")
    return value


def verify_claim_pin(
    registry: ClaimPinSource,
    token: str,
    pin: str,
    procedure: str,
    refused: Callable[[str], None],
) -> None:
    """Check a claim PIN at the registry; a wrong PIN (or too many tries) is first reported
    with ``refused("wrong_pin")`` (the notice to the resident's inbox), then raised."""
    try:
        registry.verify_claim_pin(token, pin, procedure)
    except (errors.PermissionDenied, errors.RateLimited):
        refused("wrong_pin")
        raise


def query_for_claim(
    registry: PayoutAccountSource,
    token: str,
    provider: str,
    item: str,
    procedure: str,
    request_id: str,
    refused: Callable[[str], None],
) -> dict[str, Any]:
    """A query made for a payout claim; refused by the resident's refunds-and-claims lock
    (protect_claims), it is first reported with ``refused("locked")``, then raised.

    The portal's ``payout_account`` is always read checked against the registry's
    attestation (:meth:`PayoutAccountSource.payout_account`), never as the portal says."""
    try:
        if (provider, item) == ("portal", "payout_account"):
            return registry.payout_account(token, procedure, request_id)
        return registry.query(token, provider, item, procedure, request_id)
    except errors.PermissionDenied as exc:
        if "protect_claims" in exc.message:
            refused("locked")
        raise


@dataclass(frozen=True)
class HeldPayout:
    """A held payout the release job looks at again: its subject (claim or refund id), the
    owner's agency identifier and token, the last address change and the fresh look's
    request id."""

    subject: str
    owner: str
    token: str
    address_changed_at: Any
    request_id: str


def release_held_payouts(
    db: Database,
    registry: PayoutAccountSource,
    policy: PayoutPolicy,
    review: SharedAccountReview,
    *,
    procedure: str,
    subjects: list[str],
    held: Callable[[Session, str], HeldPayout],
    still_held: Callable[[Session, str], Row | None],
    keep: Callable[[Row, PayoutDecision], None],
    release: Callable[[Session, Row, HeldPayout, Mapping[str, Any], PayoutDecision], View],
) -> tuple[list[View], int]:
    """The release job every paying agency runs: decide each held payout again with a fresh
    look at the account (:func:`recheck_held_payout`), one transaction per payout.

    ``held`` reads a subject's owner (in its own transaction); ``still_held`` is its row if it
    is still held (None: decided meanwhile, skipped); ``keep`` records why it stays held;
    ``release`` pays it out and returns its view. Returns (released, still held).
    """
    released: list[View] = []
    still = 0
    for subject in subjects:
        with db.transaction() as session:
            payout = held(session, subject)
        looked = recheck_held_payout(
            registry,
            policy,
            review,
            token=payout.token,
            procedure=procedure,
            request_id=payout.request_id,
            subject=subject,
            address_changed_at=payout.address_changed_at,
        )
        if looked is None:
            still += 1
            continue
        account, decision = looked
        with db.transaction() as session:
            row = still_held(session, subject)
            if row is None:
                continue
            if not decision.release:
                keep(row, decision)
                still += 1
                continue
            released.append(release(session, row, payout, account, decision))
    return released, still
