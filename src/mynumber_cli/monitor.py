"""The log monitor (``mynumber log monitor``): replay the whole exchange log and recompute it.

What an auditor (the Personal Information Protection Commission) runs. From entry 0, or from
the state it kept last time, the monitor

1. fetches the newest checkpoint and checks its signature (pinned log key) and the witness
   quorum (pinned witness keys);
2. checks it extends the checkpoint kept last time (consistency proof), and refuses a log that
   shrank;
3. fetches every new entry, checks it is well formed (exactly the exchange-log fields, its own
   index, a timestamp) and folds its leaf hash into a compact range (the roots of the complete
   subtrees on the tree's left frontier, which is all it needs to keep);
4. recomputes the root and compares it with the checkpoint's.

So an edited, deleted or reordered entry, a bad signature, a missing cosignature and a forked
history all fail it. The state (checkpoint and compact range) is kept in an owner-only file
only after a clean run.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import click
import grpc
from mynumber.registry.v1 import (
    log_audit_pb2,
    log_audit_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
)

from mynumber_cli.config import CliContext, pass_ctx
from mynumber_cli.logcheck import (
    LEAF_FIELDS,
    LogFault,
    Trust,
    check_checkpoint,
    leaf_fields,
    write_private_json,
)
from mynumber_core.checkpoint import Checkpoint
from mynumber_core.cosignature import Cosignature
from mynumber_core.logverifier import LogVerificationError, verify_append
from mynumber_core.merkle import EMPTY_ROOT, leaf_hash, node_hash

__all__ = [
    "BATCH",
    "CompactRange",
    "LogSource",
    "MonitorResult",
    "MonitorState",
    "RegistrySource",
    "monitor",
    "run_monitor",
]

BATCH = 1000
"""Entries fetched per request."""


class LogSource(Protocol):
    """Where the monitor reads the log (the registry over mTLS, or a test double)."""

    def checkpoint(self) -> str:
        """The newest signed checkpoint note, with its cosignatures."""
        ...

    def leaves(self, start: int, end: int) -> Sequence[bytes]:
        """The leaf bytes of entries ``start`` .. ``end - 1``."""
        ...

    def consistency_proof(self, old_size: int, new_size: int) -> Sequence[bytes]:
        """RFC 9162 consistency proof between two sizes."""
        ...


@dataclass
class CompactRange:
    """The roots of the perfect subtrees covering leaves ``[0, size)``, largest first."""

    nodes: list[tuple[int, bytes]] = field(default_factory=list)
    size: int = 0

    def append(self, digest: bytes) -> None:
        """Add the next leaf hash, merging equal-height subtrees."""
        self.nodes.append((0, digest))
        self.size += 1
        while len(self.nodes) >= 2 and self.nodes[-1][0] == self.nodes[-2][0]:
            level, right = self.nodes.pop()
            _, left = self.nodes.pop()
            self.nodes.append((level + 1, node_hash(left, right)))

    def root(self) -> bytes:
        """The RFC 9162 root of the leaves so far."""
        if not self.nodes:
            return EMPTY_ROOT
        acc = self.nodes[-1][1]
        for _, digest in reversed(self.nodes[:-1]):
            acc = node_hash(digest, acc)
        return acc


@dataclass
class MonitorState:
    """What the monitor keeps between runs."""

    checkpoint: Checkpoint
    note: str
    frontier: CompactRange

    def save(self, path: Path) -> None:
        """Write owner-only (folder 0700, file 0600), atomically."""
        payload = {
            "origin": self.checkpoint.origin,
            "size": self.checkpoint.size,
            "root_hash": base64.b64encode(self.checkpoint.root_hash).decode(),
            "checkpoint": self.note,
            "frontier": [[lvl, base64.b64encode(h).decode()] for lvl, h in self.frontier.nodes],
        }
        write_private_json(path, payload)

    @classmethod
    def load(cls, path: Path) -> MonitorState | None:
        """The state of the last clean run, or None."""
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        try:
            checkpoint = Checkpoint(
                str(data["origin"]), int(data["size"]), base64.b64decode(data["root_hash"])
            )
            nodes = [(int(lvl), base64.b64decode(h, validate=True)) for lvl, h in data["frontier"]]
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise LogFault(f"the monitor state in {path} is malformed: {exc}") from None
        frontier = CompactRange(nodes, checkpoint.size)
        if frontier.root() != checkpoint.root_hash:
            raise LogFault(f"the monitor state in {path} is corrupt: its tree does not add up")
        return cls(checkpoint, str(data["checkpoint"]), frontier)


@dataclass(frozen=True)
class MonitorResult:
    """A clean run."""

    checkpoint: Checkpoint
    cosignatures: list[Cosignature]
    checked_from: int


def check_leaf(index: int, leaf: bytes) -> None:
    """Raise :class:`LogFault` unless ``leaf`` is a well-formed entry ``index``."""
    fields = leaf_fields(index, leaf)
    if fields["index"] != index:
        raise LogFault(
            f"entry {index} says it is entry {fields['index']}: entries were deleted, "
            "inserted or reordered"
        )
    try:
        dt.datetime.fromisoformat(str(fields["time"]))
    except ValueError:
        raise LogFault(f"entry {index} has no valid time") from None
    for name in LEAF_FIELDS:
        if name != "index" and not isinstance(fields[name], str):
            raise LogFault(f"entry {index}: field {name} is not text")


def run_monitor(
    source: LogSource,
    trust: Trust,
    state: MonitorState | None,
    *,
    progress: Callable[[int], None] = lambda _n: None,
    on_total: Callable[[int], None] = lambda _n: None,
) -> tuple[MonitorResult, MonitorState]:
    """Replay the log from ``state`` (or entry 0); raise :class:`LogFault` on any fault."""
    note = source.checkpoint()
    checkpoint, cosignatures = check_checkpoint(trust, note)
    frontier = CompactRange()
    if state is not None:
        kept = state.checkpoint
        proof = (
            source.consistency_proof(kept.size, checkpoint.size)
            if 0 < kept.size < checkpoint.size
            else []
        )
        try:
            verify_append(kept, checkpoint, proof)
        except LogVerificationError as exc:
            raise LogFault(f"HISTORY REWRITTEN since the last run: {exc}") from None
        frontier = CompactRange(list(state.frontier.nodes), state.frontier.size)
    start = frontier.size
    on_total(checkpoint.size - start)
    index = start
    while index < checkpoint.size:
        end = min(index + BATCH, checkpoint.size)
        leaves = list(source.leaves(index, end))
        if len(leaves) != end - index:
            raise LogFault(
                f"the log returned {len(leaves)} entries for {index}..{end - 1}: "
                "entries are missing"
            )
        for leaf in leaves:
            check_leaf(index, leaf)
            frontier.append(leaf_hash(leaf))
            index += 1
        progress(len(leaves))
    if frontier.root() != checkpoint.root_hash:
        raise LogFault(
            f"the entries do not add up to the signed checkpoint of size {checkpoint.size}: "
            "an entry was edited, or the log serves other entries than it signed"
        )
    result = MonitorResult(checkpoint, cosignatures, start)
    return result, MonitorState(checkpoint, note, frontier)


class RegistrySource:
    """The log as the registry serves it to the auditor (mTLS identity ``auditor``)."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._log = registry_pb2_grpc.ExchangeLogStub(channel)
        self._audit = log_audit_pb2_grpc.LogAuditStub(channel)

    def checkpoint(self) -> str:
        """The newest checkpoint the registry serves."""
        return str(self._log.GetCheckpoint(registry_pb2.GetCheckpointRequest()).checkpoint)

    def leaves(self, start: int, end: int) -> Sequence[bytes]:
        """Leaf bytes of ``[start, end)``."""
        request = log_audit_pb2.GetLeavesRequest(start=start, end=end)
        return [bytes(leaf) for leaf in self._audit.GetLeaves(request).leaves]

    def consistency_proof(self, old_size: int, new_size: int) -> Sequence[bytes]:
        """The registry's consistency proof (checked, never trusted)."""
        request = registry_pb2.GetConsistencyProofRequest(first_size=old_size, second_size=new_size)
        return [bytes(node) for node in self._log.GetConsistencyProof(request).proof]


@click.command("monitor")
@click.option(
    "--trust",
    "trust_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="pinned log and witness keys (default: <var>/log-trust.json)",
)
@click.option("--quorum", type=click.IntRange(min=0), default=None, help="witnesses required")
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="the monitor's kept state (default: <var>/log-monitor/state.json)",
)
@click.option("--from-zero", is_flag=True, help="ignore the kept state and replay from entry 0")
@click.option("--identity", default="auditor", show_default=True, help="mTLS identity to use")
@pass_ctx
def monitor(
    ctx: CliContext,
    trust_file: Path | None,
    quorum: int | None,
    state_file: Path | None,
    from_zero: bool,
    identity: str,
) -> None:
    """Replay the whole exchange log and recompute it (what an auditor runs); exit 2 on a fault."""
    try:
        trust = Trust.load(trust_file or ctx.var / "log-trust.json", quorum)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    path = state_file or ctx.var / "log-monitor" / "state.json"
    source = RegistrySource(ctx.channels(identity).channel("registry"))
    with ExitStack() as stack:
        bars: list[Any] = []

        def on_total(total: int) -> None:
            bar = click.progressbar(length=total, label="replaying entries", file=sys.stderr)
            bars.append(stack.enter_context(bar))

        try:
            state = None if from_zero else MonitorState.load(path)
            result, new_state = run_monitor(
                source, trust, state, progress=lambda n: bars[0].update(n), on_total=on_total
            )
        except LogFault as exc:
            stack.close()
            _alarm(str(exc))
            raise SystemExit(2) from None
        except grpc.RpcError as exc:
            raise click.ClickException(
                f"cannot read the log from the registry: {exc.details()}"
            ) from None
    new_state.save(path)
    names = ", ".join(sorted(c.witness for c in result.cosignatures)) or "none"
    checked = result.checkpoint.size - result.checked_from
    click.echo(
        f"log OK: {result.checkpoint.size} entries ({checked} checked from entry "
        f"{result.checked_from}); signature verified; cosigned by {names}; state kept in {path}"
    )


def _alarm(message: str) -> None:
    bar = "!" * 78
    click.secho(bar, fg="red", bold=True, err=True)
    click.secho("WARNING: THE EXCHANGE LOG FAILED THE MONITOR", fg="red", bold=True, err=True)
    click.secho(message, fg="red", err=True)
    click.secho("The kept state was not replaced; keep the log's answers as evidence.", err=True)
    click.secho(bar, fg="red", bold=True, err=True)
