"""The browser's verifier module (services/gateway/web/static/logverify.js), run in Node.js.

Node's WebCrypto (the same SHA-256 and Ed25519 API Chromium has) runs the module over evidence
built here with the Python log code: the honest log verifies, and a changed leaf, audit-path
node, checkpoint signature, missing witness and forked history are each reported. The real
page is tested in Chromium in tests/browser.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from mynumber_core.checkpoint import Checkpoint, sign_checkpoint, verifier_key
from mynumber_core.cosignature import add_signature_lines, cosign, cosigner_vkey
from mynumber_core.merkle import InMemoryMerkleTree

MODULE = Path(__file__).resolve().parents[3] / "services/gateway/web/static/logverify.js"
ORIGIN = "mynumber.local/exchange-log"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"js log").digest())
WITNESSES = {
    f"witness-{n}.mynumber.local": Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"js witness {n}".encode()).digest()
    )
    for n in (1, 2)
}
TRUST = {
    "log": verifier_key(ORIGIN, LOG_KEY.public_key()),
    "witnesses": [cosigner_vkey(n, k.public_key()) for n, k in WITNESSES.items()],
    "quorum": 2,
}
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _leaf(i: int, requester: str = "pension") -> bytes:
    fields = {
        "index": i,
        "time": "2026-11-27T09:00:00.000+00:00",
        "requester": requester,
        "provider": "tax",
        "item": "income",
        "procedure": "pension.exemption",
        "outcome": "answered",
        "reason": "",
        "request_id": f"r{i}",
        "tag": "me" if i % 2 else "other",
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def evidence(
    leaves: list[bytes], since: int | None = None, witnesses: tuple[str, ...] = tuple(WITNESSES)
) -> dict[str, Any]:
    tree = InMemoryMerkleTree()
    for leaf in leaves:
        tree.append(leaf)
    cp = Checkpoint(ORIGIN, tree.size, tree.root())
    note = add_signature_lines(
        sign_checkpoint(cp, ORIGIN, LOG_KEY),
        [cosign(cp.body(), w, WITNESSES[w], 1_795_000_000) for w in witnesses],
    )
    entries = []
    for i, leaf in enumerate(leaves):
        if json.loads(leaf)["tag"] != "me":
            continue
        entries.append(
            {
                "index": i,
                "leaf": _b64(leaf),
                "audit_path": [_b64(h) for h in tree.inclusion_proof(i, tree.size)],
                "pending": False,
                "requester": json.loads(leaf)["requester"],
            }
        )
    out: dict[str, Any] = {"checkpoint": note, "checkpoint_size": tree.size, "entries": entries}
    if since:
        proof = tree.consistency_proof(since, tree.size)
        out["consistency"] = {
            "from_size": since,
            "to_size": tree.size,
            "proof": [_b64(h) for h in proof],
        }
    return out


def run_js(evidence: dict[str, Any], kept: dict[str, Any] | None = None) -> dict[str, Any]:
    script = (
        f"import {{ verifyLog }} from {json.dumps(MODULE.as_uri())};\n"
        "const input = JSON.parse(process.argv[1]);\n"
        "const result = await verifyLog(input.evidence, input.trust, input.kept);\n"
        "result.checkpoint = result.checkpoint && "
        "{ size: result.checkpoint.size, origin: result.checkpoint.origin };\n"
        "console.log(JSON.stringify(result));\n"
    )
    payload = json.dumps({"evidence": evidence, "trust": TRUST, "kept": kept})
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script, payload],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _kept(leaves: list[bytes]) -> dict[str, Any]:
    tree = InMemoryMerkleTree()
    for leaf in leaves:
        tree.append(leaf)
    return {"size": tree.size, "root": _b64(tree.root())}


def test_an_honest_log_verifies_on_the_device() -> None:
    leaves = [_leaf(i) for i in range(37)]
    result = run_js(evidence(leaves))
    assert result["fault"] is None
    assert result["cosigners"] == sorted(WITNESSES)
    assert [r["status"] for r in result["rows"]] == ["verified"] * 18
    grown = leaves + [_leaf(i) for i in range(37, 64)]
    later = run_js(evidence(grown, since=37), kept=_kept(leaves))
    assert later["fault"] is None and later["extendedFrom"] == 37


def test_each_fault_is_reported() -> None:
    leaves = [_leaf(i) for i in range(20)]
    honest = evidence(leaves)
    changed_leaf = json.loads(json.dumps(honest))
    bad = base64.b64decode(changed_leaf["entries"][0]["leaf"]).replace(b"pension", b"health")
    changed_leaf["entries"][0]["leaf"] = _b64(bad)
    changed_leaf["entries"][0]["requester"] = "health"
    rows = run_js(changed_leaf)["rows"]
    assert rows[0]["status"] == "failed" and "audit path" in rows[0]["error"]
    assert {r["status"] for r in rows[1:]} == {"verified"}

    changed_node = json.loads(json.dumps(honest))
    node = bytearray(base64.b64decode(changed_node["entries"][1]["audit_path"][0]))
    node[0] ^= 1
    changed_node["entries"][1]["audit_path"][0] = _b64(bytes(node))
    assert run_js(changed_node)["rows"][1]["status"] == "failed"

    bad_signature = json.loads(json.dumps(honest))
    line = bad_signature["checkpoint"].split("\n")[4]
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[9] ^= 1
    bad_signature["checkpoint"] = bad_signature["checkpoint"].replace(
        line, f"{line.rsplit(' ', 1)[0]} {_b64(bytes(blob))}"
    )
    assert "signature does not verify" in run_js(bad_signature)["fault"]

    lonely = evidence(leaves, witnesses=("witness-1.mynumber.local",))
    assert "cosigned by 1 of the 2 pinned witnesses" in run_js(lonely)["fault"]

    forked = [*leaves[:5], _leaf(5, requester="municipality"), *leaves[6:], _leaf(20)]
    fault = run_js(evidence(forked, since=20), kept=_kept(leaves))["fault"]
    assert "does not extend the kept one of size 20" in fault


@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_consistency_and_forks_agree_with_the_python_log(data: st.DataObject) -> None:
    first = data.draw(st.integers(min_value=1, max_value=30), label="first")
    second = data.draw(st.integers(min_value=first, max_value=45), label="second")
    leaves = [_leaf(i) for i in range(second)]
    honest = run_js(evidence(leaves, since=first), kept=_kept(leaves[:first]))
    assert honest["fault"] is None, honest["fault"]
    assert all(r["status"] == "verified" for r in honest["rows"])
    changed = data.draw(st.integers(min_value=0, max_value=first - 1), label="changed")
    forked = list(leaves)
    forked[changed] = _leaf(changed, requester="tax")
    fault = run_js(evidence(forked, since=first), kept=_kept(leaves[:first]))["fault"]
    assert fault is not None and ("does not extend" in fault or "different trees" in fault)
