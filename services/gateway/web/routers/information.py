"""My information (what each agency holds, fetched through the hub) and the exchange log with
its evidence: leaf bytes, audit paths, the signed and cosigned checkpoint and a consistency
proof, for the resident's own device to verify (the portal's verdict is a courtesy only)."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.gateway import domain
from services.gateway.web.routers.common import InformationDep, LangDep, LogDep, SessionDep

router = APIRouter(tags=["information"])


def _date_query(alias: str, description: str) -> Any:
    return Query(
        alias=alias,
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        description=f"{description}, YYYY-MM-DD",
        json_schema_extra={"format": "date"},
    )


class InfoSectionOut(BaseModel):
    """One agency's record of the resident."""

    provider: str
    item: str
    title: str
    status: Literal["ok", "no_record", "denied", "unavailable"]
    data: dict[str, Any]
    message: str
    log_index: int | None


class MeOut(BaseModel):
    """What every agency holds about the resident."""

    sections: list[InfoSectionOut]


class LogEntryOut(BaseModel):
    """One exchange-log entry: the evidence to verify it, and its fields read from the leaf."""

    index: int = Field(description="the entry's index in the log (its leaf number)")
    time: str
    requester: str
    provider: str
    item: str
    procedure: str
    outcome: str
    reason: str
    proof: Literal["verified", "failed", "pending"] = Field(
        description="the portal's own check of the audit path (pending: no checkpoint covers "
        "the entry yet); clients must not rely on it"
    )
    leaf: str = Field(
        description="base64 of the exact leaf bytes (canonical JSON with the fields index, "
        "time, requester, provider, item, procedure, outcome, reason, request_id, tag); the "
        "RFC 9162 leaf hash is SHA-256(0x00 || leaf)"
    )
    audit_path: list[str] = Field(
        description="the RFC 9162 inclusion proof (base64 SHA-256 hashes, leaf to root) of "
        "this leaf in the tree of the `checkpoint`"
    )
    pending: bool = Field(
        False,
        description="true when no checkpoint covers the entry yet (then audit_path is empty)",
    )


class ConsistencyOut(BaseModel):
    """An RFC 9162 consistency proof between two tree sizes."""

    from_size: int = Field(description="the `since_size` the client named")
    to_size: int = Field(description="the size of the `checkpoint` in this answer")
    proof: list[str] = Field(description="base64 SHA-256 hashes (RFC 9162 section 2.1.4)")


class LogOut(BaseModel):
    """The resident's exchange log."""

    entries: list[LogEntryOut]
    checkpoint_size: int
    checkpoint_verified: bool
    all_verified: bool
    older: int | None = Field(
        description="the `before` cursor of the next, older page (null on the last page)"
    )
    checkpoint: str = Field(
        description="the C2SP signed note (tlog-checkpoint: origin, size, base64 root hash) "
        "the audit paths lead to, signed by the log key (Ed25519, key id type 0x01) and "
        "cosigned by the witnesses (C2SP tlog-cosignature/v1, key id type 0x04); verify it "
        "with the keys at /.well-known/mynumber-log-keys"
    )
    consistency: ConsistencyOut | None = Field(
        None,
        description="with `since_size`: the proof that `checkpoint` extends the tree of that "
        "size (null when since_size is larger than the checkpoint: the log shrank)",
    )


@router.get("/me", response_model=MeOut)
def me(sess: SessionDep, lang: LangDep, information: InformationDep) -> MeOut:
    """What each agency holds about you, fetched through the hub (and so logged)."""
    return MeOut(
        sections=[
            InfoSectionOut(
                provider=s.provider,
                item=s.item,
                title=s.title_en if lang == "en" else s.title_ja,
                status=s.status,
                data=s.data,
                message=s.message,
                log_index=s.log_index,
            )
            for s in information.my_information(sess)
        ]
    )


@router.get("/log", response_model=LogOut)
def exchange_log(
    sess: SessionDep,
    log: LogDep,
    agency: Annotated[
        Literal[domain.AGENCIES] | None,  # type: ignore[valid-type]
        Query(description="requester or provider"),
    ] = None,
    date_from: Annotated[str | None, _date_query("from", "first day")] = None,
    date_to: Annotated[str | None, _date_query("to", "last day")] = None,
    before: Annotated[
        str | None,
        Query(pattern=r"^[0-9]{1,18}$", description="the `older` cursor of the previous page"),
    ] = None,
    since_size: Annotated[
        int | None,
        Query(ge=0, description="the size of the checkpoint you kept: adds a consistency proof"),
    ] = None,
    include_pending: Annotated[
        bool,
        Query(
            description="also list entries newer than the newest checkpoint, as pending "
            "inclusion (otherwise the answer waits briefly for a checkpoint covering them)"
        ),
    ] = False,
) -> LogOut:
    """Your exchange log, newest first, 100 entries a page, with the evidence to verify every
    entry on your own device: leaf bytes, audit paths, the signed and witness-cosigned
    checkpoint and (with `since_size`) a consistency proof from your last checkpoint.
    A range whose `from` is after its `to` is refused (400 invalid_argument)."""
    first = domain.parse_date_filter("from", date_from)
    last = domain.parse_date_filter("to", date_to)
    view = log.exchange_log(
        sess,
        agency=agency,
        date_from=first,
        date_to=last,
        before=before,
        since_size=since_size,
        include_pending=include_pending,
    )
    return LogOut(
        entries=[
            LogEntryOut(
                index=e.index,
                time=e.time,
                requester=e.requester,
                provider=e.provider,
                item=e.item,
                procedure=e.procedure,
                outcome=e.outcome,
                reason=e.reason,
                proof=e.proof,
                leaf=_b64(e.leaf),
                audit_path=[_b64(node) for node in e.audit_path],
                pending=e.pending,
            )
            for e in view.entries
        ],
        checkpoint_size=view.checkpoint_size,
        checkpoint_verified=view.checkpoint_verified,
        all_verified=view.all_verified,
        older=view.older,
        checkpoint=view.checkpoint,
        consistency=(
            ConsistencyOut(
                from_size=view.consistency[0],
                to_size=view.consistency[1],
                proof=[_b64(node) for node in view.consistency[2]],
            )
            if view.consistency
            else None
        ),
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
