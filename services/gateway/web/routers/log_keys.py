"""``GET /.well-known/mynumber-log-keys``: the keys a client pins to verify the exchange log.

The log's C2SP verifier key (signature type 0x01), each witness's cosigner key (type 0x04) and
the quorum of witness cosignatures clients should require. Public, no session needed. A client
pins what it first saw (and should check it out of band); the portal's own verifier module and
``mynumber log`` warn when it changes.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.gateway.web.routers.common import PortalDep

router = APIRouter(tags=["exchange log"])


class LogKeysOut(BaseModel):
    """The exchange log's published keys."""

    origin: str = Field(description="the log's name, the first line of its checkpoints")
    log: str = Field(description="C2SP verifier key of the log: name+hex(key id)+base64(0x01||key)")
    witnesses: list[str] = Field(
        description="C2SP verifier keys of the witnesses: name+hex(key id)+base64(0x04||key)"
    )
    quorum: int = Field(description="witness cosignatures a checkpoint needs to be trusted")


@router.get("/.well-known/mynumber-log-keys", response_model=LogKeysOut)
def log_keys(portal: PortalDep) -> LogKeysOut:
    """The log's and the witnesses' public keys, for clients to pin."""
    return LogKeysOut(**portal.log.published_keys())
