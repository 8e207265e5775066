"""The public-funds receipt account (公金受取口座) as agencies see it, and the payout policy
every paying agency applies (tax refunds, pension claim payments).

The policy is the fraud countermeasure against redirected payouts (the SSN lesson): a payout
is **held** when

* the account is registered by unrelated residents too (``shared_with_others``) — held for
  the agency's review, and an alert is raised; it is released once the account is no longer
  shared;
* the account was changed less than the cooling-off period ago and the change was not
  confirmed with the resident's card (``confirmed_with_card``);
* the address was changed less than the cooling-off period ago and the resident has not
  confirmed the account with a card signature since (``confirmed_at``, the portal's
  ``confirm_payout`` step-up).

A held payout is decided again later (the agency's release job): it goes out once the period
has passed or the confirmation has arrived.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

_log = structlog.get_logger("mynumber.payout")

DEFAULT_COOLING_OFF = dt.timedelta(days=14)

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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PayoutPolicy:
    """Release or hold a payout (see the module docstring); ``cooling_off`` is a setting."""

    def __init__(
        self,
        cooling_off: dt.timedelta = DEFAULT_COOLING_OFF,
        *,
        clock: Callable[[], dt.datetime] = _now,
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
