"""Notices and the inbox (e-communication box): reading them, and adding documents and
notices once per source (agency events, business deliveries, the portal's own letters).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors
from services.gateway import domain
from services.gateway.models import InboxDocument, Notice
from services.gateway.usecases.context import PortalContext, new_id

if TYPE_CHECKING:
    from services.gateway.usecases.auth import SessionInfo


class Inbox:
    """The resident's notices and documents."""

    def __init__(self, ctx: PortalContext) -> None:
        self._ctx = ctx

    def notices(self, sess: SessionInfo) -> list[Notice]:
        """The resident's notices, newest first."""
        with self._ctx.db.transaction() as session:
            return list(
                session.scalars(
                    select(Notice)
                    .where(Notice.resident_id == sess.resident_id)
                    .order_by(Notice.received_at.desc())
                )
            )

    def mark_notice_read(self, sess: SessionInfo, notice_id: str) -> Notice:
        """Mark one of the resident's notices read."""
        domain.parse_id("notice_id", notice_id)
        with self._ctx.db.transaction() as session:
            row = session.get(Notice, notice_id)
            if row is None or row.resident_id != sess.resident_id:
                raise errors.NotFound("no such notice")
            row.read_at = row.read_at or self._ctx.clock()
            return row

    def inbox(self, sess: SessionInfo) -> list[InboxDocument]:
        """The resident's documents, newest first."""
        with self._ctx.db.transaction() as session:
            return list(
                session.scalars(
                    select(InboxDocument)
                    .where(InboxDocument.resident_id == sess.resident_id)
                    .order_by(InboxDocument.received_at.desc())
                )
            )

    def document(self, sess: SessionInfo, document_id: str, *, mark_read: bool) -> InboxDocument:
        """One of the resident's documents (others' ids are NOT_FOUND)."""
        domain.parse_id("document_id", document_id)
        with self._ctx.db.transaction() as session:
            row = session.get(InboxDocument, document_id)
            if row is None or row.resident_id != sess.resident_id:
                raise errors.NotFound("no such document in your inbox")
            if mark_read and row.read_at is None:
                row.read_at = self._ctx.clock()
            return row


def add_document(
    ctx: PortalContext, session: Session, resident_id: str, source_id: str, doc: domain.Document
) -> InboxDocument | None:
    """Put ``doc`` in the resident's inbox once per ``source_id`` (None when already there)."""
    existing = session.scalars(
        select(InboxDocument).where(InboxDocument.source_id == source_id)
    ).first()
    if existing is not None:
        return None
    row = InboxDocument(
        id=new_id("D"),
        resident_id=resident_id,
        source_id=source_id,
        sender=doc.sender[:200],
        category=doc.category[:64],
        reference=doc.reference[:64],
        title_ja=doc.title_ja,
        title_en=doc.title_en,
        body_ja=doc.body_ja,
        body_en=doc.body_en,
        received_at=ctx.clock(),
    )
    session.add(row)
    return row


def add_notice(
    ctx: PortalContext, session: Session, resident_id: str, source_id: str, doc: domain.Document
) -> None:
    """Add ``doc`` to the resident's notices once per ``source_id``."""
    if session.scalars(select(Notice).where(Notice.source_id == source_id)).first():
        return
    session.add(
        Notice(
            id=new_id("N"),
            resident_id=resident_id,
            source_id=source_id,
            sender=doc.sender[:200],
            category=doc.category[:64],
            title_ja=doc.title_ja,
            title_en=doc.title_en,
            body_ja=doc.body_ja,
            body_en=doc.body_en,
            received_at=ctx.clock(),
        )
    )
