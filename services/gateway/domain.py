"""Portal domain rules: payout accounts, holder names in katakana, locks, one-time codes,
applications, payments and the items shown on "my information". No gRPC, no SQL, no HTTP.

Every parser raises :class:`~mynumber_core.errors.InvalidInput` naming the field and the
rule, never the value (values may be personal data).

Why about 440 lines: every portal input rule is here, once, so the API, the pages and the
schema (``web/routers/fields.py``) read the same rule.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from mynumber_core import items
from mynumber_core.calendar import date_in_japan, fiscal_year_of
from mynumber_core.errors import InvalidInput

# --- the exchange items the portal shows ---------------------------------------------------

MY_INFORMATION_PROCEDURE = "portal.my_information"
PAYMENTS_PROCEDURE = "portal.payments"
PAYOUT_PROCEDURE = "portal.payout_account"


@dataclass(frozen=True)
class InfoItem:
    """One item of "my information": which agency, which item, and its titles."""

    provider: str
    item: str
    title_ja: str
    title_en: str
    yearly: bool = False


MY_INFORMATION: tuple[InfoItem, ...] = tuple(
    InfoItem(i.provider, i.name, i.title_ja, i.title_en, yearly="year" in i.params)
    for i in items.PORTAL_ITEMS
)
"""The items of "my information", from the item catalogue (:mod:`mynumber_core.items`)."""

AGENCIES = ("municipality", "pension", "tax", "health", "portal")
"""Domains that may appear in the exchange log (the agency filter)."""

PAYABLE_AGENCIES = ("tax", "pension")

# --- locks ------------------------------------------------------------------------------

LOCKS = ("protect_claims", "block_online_changes", "block_exchanges")
"""Locks a resident can set (the registry enforces the first and last on every exchange;
the portal enforces ``block_online_changes`` on its own changes)."""


def parse_locks(raw: Any) -> list[str]:
    """A set of known lock names (sorted, without duplicates)."""
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise InvalidInput("locks must be a list of lock names")
    unknown = sorted(set(raw) - set(LOCKS))
    if unknown:
        raise InvalidInput(f"unknown lock {unknown[0][:32]!r}; known locks: {', '.join(LOCKS)}")
    return sorted(set(raw))


# --- payout account (公金受取口座) --------------------------------------------------------

ACCOUNT_TYPES = ("ordinary", "checking", "savings")
"""普通, 当座, 貯蓄."""

_SMALL_TO_LARGE = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
_KATAKANA = re.compile(r"[\u30A1-\u30FA\u30FC]+")
_SEPARATORS = re.compile(r"[\s\u3000・･.．]+")
MAX_KANA = 60


@dataclass(frozen=True)
class PayoutAccount:
    """A validated public-funds receipt account."""

    bank_code: str
    branch_code: str
    account_type: str
    account_number: str
    holder_kana: str

    def identity(self) -> str:
        """What two residents sharing one account would have in common."""
        return f"{self.bank_code}-{self.branch_code}-{self.account_number}"

    def as_dict(self) -> dict[str, str]:
        """Plain form for storage and display."""
        return {
            "bank_code": self.bank_code,
            "branch_code": self.branch_code,
            "account_type": self.account_type,
            "account_number": self.account_number,
            "holder_kana": self.holder_kana,
        }


def _digits(field: str, value: Any, length: int, example: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(rf"[0-9]{{{length}}}", value):
        raise InvalidInput(f"{field} must be exactly {length} ASCII digits, e.g. {example}")
    return value


def normalize_kana(value: str) -> str:
    """Holder names as banks compare them: NFKC, no separators, small kana made large."""
    text = unicodedata.normalize("NFKC", value)
    return _SEPARATORS.sub("", text).translate(_SMALL_TO_LARGE)


def parse_holder_kana(value: Any) -> str:
    """The account holder's name in katakana (full- or half-width, spaces allowed)."""
    if not isinstance(value, str):
        raise InvalidInput("holder_kana must be text")
    text = " ".join(unicodedata.normalize("NFKC", value).replace("\u3000", " ").split())
    if not text:
        raise InvalidInput("holder_kana is empty; give the account holder's name in katakana")
    if len(text) > MAX_KANA:
        raise InvalidInput(f"holder_kana is too long (at most {MAX_KANA} characters)")
    if not all(_KATAKANA.fullmatch(part) for part in text.split(" ")):
        raise InvalidInput(
            "holder_kana must be written in katakana as on the bank book, e.g. ヤマダ タロウ"
        )
    return text


def parse_payout_account(raw: dict[str, Any]) -> PayoutAccount:
    """Validate bank code (4 digits), branch (3), type, number (7) and holder name."""
    account_type = raw.get("account_type")
    if account_type not in ACCOUNT_TYPES:
        raise InvalidInput(f"account_type must be one of {', '.join(ACCOUNT_TYPES)}")
    return PayoutAccount(
        bank_code=_digits("bank_code", raw.get("bank_code"), 4, "0005"),
        branch_code=_digits("branch_code", raw.get("branch_code"), 3, "123"),
        account_type=str(account_type),
        account_number=_digits("account_number", raw.get("account_number"), 7, "1234567"),
        holder_kana=parse_holder_kana(raw.get("holder_kana")),
    )


def holder_matches(holder_kana: str, registered_kana: str) -> bool:
    """The account holder is the resident: the kana names agree after normalisation."""
    return bool(registered_kana) and normalize_kana(holder_kana) == normalize_kana(registered_kana)


COOLING_OFF = dt.timedelta(days=14)
"""Agencies hold payouts to an account changed more recently than this (unless confirmed
with a card signature, which every portal change is), and after an address change until the
resident confirms the account again (``confirm_payout``); see ``mynumber_core.payout``."""

CLAIM_PIN_RE = re.compile(r"[0-9]{6}")


def parse_claim_pin(value: Any) -> str | None:
    """The optional 6-digit claim PIN (protect_claims); never echoed back."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not CLAIM_PIN_RE.fullmatch(value):
        raise InvalidInput("pin must be the 6-digit claim PIN issued on the locks page")
    return value


REISSUE_REASONS = ("leaked", "lost_notification", "fraud_suspected")


_PASSKEY_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{16,100}")


def parse_passkey_challenge(value: Any) -> str:
    """A passkey registration's WebAuthn challenge as base64url (``register_passkey``)."""
    if not isinstance(value, str) or not _PASSKEY_CHALLENGE.fullmatch(value):
        raise InvalidInput(
            "challenge must be the registration's challenge from /api/passkeys/register/options "
            "(base64url, 16 to 100 characters)"
        )
    return value


def parse_reissue_reason(value: Any) -> str:
    """Why the resident asks for a new number (a code, never free text: no personal data)."""
    if value not in REISSUE_REASONS:
        raise InvalidInput(f"reason must be one of {', '.join(REISSUE_REASONS)}")
    return str(value)


def mask_account_number(number: str) -> str:
    """Shown on pages and in notices: only the last three digits."""
    return "*" * (len(number) - 3) + number[-3:]


# --- one-time codes, secrets and hashes -------------------------------------------------

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""No 0/O, 1/I: the code is read off a screen and typed into a terminal."""
CODE_LENGTH = 8
_CODE_RE = re.compile(rf"[{CODE_ALPHABET}]{{4}}-?[{CODE_ALPHABET}]{{4}}")


def new_code() -> str:
    """A one-time approval code such as ``K7QX-M3PA`` (40 bits)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def parse_code(value: Any) -> str:
    """A typed code: case-insensitive, dash optional; returns the canonical ``XXXX-XXXX``."""
    if not isinstance(value, str):
        raise InvalidInput("code must be text such as K7QX-M3PA")
    text = value.strip().upper().replace(" ", "")
    if not _CODE_RE.fullmatch(text):
        raise InvalidInput("code must be the 8 characters shown on the login page, e.g. K7QX-M3PA")
    text = text.replace("-", "")
    return f"{text[:4]}-{text[4:]}"


def secret_hash(value: str) -> str:
    """SHA-256 hex of a high-entropy secret (session id, API key, poll secret, code)."""
    return hashlib.sha256(value.encode()).hexdigest()


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random secret."""
    return secrets.token_urlsafe(nbytes)


_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def parse_id(field: str, value: Any) -> str:
    """An object id from a URL or body (letters, digits, _ and -, at most 64)."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise InvalidInput(f"{field} must be 1-64 letters, digits, '_' or '-'")
    return value


IDEMPOTENCY_RE = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def parse_idempotency_key(value: Any) -> str:
    """The Idempotency-Key header: 8-128 characters of letters, digits and . _ : -."""
    if not isinstance(value, str) or not IDEMPOTENCY_RE.fullmatch(value):
        raise InvalidInput(
            "the Idempotency-Key header is required: 8-128 characters of letters, digits and "
            ". _ : - (reuse it when you retry the same payment)"
        )
    return value


# --- step-up actions --------------------------------------------------------------------

ACTIONS = (
    "change_payout_account",
    "make_payment",
    "apply_pension_exemption",
    "apply_move_out",
    "set_locks",
    "grant_business",
    "confirm_payout",
    "issue_claim_pin",
    "reissue_number",
    "pension_claim",
    "register_passkey",
    "pension_record_decision",
)
"""Sensitive actions that need a fresh card signature over ``action_message``."""


def check_action(value: Any) -> str:
    """A known step-up action."""
    if value not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}")
    return str(value)


# --- applications -----------------------------------------------------------------------


def claim_pin_year(now: dt.datetime) -> int:
    """The year a claim PIN issued at ``now`` is for: the calendar year in Japan."""
    return date_in_japan(now).year


def parse_exemption_year(value: Any, today: dt.date) -> int:
    """An exemption can be applied for the current fiscal year or up to two years back."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput("fiscal_year must be an integer year, e.g. 2025")
    current = fiscal_year_of(today)
    if not current - 2 <= value <= current:
        raise InvalidInput(
            f"fiscal_year must be between {current - 2} and {current} (exemptions can be "
            "applied for up to two years back)"
        )
    return value


MAX_ADDRESS = 200


def parse_move_out(raw: dict[str, Any], today: dt.date) -> dict[str, str]:
    """Destination address and planned move date (today to 14 days ahead, 住民基本台帳法)."""
    destination = raw.get("destination_address")
    if not isinstance(destination, str) or not destination.strip():
        raise InvalidInput("destination_address is required: the address you are moving to")
    destination = " ".join(destination.split())
    if len(destination) > MAX_ADDRESS:
        raise InvalidInput(f"destination_address is too long (at most {MAX_ADDRESS} characters)")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in destination):
        raise InvalidInput("destination_address contains control or unassigned characters")
    planned = raw.get("planned_date")
    if not isinstance(planned, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", planned):
        raise InvalidInput("planned_date must be an ISO 8601 date, YYYY-MM-DD")
    try:
        day = dt.date.fromisoformat(planned)
    except ValueError:
        raise InvalidInput("planned_date is not a real calendar date") from None
    if not today - dt.timedelta(days=14) <= day <= today + dt.timedelta(days=30):
        raise InvalidInput(
            "planned_date must be within 14 days before and 30 days after today "
            "(a move-out notice is given around the move)"
        )
    return {"destination_address": destination, "planned_date": day.isoformat()}


# --- payments ---------------------------------------------------------------------------

MAX_PAYMENT_YEN = 10_000_000


def parse_payment(raw: dict[str, Any]) -> tuple[str, str, int]:
    """(agency, item_id, amount in yen) of a payment request."""
    agency = raw.get("agency")
    if agency not in PAYABLE_AGENCIES:
        raise InvalidInput(f"agency must be one of {', '.join(PAYABLE_AGENCIES)}")
    item_id = raw.get("item_id")
    if not isinstance(item_id, str) or not re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", item_id):
        raise InvalidInput(
            "item_id must be the id of an amount due, as listed by /api/payments/due"
        )
    amount = raw.get("amount")
    if (
        not isinstance(amount, int)
        or isinstance(amount, bool)
        or not 1 <= amount <= MAX_PAYMENT_YEN
    ):
        raise InvalidInput(f"amount must be a whole number of yen between 1 and {MAX_PAYMENT_YEN}")
    return str(agency), item_id, amount


# --- documents delivered to the inbox ---------------------------------------------------

MAX_TITLE = 200
MAX_BODY = 20_000


def _text(field: str, value: Any, limit: int, *, required: bool) -> str:
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{field} is required")
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text")
    if len(value) > limit:
        raise InvalidInput(f"{field} is too long (at most {limit} characters)")
    if any(unicodedata.category(ch) in ("Cs", "Co", "Cn") for ch in value):
        raise InvalidInput(f"{field} contains unassigned characters")
    return value


@dataclass(frozen=True)
class Document:
    """An inbox document or a notice, in both languages where the sender gave both."""

    title_ja: str
    title_en: str
    body_ja: str
    body_en: str
    sender: str
    category: str
    reference: str


def parse_document(payload: dict[str, Any], *, default_sender: str) -> Document:
    """Accept the agencies' payloads: ``title_ja``/``title_en`` or a single ``title``."""
    title_ja = _text(
        "title_ja", payload.get("title_ja") or payload.get("title"), MAX_TITLE, required=False
    )
    title_en = _text("title_en", payload.get("title_en"), MAX_TITLE, required=False)
    if not (title_ja or title_en):
        raise InvalidInput("a document needs a title (title, title_ja or title_en)")
    body_ja = _text(
        "body_ja", payload.get("body_ja") or payload.get("body"), MAX_BODY, required=False
    )
    body_en = _text("body_en", payload.get("body_en"), MAX_BODY, required=False)
    sender = (
        _text("sender", payload.get("sender") or payload.get("issuer"), MAX_TITLE, required=False)
        or default_sender
    )
    category = (
        _text(
            "category",
            payload.get("document_type") or payload.get("category"),
            64,
            required=False,
        )
        or "general"
    )
    reference = _text("reference", payload.get("reference"), 64, required=False)
    return Document(
        title_ja=title_ja or title_en,
        title_en=title_en or title_ja,
        body_ja=body_ja or body_en,
        body_en=body_en or body_ja,
        sender=sender,
        category=category,
        reference=reference,
    )


BUSINESS_NAME_MAX = 100


def parse_business_name(value: Any) -> str:
    """A registered business's display name."""
    return _text("name", value, BUSINESS_NAME_MAX, required=True).strip() or _raise_empty()


def _raise_empty() -> str:
    raise InvalidInput("name is required")


def parse_date_filter(field: str, value: str | None) -> dt.date | None:
    """An optional ``from``/``to`` date filter, YYYY-MM-DD."""
    if value is None or value == "":
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise InvalidInput(f"{field} must be a date, YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} is not a real calendar date") from None


def parse_agency_filter(value: str | None) -> str | None:
    """An optional agency filter."""
    if value is None or value == "":
        return None
    if value not in AGENCIES:
        raise InvalidInput(f"agency must be one of {', '.join(AGENCIES)}")
    return value
