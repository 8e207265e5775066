"""Tests of mynumber_core.cosignature: C2SP tlog-cosignature/v1 (Ed25519) byte for byte.

Key ids and signed messages are rebuilt here straight from the spec text (not through the
module), and Node.js's own Ed25519 (an implementation written outside this project) both checks
our cosignatures and makes one we must accept.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import struct
import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from mynumber_core.checkpoint import (
    Checkpoint,
    CheckpointSignatureError,
    MalformedCheckpointError,
    sign_checkpoint,
)
from mynumber_core.cosignature import (
    QuorumError,
    Witness,
    add_signature_lines,
    cosign,
    cosigner_key_id,
    parse_cosigner_vkey,
    require_quorum,
    verify_cosignatures,
)
from mynumber_core.merkle import leaf_hash, root_hash

LOG = "mynumber.local/exchange-log"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"log").digest())
W1 = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"w1").digest())
W2 = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"w2").digest())
CHECKPOINT = Checkpoint(LOG, 2, root_hash([leaf_hash(b"a"), leaf_hash(b"b")]))
NOTE = sign_checkpoint(CHECKPOINT, LOG, LOG_KEY)
STAMP = 1_795_000_000


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _witness(name: str, key: Ed25519PrivateKey) -> Witness:
    return Witness(name, key.public_key())


def test_key_id_and_signature_bytes_follow_the_spec() -> None:
    name = "witness.example/w1"
    # tlog-cosignature: SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 public key)[:4]
    expected_id = hashlib.sha256(name.encode() + b"\n\x04" + _raw(W1)).digest()[:4]
    assert cosigner_key_id(name, W1.public_key()) == expected_id
    line = cosign(CHECKPOINT.body(), name, W1, STAMP)
    assert line.startswith("\u2014 witness.example/w1 ") and line.endswith("\n")
    blob = base64.b64decode(line.split(" ")[2])
    assert len(blob) == 4 + 8 + 64
    assert blob[:4] == expected_id
    assert struct.unpack(">Q", blob[4:12]) == (STAMP,)
    message = f"cosignature/v1\ntime {STAMP}\n{LOG}\n2\n".encode()
    message += base64.b64encode(CHECKPOINT.root_hash) + b"\n"
    W1.public_key().verify(blob[12:], message)  # raises if the message differs by one byte


def test_vkey_round_trip_and_type_byte() -> None:
    witness = _witness("witness-1.mynumber.local", W1)
    name, key = parse_cosigner_vkey(witness.vkey)
    assert name == witness.name and _raw(W1) == key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert base64.b64decode(witness.vkey.split("+")[2])[0] == 0x04
    log_style = witness.vkey.split("+")
    log_style[2] = base64.b64encode(b"\x01" + _raw(W1)).decode()
    with pytest.raises(ValueError, match="type 0x04"):
        parse_cosigner_vkey("+".join(log_style))


def test_quorum_counts_distinct_valid_witnesses() -> None:
    witnesses = [_witness("w1.example", W1), _witness("w2.example", W2)]
    one = add_signature_lines(NOTE, [cosign(CHECKPOINT.body(), "w1.example", W1, STAMP)])
    assert [c.witness for c in require_quorum(one, witnesses, 1)] == ["w1.example"]
    with pytest.raises(QuorumError, match="1 of the 2 trusted witnesses"):
        require_quorum(one, witnesses, 2)
    twice = add_signature_lines(one, [cosign(CHECKPOINT.body(), "w1.example", W1, STAMP + 1)])
    with pytest.raises(QuorumError):
        require_quorum(twice, witnesses, 2)  # the same witness twice is still one witness
    both = add_signature_lines(one, [cosign(CHECKPOINT.body(), "w2.example", W2, STAMP)])
    assert len(require_quorum(both, witnesses, 2)) == 2


def test_unknown_cosigners_are_ignored_and_forgeries_rejected() -> None:
    witnesses = [_witness("w1.example", W1)]
    impostor = cosign(CHECKPOINT.body(), "w1.example", W2, STAMP)  # other key: other key id
    assert verify_cosignatures(add_signature_lines(NOTE, [impostor]), witnesses) == []
    good = cosign(CHECKPOINT.body(), "w1.example", W1, STAMP)
    blob = bytearray(base64.b64decode(good.split(" ")[2]))
    blob[5] ^= 1  # change the timestamp: the signature no longer covers it
    forged = f"\u2014 w1.example {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(CheckpointSignatureError, match="does not verify"):
        verify_cosignatures(add_signature_lines(NOTE, [forged]), witnesses)


def test_a_cosignature_does_not_carry_over_to_another_checkpoint() -> None:
    witnesses = [_witness("w1.example", W1)]
    line = cosign(CHECKPOINT.body(), "w1.example", W1, STAMP)
    other = Checkpoint(LOG, 3, root_hash([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")]))
    moved = add_signature_lines(sign_checkpoint(other, LOG, LOG_KEY), [line])
    with pytest.raises(CheckpointSignatureError):
        verify_cosignatures(moved, witnesses)


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_in_a_cosignature_is_caught(position: int, bit: int) -> None:
    witnesses = [_witness("w1.example", W1)]
    line = cosign(CHECKPOINT.body(), "w1.example", W1, STAMP)
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[position % len(blob)] ^= 1 << bit
    note = add_signature_lines(
        NOTE, [f"\u2014 w1.example {base64.b64encode(bytes(blob)).decode()}\n"]
    )
    try:
        valid = verify_cosignatures(note, witnesses)
    except (CheckpointSignatureError, MalformedCheckpointError):
        return
    assert valid == []  # a flipped key-id bit turns it into an unknown signer's line


_NODE_SCRIPT = r"""
const crypto = require("crypto");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const spki = (raw) => crypto.createPublicKey({
  key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.from(raw, "base64")]),
  format: "der", type: "spki" });
const keyId = (name, raw) => crypto.createHash("sha256").update(Buffer.concat([
  Buffer.from(name + "\n"), Buffer.from([4]), Buffer.from(raw, "base64")])).digest().subarray(0, 4);
const message = (ts, body) => Buffer.from("cosignature/v1\ntime " + ts + "\n" + body);
// 1. check the line the Python witness made
const blob = Buffer.from(input.line.split(" ")[2].trim(), "base64");
const ts = blob.readBigUInt64BE(4);
const ok = keyId(input.name, input.pub).equals(blob.subarray(0, 4)) &&
  crypto.verify(null, message(ts, input.body), spki(input.pub), blob.subarray(12));
// 2. make a cosignature with a key Node generates
const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
const raw = publicKey.export({ format: "der", type: "spki" }).subarray(12);
const stamp = BigInt(input.stamp);
const tsBuf = Buffer.alloc(8); tsBuf.writeBigUInt64BE(stamp);
const sig = crypto.sign(null, message(stamp, input.body), privateKey);
const id = keyId("node.example/w", raw.toString("base64"));
const line = "\u2014 node.example/w " + Buffer.concat([id, tsBuf, sig]).toString("base64") + "\n";
process.stdout.write(JSON.stringify({ ok, line, pub: raw.toString("base64") }));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_node_interop_both_ways() -> None:
    name = "witness-1.mynumber.local"
    line = cosign(CHECKPOINT.body(), name, W1, STAMP)
    request = {
        "name": name,
        "pub": base64.b64encode(_raw(W1)).decode(),
        "line": line,
        "body": CHECKPOINT.body(),
        "stamp": STAMP,
    }
    done = subprocess.run(
        ["node", "-e", _NODE_SCRIPT],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    answer = json.loads(done.stdout)
    assert answer["ok"] is True
    node_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(answer["pub"]))
    node_witness = Witness("node.example/w", node_key)
    note = add_signature_lines(NOTE, [answer["line"]])
    assert [(c.witness, c.timestamp) for c in require_quorum(note, [node_witness], 1)] == [
        ("node.example/w", STAMP)
    ]
