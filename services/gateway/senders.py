"""Who a letter in the inbox is from: the publisher the registry names, never the payload.

The registry states the publishing domain of every event it delivers (from the publisher's
mTLS identity, ``DeliverRequest.publisher``). The portal shows a fixed sender name for that
publisher and accepts only the document categories that publisher may send. Whatever a
payload says about its own ``sender`` or ``issuer`` is ignored: an agency cannot send a
letter "from" the portal or from another agency (the phishing path of issue 15).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mynumber_core import errors
from services.gateway import domain

SENDERS: Mapping[str, str] = {
    "pension": "日本年金機構 (Japan Pension Service)",
    "tax": "税務署 (tax office)",
    "health": "健康保険 (health insurer)",
    "municipality": "市区町村 (municipality)",
}
"""The fixed display name of each publishing domain."""

GENERAL = "general"
"""The category of a document that names none."""

CATEGORIES: Mapping[str, frozenset[str]] = {
    "pension": frozenset(
        {
            GENERAL,
            "pension.exemption_decision",
            "pension.claim_decision",
            "pension.claim_refused",
            "pension.notice",
            "pension.record_match",
            "pension.record_decision",
        }
    ),
    "tax": frozenset({GENERAL, "tax.withholding_slip", "tax.refund_notice", "tax.refund_stopped"}),
    "health": frozenset({GENERAL, "vaccination"}),
    "municipality": frozenset({GENERAL, "ltc_certification"}),
}
"""The document categories each publisher may send; anything else is refused."""

_IGNORED = ("sender", "issuer")


def sender_of(publisher: str) -> str:
    """The fixed display name of a publishing domain; INVALID_ARGUMENT for any other."""
    name = SENDERS.get(publisher)
    if name is None:
        raise errors.InvalidInput(
            f"the portal shows no letters from {publisher[:32]!r}; only "
            f"{', '.join(sorted(SENDERS))} publish inbox documents and notices"
        )
    return name


def agency_document(publisher: str, payload: Mapping[str, Any]) -> domain.Document:
    """The document an agency event carries, with the sender fixed by its publisher.

    INVALID_ARGUMENT (and nothing stored) for an unknown publisher or a category that the
    publisher may not send.
    """
    sender = sender_of(publisher)
    doc = domain.parse_document(
        {k: v for k, v in payload.items() if k not in _IGNORED}, default_sender=sender
    )
    allowed = CATEGORIES[publisher]
    if doc.category not in allowed:
        raise errors.InvalidInput(
            f"{publisher} may not send documents of category {doc.category[:64]!r}; "
            f"its categories are {', '.join(sorted(allowed))}"
        )
    return doc
