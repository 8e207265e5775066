"""``mynumber log`` verifies the exchange log itself, against a portal that lies.

A real HTTP server on loopback plays the portal: it serves ``GET /api/log`` evidence (leaf
bytes, audit paths, a C2SP checkpoint signed by the log key and cosigned by two witness keys,
and a consistency proof from ``since_size``) for an in-memory RFC 9162 tree. Told to lie, it
changes one leaf, one audit-path node or the checkpoint signature, drops a witness, or shows a
forked history after the resident's last run. The real ``mynumber`` command catches each with a
loud message and exit status 2, and keeps its old checkpoint.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mynumber_cli.__main__ import cli
from mynumber_core.checkpoint import Checkpoint, sign_checkpoint, verifier_key
from mynumber_core.cosignature import add_signature_lines, cosign, cosigner_vkey
from mynumber_core.merkle import InMemoryMerkleTree

ORIGIN = "mynumber.local/exchange-log"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"cli log").digest())
WITNESS_KEYS = {
    f"witness-{n}.mynumber.local": Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"cli witness {n}".encode()).digest()
    )
    for n in (1, 2)
}
MY_TAG = "tag-me"


def _leaf(index: int, tag: str, requester: str = "pension") -> bytes:
    fields = {
        "index": index,
        "time": f"2026-11-{1 + index % 28:02d}T09:00:00.000+00:00",
        "requester": requester,
        "provider": "tax",
        "item": "income",
        "procedure": "pension.exemption",
        "outcome": "answered",
        "reason": "",
        "request_id": f"r{index}",
        "tag": tag,
    }
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class Portal:
    """The (possibly lying) portal's log."""

    leaves: list[bytes] = field(default_factory=list)
    fault: str = ""
    witnesses: tuple[str, ...] = tuple(WITNESS_KEYS)

    def grow(self, n: int, *, tag_every: int = 3, prefix: str = "") -> None:
        for _ in range(n):
            i = len(self.leaves)
            tag = MY_TAG if i % tag_every == 0 else f"other-{i}"
            self.leaves.append(_leaf(i, tag, requester=prefix + "pension"))

    def answer(self, since: int | None) -> dict[str, Any]:
        tree = InMemoryMerkleTree()
        for leaf in self.leaves:
            tree.append(leaf)
        size = tree.size
        note = sign_checkpoint(Checkpoint(ORIGIN, size, tree.root()), ORIGIN, LOG_KEY)
        body = Checkpoint(ORIGIN, size, tree.root()).body()
        lines = [cosign(body, name, WITNESS_KEYS[name], 1_795_000_000) for name in self.witnesses]
        note = add_signature_lines(note, lines)
        if self.fault == "signature":
            sig_line = note.split("\n")[4]
            blob = bytearray(base64.b64decode(sig_line.split(" ")[2]))
            blob[10] ^= 0x01
            note = note.replace(
                sig_line, f"{sig_line.rsplit(' ', 1)[0]} {base64.b64encode(bytes(blob)).decode()}"
            )
        entries: list[dict[str, Any]] = []
        for i, leaf in enumerate(self.leaves):
            fields = json.loads(leaf)
            if fields["tag"] != MY_TAG:
                continue
            path = tree.inclusion_proof(i, size)
            shown_leaf = leaf
            if self.fault == "leaf" and not entries:
                shown_leaf = leaf.replace(b'"pension"', b'"health"')
            if self.fault == "audit" and not entries and path:
                path = [bytes(b ^ 0x80 if k == 0 else b for k, b in enumerate(path[0])), *path[1:]]
            told = json.loads(shown_leaf)  # a liar keeps the shown fields in line with its leaf
            shown = {k: told[k] for k in ("time", "requester", "provider", "item", "outcome")}
            if self.fault == "display" and not entries:
                shown["requester"] = "gateway"
            hide = self.fault == "pending" and not entries  # "pending" to skip the check
            entries.append(
                {
                    "index": i,
                    "leaf": base64.b64encode(shown_leaf).decode(),
                    "audit_path": [] if hide else [base64.b64encode(h).decode() for h in path],
                    "pending": hide,
                    **shown,
                }
            )
        response: dict[str, Any] = {"checkpoint": note, "checkpoint_size": size, "entries": entries}
        if since is not None and 0 < since <= size:
            proof = tree.consistency_proof(since, size)
            response["consistency"] = {
                "from_size": since,
                "to_size": size,
                "proof": [base64.b64encode(h).decode() for h in proof],
            }
        return response


@pytest.fixture
def portal() -> Iterator[tuple[Portal, str]]:
    state = Portal()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path != "/api/log" or "mnp_session=s3cret" not in self.headers.get("Cookie", ""):
                self.send_response(404)
                self.end_headers()
                return
            since = parse_qs(url.query).get("since_size", [None])[0]
            body = json.dumps(state.answer(int(since) if since else None)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _setup(var: Path, url: str, quorum: int = 2) -> None:
    var.mkdir(parents=True, exist_ok=True)
    (var / "portal-session.json").write_text(
        json.dumps({"portal": url, "mnp_session": "s3cret", "card": "C-1"})
    )
    trust = {
        "log": verifier_key(ORIGIN, LOG_KEY.public_key()),
        "witnesses": [cosigner_vkey(n, k.public_key()) for n, k in WITNESS_KEYS.items()],
        "quorum": quorum,
    }
    (var / "log-trust.json").write_text(json.dumps(trust))


def _run(var: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--var", str(var), "log", *args], catch_exceptions=False)


def _state_files(var: Path) -> list[Path]:
    return sorted((var / "log-state").glob("*.json"))


def test_honest_portal_verifies_and_keeps_an_owner_only_checkpoint(
    portal: tuple[Portal, str], tmp_path: Path
) -> None:
    state, url = portal
    state.grow(30)
    _setup(tmp_path, url)
    first = _run(tmp_path)
    assert first.exit_code == 0, first.output
    assert "checkpoint: 30 entries, signature verified" in first.output
    assert "cosigned by 2 witnesses" in first.output and "first run" in first.output
    assert first.output.count("verified here") == 10  # every third entry is mine
    [kept] = _state_files(tmp_path)
    assert kept.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "log-state").stat().st_mode & 0o777 == 0o700
    assert json.loads(kept.read_text())["size"] == 30
    state.grow(15)
    second = _run(tmp_path)
    assert second.exit_code == 0, second.output
    assert "consistent with the checkpoint of size 30" in second.output
    assert json.loads(kept.read_text())["size"] == 45


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("leaf", "entry 0 is NOT in the signed log"),
        ("audit", "entry 0 is NOT in the signed log"),
        ("signature", "signature does not verify"),
        ("display", "shows requester differently from the signed leaf"),
        ("pending", "entry 0 is called pending, but the checkpoint of size 20 covers it"),
    ],
)
def test_each_lie_is_caught_loudly(
    portal: tuple[Portal, str], tmp_path: Path, fault: str, words: str
) -> None:
    state, url = portal
    state.grow(20)
    state.fault = fault
    _setup(tmp_path, url)
    result = _run(tmp_path)
    assert result.exit_code == 2
    assert "WARNING: THE EXCHANGE LOG DID NOT VERIFY" in result.output
    assert words in result.output
    assert _state_files(tmp_path) == []  # nothing kept from a lying answer


def test_a_forked_history_after_the_last_run_is_caught(
    portal: tuple[Portal, str], tmp_path: Path
) -> None:
    state, url = portal
    state.grow(16)
    _setup(tmp_path, url)
    assert _run(tmp_path).exit_code == 0
    [kept] = _state_files(tmp_path)
    before = kept.read_text()
    # The portal now shows a different past (entry 5 rewritten) plus new entries; the log key
    # and even both witness keys sign it, so only the kept checkpoint can tell.
    state.leaves[5] = _leaf(5, "other-5", requester="municipality")
    state.grow(8)
    result = _run(tmp_path)
    assert result.exit_code == 2
    assert "HISTORY REWRITTEN since the last run" in result.output
    assert kept.read_text() == before
    # A shrunken log is caught as well.
    state.leaves = state.leaves[:10]
    assert "log shrank from 16 entries" in _run(tmp_path).output


def test_a_checkpoint_without_the_witness_quorum_is_rejected(
    portal: tuple[Portal, str], tmp_path: Path
) -> None:
    state, url = portal
    state.grow(9)
    state.witnesses = ("witness-1.mynumber.local",)
    _setup(tmp_path, url)
    result = _run(tmp_path)
    assert result.exit_code == 2
    assert "cosigned by 1 of the 2 trusted witnesses" in result.output
    assert _run(tmp_path, "--quorum", "1").exit_code == 0  # an explicit, weaker policy
