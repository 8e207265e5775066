"""Notices and the inbox (e-communication box): list, open, mark read."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel

from services.gateway.models import InboxDocument, Notice
from services.gateway.web.routers.common import InboxDep, LangDep, SessionDep
from services.gateway.web.routers.fields import PathId

router = APIRouter(tags=["inbox"])


class DocumentOut(BaseModel):
    """An inbox document or a notice."""

    id: str
    sender: str
    category: str
    title: str
    body: str
    received_at: dt.datetime
    read: bool


class DocumentsOut(BaseModel):
    """A list of documents."""

    documents: list[DocumentOut]
    unread: int


def document_out(row: InboxDocument | Notice, lang: str) -> DocumentOut:
    """A document or notice in the request's language."""
    return DocumentOut(
        id=row.id,
        sender=row.sender,
        category=row.category,
        title=row.title_en if lang == "en" else row.title_ja,
        body=row.body_en if lang == "en" else row.body_ja,
        received_at=row.received_at,
        read=row.read_at is not None,
    )


@router.get("/notices", response_model=DocumentsOut)
def notices(sess: SessionDep, lang: LangDep, inbox: InboxDep) -> DocumentsOut:
    """Your notices, newest first."""
    rows = inbox.notices(sess)
    return DocumentsOut(
        documents=[document_out(r, lang) for r in rows],
        unread=sum(r.read_at is None for r in rows),
    )


@router.post("/notices/{notice_id}/read", response_model=DocumentOut)
def read_notice(notice_id: PathId, sess: SessionDep, lang: LangDep, inbox: InboxDep) -> DocumentOut:
    """Mark a notice read."""
    return document_out(inbox.mark_notice_read(sess, notice_id), lang)


@router.get("/inbox", response_model=DocumentsOut)
def inbox(sess: SessionDep, lang: LangDep, inbox: InboxDep) -> DocumentsOut:
    """Your inbox (e-communication box), newest first."""
    rows = inbox.inbox(sess)
    return DocumentsOut(
        documents=[document_out(r, lang) for r in rows],
        unread=sum(r.read_at is None for r in rows),
    )


@router.get("/inbox/{document_id}", response_model=DocumentOut)
def document(document_id: PathId, sess: SessionDep, lang: LangDep, inbox: InboxDep) -> DocumentOut:
    """One document (opening it marks it read)."""
    return document_out(inbox.document(sess, document_id, mark_read=True), lang)
