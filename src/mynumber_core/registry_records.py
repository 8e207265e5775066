"""Plain results of the registry calls :class:`~mynumber_core.registry_client.RegistryClient`
makes for the portal: claim PINs and the exchange log (checkpoints, entries with their proofs).

No protobuf types: use cases read these dataclasses and never import ``grpc`` or ``*_pb2``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class LinkOutcome:
    """One record of a bulk link (Registry.LinkBatch): the caller's token, or why not."""

    token: str = ""
    """Empty when the record was not linked."""
    code: int = 0
    """gRPC status code number (0: linked)."""
    message: str = ""
    """What is wrong with the record (never the number or a fact)."""

    @property
    def linked(self) -> bool:
        """True when the record was linked (its token is set)."""
        return self.code == 0 and bool(self.token)


@dataclass(frozen=True)
class ClaimPin:
    """A freshly issued claim PIN (shown to the resident once) and the year it is valid for."""

    pin: str
    year: int


@dataclass(frozen=True)
class SignedCheckpoint:
    """The log's latest signed checkpoint with the key that signs it (clients pin the key)."""

    checkpoint: str
    """C2SP tlog-checkpoint text, Ed25519-signed."""
    key_name: str
    public_key: bytes
    """Raw Ed25519 public key."""


@dataclass(frozen=True)
class LogEntry:
    """One exchange-log entry as listed: the exact leaf bytes hashed into the tree and its
    inclusion proof against the page's checkpoint, plus the loose fields of the response."""

    index: int
    time: dt.datetime
    requester: str
    provider: str
    item: str
    procedure: str
    outcome: str
    """provided, denied, failed, delivered or unknown."""
    reason: str
    leaf: bytes
    inclusion_proof: list[bytes]
    pending: bool = False
    """Newer than the page's checkpoint: pending inclusion, no proof yet."""


@dataclass(frozen=True)
class LogPage:
    """A page of a person's exchange-log entries and the checkpoint their proofs refer to."""

    entries: list[LogEntry]
    checkpoint: str
    more: bool
    """More matching entries lie beyond this page."""
