"""The payout account as the resident's card approved it at the registry (issue 15).

The portal (the gateway) keeps the resident's public-funds receipt account and answers it to
the paying agencies (item ``payout_account``). A compromised gateway could answer any account
it likes, so the account is *attested* where the gateway cannot forge it:

* when the resident changes the account, the portal records it at the registry
  (``ResidentAuthority.RecordPayoutAccount``) under the resident's live grant and a fresh card
  step-up over exactly the account's fields; the registry keeps only a salted commitment
  (:func:`account_commitment`, salt chosen by the portal) with the time of the change;
* the portal's answer carries the salt (``commitment_salt``); the agency fetches the
  registry's attestation (``GetPayoutAttestation``) and accepts the account only if the answer
  opens that commitment (:func:`attested_account`). The change and confirmation times the
  payout policy reads then come from the registry, not from the portal.

An account that does not open the registry's commitment (forged, or registered before
attestation existed) is marked ``registry_verified: False`` and every payout to it is held
(``mynumber_core.payout``) until the resident registers the account again with their card.

The salt keeps the registry from learning the account from its commitment: bank, branch and
account numbers are only about 10^14 values, which an unsalted hash would give away.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PAYOUT_ACCOUNT_FIELDS = (
    "bank_code",
    "branch_code",
    "account_type",
    "account_number",
    "holder_kana",
)
"""The account fields the resident's card signs (``change_payout_account``) and the
commitment covers, in this order of names (the JSON is sorted anyway)."""
SALT_FIELD = "commitment_salt"
"""The field of the portal's ``payout_account`` answer carrying the salt (hex)."""
SALT_BYTES = 32
VERIFIED_FIELD = "registry_verified"
"""Set on every account an agency reads: True only when the registry's commitment opened."""


def account_commitment(account: Mapping[str, Any], salt: bytes) -> str:
    """hex SHA-256(salt || canonical JSON of the account's :data:`PAYOUT_ACCOUNT_FIELDS`).

    Raises KeyError when a field is missing (the caller decides what that means)."""
    body = json.dumps(
        {name: str(account[name]) for name in PAYOUT_ACCOUNT_FIELDS},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(salt + body.encode()).hexdigest()


@dataclass(frozen=True)
class PayoutAttestation:
    """What the registry holds about a person's payout account: the commitment, when the
    card-signed change was recorded, and the last card confirmation."""

    commitment: str
    changed_at: dt.datetime
    confirmed_at: dt.datetime


def attested_account(
    account: Mapping[str, Any], attestation: PayoutAttestation | None
) -> dict[str, Any]:
    """The portal's answer as an agency may use it: without the salt, with
    ``registry_verified`` saying whether it opens the registry's commitment, and — when it
    does — with the change and confirmation times the registry recorded (the portal's own
    ``changed_at``/``confirmed_with_card``/``confirmed_at`` are not trusted)."""
    checked = {k: v for k, v in account.items() if k not in (SALT_FIELD, VERIFIED_FIELD)}
    checked[VERIFIED_FIELD] = False
    if attestation is None:
        return checked
    try:
        salt = bytes.fromhex(str(account.get(SALT_FIELD) or ""))
        commitment = account_commitment(account, salt)
    except (ValueError, KeyError):
        return checked
    if len(salt) != SALT_BYTES or not hmac.compare_digest(commitment, attestation.commitment):
        return checked
    checked.update(
        {
            "changed_at": attestation.changed_at.isoformat(),
            "confirmed_with_card": True,
            "confirmed_at": attestation.confirmed_at.isoformat(),
            VERIFIED_FIELD: True,
        }
    )
    return checked
