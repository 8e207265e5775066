"""The log monitor replays the whole log and recomputes it (what an auditor runs).

An in-memory log (the same canonical leaves the registry writes) is served with a checkpoint
signed by a log key and cosigned by two witness keys. The monitor passes on a clean
20,000-entry log and resumes from its state; it fails on an edited, deleted or reordered
entry, a bad signature, a missing cosignature and a forked history.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from mynumber_cli.logcheck import LogFault, Trust
from mynumber_cli.monitor import CompactRange, MonitorState, run_monitor
from mynumber_core.checkpoint import Checkpoint, sign_checkpoint
from mynumber_core.cosignature import Witness, add_signature_lines, cosign
from mynumber_core.logverifier import TrustedLog
from mynumber_core.merkle import InMemoryMerkleTree, leaf_hash, root_hash

ORIGIN = "mynumber.local/exchange-log"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"monitor log").digest())
WITNESSES = {
    f"w{n}.example": Ed25519PrivateKey.from_private_bytes(hashlib.sha256(bytes([n])).digest())
    for n in (1, 2)
}
TRUST = Trust(
    TrustedLog(ORIGIN, ORIGIN, LOG_KEY.public_key()),
    tuple(Witness(name, key.public_key()) for name, key in WITNESSES.items()),
    2,
)


def leaf(index: int, requester: str = "pension") -> bytes:
    fields = {
        "index": index,
        "time": "2026-11-27T09:00:00.000+00:00",
        "requester": requester,
        "provider": "tax",
        "item": "income",
        "procedure": "pension.exemption",
        "outcome": "answered",
        "reason": "",
        "request_id": f"r{index}",
        "tag": f"t{index % 97}",
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def signed(entries: Sequence[bytes], witnesses: Sequence[str] = tuple(WITNESSES)) -> str:
    tree = InMemoryMerkleTree()
    for entry in entries:
        tree.append(entry)
    checkpoint = Checkpoint(ORIGIN, tree.size, tree.root())
    note = sign_checkpoint(checkpoint, ORIGIN, LOG_KEY)
    lines = [cosign(checkpoint.body(), w, WITNESSES[w], 1_795_000_000) for w in witnesses]
    return add_signature_lines(note, lines)


@dataclass
class Source:
    """The log as served: leaves (maybe tampered) and a note (signed over the honest ones)."""

    served: list[bytes]
    note: str
    fetches: list[tuple[int, int]] = field(default_factory=list)

    def checkpoint(self) -> str:
        return self.note

    def leaves(self, start: int, end: int) -> Sequence[bytes]:
        self.fetches.append((start, end))
        return self.served[start:end]

    def consistency_proof(self, old_size: int, new_size: int) -> Sequence[bytes]:
        tree = InMemoryMerkleTree()
        for entry in self.served[:new_size]:
            tree.append(entry)
        return tree.consistency_proof(old_size, new_size)


def honest(n: int) -> list[bytes]:
    return [leaf(i) for i in range(n)]


def test_clean_20000_entry_log_passes_and_resumes(tmp_path: Path) -> None:
    entries = honest(20_000)
    seen: list[int] = []
    started = time.perf_counter()
    result, state = run_monitor(Source(entries, signed(entries)), TRUST, None, progress=seen.append)
    elapsed = time.perf_counter() - started
    assert (
        result.checkpoint.size == 20_000 and sum(seen) == 20_000 and len(result.cosignatures) == 2
    )
    print(f"monitor: 20,000 entries replayed in {elapsed:.2f} s")
    path = tmp_path / "state" / "monitor.json"
    state.save(path)
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = MonitorState.load(path)
    assert loaded is not None and loaded.checkpoint == result.checkpoint
    more = entries + [leaf(i) for i in range(20_000, 20_500)]
    source = Source(more, signed(more))
    again, _ = run_monitor(source, TRUST, loaded)
    assert again.checked_from == 20_000 and again.checkpoint.size == 20_500
    assert source.fetches == [(20_000, 20_500)]  # only the new entries were read


def _fails(source: Source, state: MonitorState | None = None) -> str:
    with pytest.raises(LogFault) as caught:
        run_monitor(source, TRUST, state)
    return str(caught.value)


def test_an_edited_entry_fails() -> None:
    entries = honest(3000)
    served = list(entries)
    served[1234] = leaf(1234, requester="health")
    assert "do not add up to the signed checkpoint" in _fails(Source(served, signed(entries)))


def test_a_deleted_entry_fails() -> None:
    entries = honest(3000)
    served = entries[:500] + entries[501:]
    assert "entry 500 says it is entry 501" in _fails(Source(served, signed(entries)))
    assert "entries are missing" in _fails(Source(entries[:-1], signed(entries)))


def test_reordered_entries_fail() -> None:
    entries = honest(3000)
    swapped = list(entries)
    swapped[10], swapped[11] = swapped[11], swapped[10]
    assert "entry 10 says it is entry 11" in _fails(Source(swapped, signed(entries)))
    # Swapped and renumbered so each claims its place: the tree no longer matches.
    renumbered = list(entries)
    renumbered[10] = entries[11].replace(b'"index":11', b'"index":10')
    renumbered[11] = entries[10].replace(b'"index":10', b'"index":11')
    assert renumbered[10] != entries[10]
    assert "do not add up" in _fails(Source(renumbered, signed(entries)))


def test_a_bad_signature_or_a_missing_cosignature_fails() -> None:
    entries = honest(100)
    note = signed(entries)
    line = note.split("\n")[4]
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[20] ^= 1
    bad = note.replace(line, f"{line.rsplit(' ', 1)[0]} {base64.b64encode(bytes(blob)).decode()}")
    assert "signature does not verify" in _fails(Source(entries, bad))
    lonely = signed(entries, witnesses=["w1.example"])
    assert "cosigned by 1 of the 2 trusted witnesses" in _fails(Source(entries, lonely))


def test_a_fork_after_the_last_run_fails() -> None:
    entries = honest(2000)
    _, state = run_monitor(Source(entries, signed(entries)), TRUST, None)
    forked = list(entries)
    forked[7] = leaf(7, requester="municipality")  # another past, signed and cosigned
    forked += [leaf(i) for i in range(2000, 2100)]
    assert "HISTORY REWRITTEN since the last run" in _fails(Source(forked, signed(forked)), state)
    same_size = list(entries)
    same_size[3] = leaf(3, requester="gateway")
    assert "HISTORY REWRITTEN" in _fails(Source(same_size, signed(same_size)), state)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=8), max_size=70))
def test_compact_range_root_is_the_rfc9162_root(items: list[bytes]) -> None:
    frontier = CompactRange()
    for item in items:
        frontier.append(leaf_hash(item))
    assert frontier.root() == root_hash([leaf_hash(item) for item in items])
