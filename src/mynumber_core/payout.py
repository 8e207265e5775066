"""The public-funds receipt account (公金受取口座) as agencies show it: masked, never whole."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def mask_account(account: Mapping[str, Any]) -> str:
    """A masked account reference for display: bank code and the last three digits."""
    bank = str(account.get("bank_code") or "????")
    number = str(account.get("account_number") or "")
    return f"{bank}-***-****{number[-3:]}" if number else f"{bank}-***-****"
