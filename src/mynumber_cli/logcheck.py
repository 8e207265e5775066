"""The resident's own verification of the exchange log (``mynumber log``): trust nobody's verdict.

The portal sends evidence, not verdicts (``GET /api/log``): per entry the exact leaf bytes,
its index and audit path, and the C2SP signed checkpoint (with the witnesses' cosignatures)
those paths lead to; with ``?since_size=N`` also a consistency proof from size N. This module

1. checks the checkpoint's signature against the pinned log key and that at least ``quorum``
   of the pinned witnesses cosigned it (so a view the witnesses never saw is rejected);
2. checks the checkpoint extends the one kept from the last run (consistency proof), so a
   rewritten or forked history is caught;
3. recomputes each entry's leaf hash from its leaf bytes and checks its audit path;
4. takes the fields it prints from the leaf itself, and rejects an entry whose displayed
   fields differ from its leaf.

The last good checkpoint is kept per resident in an owner-only file. Any failure raises
:class:`LogFault`; the command prints it loudly and exits non-zero, and keeps the old state.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mynumber_core.checkpoint import Checkpoint, CheckpointError
from mynumber_core.cosignature import Cosignature, Witness, require_quorum
from mynumber_core.logverifier import (
    LogVerificationError,
    TrustedLog,
    verify_append,
    verify_checkpoint,
    verify_entry_inclusion,
)

__all__ = [
    "LEAF_FIELDS",
    "OPTIONAL_LEAF_FIELDS",
    "CheckedLog",
    "LogFault",
    "Trust",
    "VerifiedEntry",
    "load_state",
    "save_state",
    "verify_log_response",
]

LEAF_FIELDS = (
    "index",
    "time",
    "requester",
    "provider",
    "item",
    "procedure",
    "outcome",
    "reason",
    "request_id",
    "tag",
)
"""The fields of every exchange-log leaf (canonical JSON written by the registry)."""
OPTIONAL_LEAF_FIELDS = ("answer_sha256", "answer_position")
"""Fields a leaf may also carry: the SHA-256 (hex) of the sealed answer the hub relayed, and
the exchange's position in a batch-sealed answer."""
DISPLAY_FIELDS = ("time", "requester", "provider", "item", "procedure", "outcome", "reason")
"""Fields the portal also sends in clear; each must equal the leaf's."""


class LogFault(Exception):
    """The log's evidence did not verify: a proof, a signature, a quorum or the history."""


@dataclass(frozen=True)
class Trust:
    """What the client pins: the log's key, the witnesses' keys, and the quorum required."""

    log: TrustedLog
    witnesses: tuple[Witness, ...]
    quorum: int

    @classmethod
    def load(cls, path: Path, quorum: int | None = None) -> Trust:
        """Read ``log-trust.json`` (``{"log": vkey, "witnesses": [vkeys], "quorum": n}``)."""
        try:
            data = json.loads(path.read_text())
            log = TrustedLog.from_verifier_key(str(data["log"]))
            witnesses = tuple(Witness.from_vkey(str(v)) for v in data.get("witnesses", []))
            required = int(data.get("quorum", len(witnesses))) if quorum is None else quorum
        except FileNotFoundError:
            raise ValueError(
                f"no pinned log keys in {path}: `make run` writes it, or pass --trust with the "
                "keys published at /.well-known/mynumber-log-keys (check them out of band)"
            ) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path} is not a valid log trust file: {exc}") from None
        if not 0 <= required <= len(witnesses):
            raise ValueError(
                f"quorum {required} is impossible with {len(witnesses)} pinned witnesses"
            )
        return cls(log, witnesses, required)


@dataclass(frozen=True)
class VerifiedEntry:
    """One entry as printed: its fields come from the verified leaf."""

    index: int
    fields: Mapping[str, Any]
    pending: bool


@dataclass
class CheckedLog:
    """The outcome of a successful verification."""

    checkpoint: Checkpoint
    note: str
    cosignatures: list[Cosignature]
    entries: list[VerifiedEntry] = field(default_factory=list)
    extended_from: int | None = None


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise LogFault(f"{what} is missing or not a string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise LogFault(f"{what} is not valid base64") from None


def _hashes(values: Any, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise LogFault(f"{what} is missing or not a list")
    return [_b64(v, f"{what}[{i}]") for i, v in enumerate(values)]


def load_state(path: Path) -> tuple[Checkpoint, str] | None:
    """The checkpoint kept from the last run, re-verified later by the caller; None if none."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise LogFault(f"the kept checkpoint in {path} is unreadable: {exc}") from None
    try:
        checkpoint = Checkpoint(
            str(data["origin"]),
            int(data["size"]),
            base64.b64decode(data["root_hash"], validate=True),
        )
    except (KeyError, ValueError, TypeError, binascii.Error) as exc:
        raise LogFault(f"the kept checkpoint in {path} is malformed: {exc}") from None
    return checkpoint, str(data.get("checkpoint", ""))


def save_state(path: Path, checkpoint: Checkpoint, note: str) -> None:
    """Keep the checkpoint in an owner-only file (folder 0700, file 0600), atomically."""
    payload = {
        "origin": checkpoint.origin,
        "size": checkpoint.size,
        "root_hash": base64.b64encode(checkpoint.root_hash).decode(),
        "checkpoint": note,
    }
    write_private_json(path, payload, indent=2)


def write_private_json(
    path: Path, payload: Mapping[str, Any], *, indent: int | None = None
) -> None:
    """Write ``payload`` as JSON to an owner-only file (folder 0700, file 0600), atomically
    (a temporary file beside it, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh, indent=indent)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def check_checkpoint(trust: Trust, note: str) -> tuple[Checkpoint, list[Cosignature]]:
    """The checkpoint's signature by the log's key and its witness quorum, both checked on
    this device; :class:`LogFault` says which failed."""
    try:
        checkpoint = verify_checkpoint(trust.log, note)
    except CheckpointError as exc:
        raise LogFault(f"the checkpoint's signature does not verify: {exc}") from None
    try:
        cosignatures = require_quorum(note, trust.witnesses, trust.quorum)
    except CheckpointError as exc:
        raise LogFault(f"the checkpoint is not witnessed: {exc}") from None
    return checkpoint, cosignatures


def _check_history(
    kept: Checkpoint | None, checkpoint: Checkpoint, response: Mapping[str, Any]
) -> int | None:
    if kept is None:
        return None
    if kept.size == 0:
        return 0  # the empty tree is extended by every tree
    if checkpoint.size < kept.size:
        raise LogFault(
            f"HISTORY REWRITTEN: the log shrank from {kept.size} entries (last run) to "
            f"{checkpoint.size}"
        )
    consistency = response.get("consistency") or {}
    proof: Sequence[bytes] = []
    if checkpoint.size != kept.size or consistency:
        if int(consistency.get("from_size", -1)) != kept.size:
            raise LogFault(
                f"the portal sent no consistency proof from size {kept.size} (the checkpoint "
                "kept from the last run), so the history cannot be checked"
            )
        if int(consistency.get("to_size", -1)) != checkpoint.size:
            raise LogFault("the consistency proof is for another checkpoint size")
        proof = _hashes(consistency.get("proof"), "consistency proof")
    try:
        verify_append(kept, checkpoint, proof)
    except LogVerificationError as exc:
        raise LogFault(f"HISTORY REWRITTEN since the last run: {exc}") from None
    return kept.size


def leaf_fields(index: int, leaf: bytes) -> dict[str, Any]:
    """The fields of entry ``index``'s leaf; :class:`LogFault` unless the leaf is JSON with
    exactly the exchange-log fields."""
    try:
        fields = json.loads(leaf)
    except ValueError:
        raise LogFault(f"entry {index}: the leaf is not JSON") from None
    if not well_formed_fields(fields):
        raise LogFault(f"entry {index}: the leaf does not have exactly the exchange-log fields")
    return dict(fields)


def well_formed_fields(fields: Any) -> bool:
    """Whether a decoded leaf has every exchange-log field and nothing unknown."""
    if not isinstance(fields, dict) or not set(LEAF_FIELDS) <= set(fields):
        return False
    if not set(fields) <= {*LEAF_FIELDS, *OPTIONAL_LEAF_FIELDS}:
        return False
    digest = fields.get("answer_sha256")
    if digest is not None and not (
        isinstance(digest, str)
        and len(digest) == 64
        and all(c in "0123456789abcdef" for c in digest)
    ):
        return False
    position = fields.get("answer_position")
    return position is None or (
        isinstance(position, int) and not isinstance(position, bool) and position >= 0
    )


def _check_entry(checkpoint: Checkpoint, raw: Mapping[str, Any]) -> VerifiedEntry:
    index = raw.get("index")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise LogFault("an entry has no valid index")
    leaf = _b64(raw.get("leaf"), f"entry {index}: leaf")
    fields = leaf_fields(index, leaf)
    if fields["index"] != index:
        raise LogFault(f"entry {index}: the leaf says it is entry {fields['index']}")
    for name in DISPLAY_FIELDS:
        if name in raw and raw[name] != fields[name]:
            raise LogFault(
                f"entry {index}: the portal shows {name} differently from the signed leaf"
            )
    pending = bool(raw.get("pending"))
    if pending:
        if index < checkpoint.size:
            raise LogFault(
                f"entry {index} is called pending, but the checkpoint of size "
                f"{checkpoint.size} covers it and no proof was sent"
            )
        return VerifiedEntry(index, fields, pending=True)
    path = _hashes(raw.get("audit_path"), f"entry {index}: audit path")
    try:
        verify_entry_inclusion(checkpoint, leaf, index, path)
    except LogVerificationError as exc:
        raise LogFault(f"entry {index} is NOT in the signed log: {exc}") from None
    return VerifiedEntry(index, fields, pending=False)


def verify_log_response(
    trust: Trust, response: Mapping[str, Any], kept: Checkpoint | None
) -> CheckedLog:
    """Verify one ``GET /api/log`` answer against the pinned keys and the kept checkpoint."""
    note = response.get("checkpoint")
    if not isinstance(note, str) or not note:
        raise LogFault("the portal sent no signed checkpoint")
    checkpoint, cosignatures = check_checkpoint(trust, note)
    extended_from = _check_history(kept, checkpoint, response)
    entries = response.get("entries")
    if not isinstance(entries, list):
        raise LogFault("the portal sent no entry list")
    checked = CheckedLog(checkpoint, note, cosignatures, extended_from=extended_from)
    for raw in entries:
        if not isinstance(raw, dict):
            raise LogFault("an entry is not an object")
        checked.entries.append(_check_entry(checkpoint, raw))
    return checked
