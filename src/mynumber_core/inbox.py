"""Documents for the resident's e-communication box (the portal's inbox): one payload shape
and one way for an agency to queue one in its outbox, in the caller's transaction.

The portal validates the payload (``services/gateway/domain.py``) and shows it as a notice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from mynumber_core.outbox import enqueue

INBOX_EVENT = "inbox.document"
"""The event type the portal files in the resident's inbox."""


def inbox_document(
    sender: str,
    document_type: str,
    title: tuple[str, str],
    body: tuple[str, str],
    reference: str,
) -> dict[str, Any]:
    """The payload of an ``inbox.document`` event; ``title`` and ``body`` are (ja, en)."""
    return {
        "document_type": document_type,
        "title_ja": title[0],
        "title_en": title[1],
        "body_ja": body[0],
        "body_en": body[1],
        "sender": sender,
        "reference": reference,
    }


def queue_inbox(
    session: Session,
    outbox: type[Any],
    *,
    token: str,
    procedure: str,
    payload: Mapping[str, Any],
) -> str:
    """Queue an inbox document for the person behind ``token``; returns the event id."""
    return enqueue(
        session, outbox, event_type=INBOX_EVENT, token=token, procedure=procedure, payload=payload
    )
