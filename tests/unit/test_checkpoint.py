"""Tests of mynumber_core.checkpoint: C2SP signed notes and tlog-checkpoint round trips.

The wire format is anchored to the published vectors of Go's golang.org/x/mod/sumdb/note (an
independent implementation of C2SP signed-note); the rest are round trips and property tests
showing that any alteration, a wrong key or a wrong origin is rejected with a clear error.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from mynumber_core.checkpoint import (
    Checkpoint,
    CheckpointError,
    CheckpointOriginError,
    CheckpointSignatureError,
    MalformedCheckpointError,
    key_id,
    parse_and_verify,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    verifier_key,
    verify_note,
)
from mynumber_core.merkle import leaf_hash, root_hash

# golang.org/x/mod/sumdb/note example (note.go package documentation and example_test.go).
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNATURE = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdn"
    "gotpRZb6KE6RyyBwJnAM=\n"
)
GO_NOTE = GO_TEXT + "\n" + GO_SIGNATURE

LOG = "registry.mynumber.example/exchange-log"
KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"test log key").digest())
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"another key").digest())
CHECKPOINT = Checkpoint(LOG, 3, root_hash([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")]))


def _go_private_key() -> Ed25519PrivateKey:
    # PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>
    raw = base64.b64decode(GO_SIGNER_KEY.split("+", 4)[4])
    assert raw[0] == 0x01
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


# -- the external vectors ----------------------------------------------------------------------


def test_go_sumdb_note_vector_verifies() -> None:
    name, public_key = parse_verifier_key(GO_VERIFIER_KEY)
    assert name == "PeterNeumann"
    assert key_id(name, public_key).hex() == "c74f20a3"
    assert verify_note(GO_NOTE, name, public_key) == GO_TEXT


def test_signing_reproduces_the_go_sumdb_note_vector_byte_for_byte() -> None:
    private_key = _go_private_key()
    assert verifier_key("PeterNeumann", private_key.public_key()) == GO_VERIFIER_KEY
    assert sign_note(GO_TEXT, "PeterNeumann", private_key) == GO_NOTE


def test_key_id_is_the_c2sp_formula() -> None:
    public = KEY.public_key()
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert key_id(LOG, public) == hashlib.sha256(LOG.encode() + b"\n\x01" + raw).digest()[:4]


# -- checkpoints ---------------------------------------------------------------------------------


def test_checkpoint_text_is_tlog_checkpoint() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG, KEY)
    lines = note.split("\n")
    assert lines[:4] == [LOG, "3", base64.b64encode(CHECKPOINT.root_hash).decode(), ""]
    assert lines[4].startswith(f"\u2014 {LOG} ")
    blob = base64.b64decode(lines[4].rsplit(" ", 1)[1])
    assert blob[:4] == key_id(LOG, KEY.public_key())
    KEY.public_key().verify(blob[4:], "\n".join(lines[:3]).encode() + b"\n")
    assert lines[5:] == [""]


@settings(max_examples=50, deadline=None)
@given(
    origin=st.text(
        st.characters(min_codepoint=0x21, exclude_categories=("Cs", "Zs", "Cc")), min_size=1
    ),
    size=st.integers(0, 2**63 - 1),
    root=st.binary(min_size=32, max_size=32),
)
def test_sign_and_parse_round_trip(origin: str, size: int, root: bytes) -> None:
    checkpoint = Checkpoint(origin, size, root)
    note = sign_checkpoint(checkpoint, LOG, KEY)
    assert parse_and_verify(note, LOG, KEY.public_key(), origin=origin) == checkpoint
    assert parse_and_verify(note.encode(), LOG, KEY.public_key(), origin=origin) == checkpoint


def test_extension_lines_round_trip() -> None:
    checkpoint = Checkpoint(LOG, 7, bytes(32), ("Timestamp 1700000000",))
    note = sign_checkpoint(checkpoint, LOG, KEY)
    assert parse_and_verify(note, LOG, KEY.public_key()) == checkpoint


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(0, 2**40),
    root=st.binary(min_size=32, max_size=32),
    data=st.data(),
)
def test_any_flipped_bit_in_any_checkpoint_is_rejected(
    size: int, root: bytes, data: st.DataObject
) -> None:
    note = sign_checkpoint(Checkpoint(LOG, size, root), LOG, KEY).encode()
    bit = data.draw(st.integers(0, 8 * len(note) - 1), label="bit")
    with pytest.raises(CheckpointError):
        parse_and_verify(_flip(note, bit), LOG, KEY.public_key())


def test_every_single_bit_flip_of_a_note_is_rejected() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG, KEY).encode()
    for bit in range(8 * len(note)):
        with pytest.raises(CheckpointError):
            parse_and_verify(_flip(note, bit), LOG, KEY.public_key())


def _flip(data: bytes, bit: int) -> bytes:
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


def test_altered_size_is_a_signature_error() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG, KEY).replace(f"{LOG}\n3\n", f"{LOG}\n4\n")
    with pytest.raises(CheckpointSignatureError, match="does not verify"):
        parse_and_verify(note, LOG, KEY.public_key())


def test_wrong_key_is_rejected() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG, KEY)
    with pytest.raises(CheckpointSignatureError, match="not signed by the trusted key"):
        parse_and_verify(note, LOG, OTHER_KEY.public_key())
    with pytest.raises(CheckpointSignatureError, match="not signed by the trusted key"):
        parse_and_verify(note, "someone.else.example", KEY.public_key(), origin=LOG)


def test_forged_signature_under_the_right_key_id_is_rejected() -> None:
    forged_by_other = sign_checkpoint(CHECKPOINT, LOG, OTHER_KEY)
    other_blob = base64.b64decode(forged_by_other.rsplit(" ", 1)[1])
    blob = key_id(LOG, KEY.public_key()) + other_blob[4:]
    note = CHECKPOINT.body() + f"\n\u2014 {LOG} {base64.b64encode(blob).decode()}\n"
    with pytest.raises(CheckpointSignatureError, match="does not verify"):
        parse_and_verify(note, LOG, KEY.public_key())


def test_wrong_origin_is_rejected() -> None:
    other = Checkpoint("pension.mynumber.example/log", 3, CHECKPOINT.root_hash)
    note = sign_checkpoint(other, LOG, KEY)
    with pytest.raises(CheckpointOriginError, match=r"expected 'registry\.mynumber\.example"):
        parse_and_verify(note, LOG, KEY.public_key())
    assert parse_and_verify(note, LOG, KEY.public_key(), origin=other.origin) == other


def test_signatures_by_other_keys_are_ignored() -> None:
    mine = sign_checkpoint(CHECKPOINT, LOG, KEY)
    witness = sign_checkpoint(CHECKPOINT, "witness.example", OTHER_KEY)
    cosigned = mine + witness.split("\n\n", 1)[1]
    assert parse_and_verify(cosigned, LOG, KEY.public_key()) == CHECKPOINT
    witnessed_first = witness + mine.split("\n\n", 1)[1]
    assert parse_and_verify(witnessed_first, "witness.example", OTHER_KEY.public_key(), origin=LOG)
    assert parse_and_verify(witnessed_first, LOG, KEY.public_key()) == CHECKPOINT


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"{LOG}\n3\n", "needs an origin, a size and a root hash"),
        (f"\n3\n{base64.b64encode(bytes(32)).decode()}\n", "origin line is empty"),
        (f"{LOG}\n03\n{base64.b64encode(bytes(32)).decode()}\n", "not a decimal number"),
        (f"{LOG}\n-1\n{base64.b64encode(bytes(32)).decode()}\n", "not a decimal number"),
        (f"{LOG}\n3\n{base64.b64encode(bytes(31)).decode()}\n", "not 32 bytes"),
        (f"{LOG}\n3\nnot base64!\n", "not base64"),
    ],
)
def test_malformed_but_signed_bodies_are_rejected(body: str, message: str) -> None:
    with pytest.raises(MalformedCheckpointError, match=message):
        parse_and_verify(sign_note(body, LOG, KEY), LOG, KEY.public_key())


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("no blank line\n\u2014 x AAAA\n", "no blank line"),
        (CHECKPOINT.body() + "\n\u2014 x QUFBQUFB", "does not end with a newline"),
        (CHECKPOINT.body() + "\n-- x QUFBQUFB\n", "does not start with"),
        (CHECKPOINT.body() + "\n\u2014 x QUFB\n", "too short"),
        (CHECKPOINT.body() + "\n\u2014 x QUFBQUFB!\n", "malformed"),
        (CHECKPOINT.body() + "\n\u2014 x QUFBQUF=\n", "not canonical base64"),
        (CHECKPOINT.body() + "\n\u2014 x\tQUFBQUFB\n", "control character"),
        (CHECKPOINT.body() + "\n", "does not end with a newline"),
    ],
)
def test_malformed_notes_are_rejected(note: str, message: str) -> None:
    with pytest.raises(MalformedCheckpointError, match=message):
        parse_and_verify(note, LOG, KEY.public_key())


def test_invalid_utf8_is_rejected() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG, KEY).encode().replace(b"\n3\n", b"\n\xff\n")
    with pytest.raises(MalformedCheckpointError, match="UTF-8"):
        parse_and_verify(note, LOG, KEY.public_key())


@settings(max_examples=300, deadline=None)
@given(note=st.one_of(st.text(), st.binary()))
def test_arbitrary_input_only_raises_checkpoint_errors(note: str | bytes) -> None:
    with pytest.raises(CheckpointError):
        parse_and_verify(note, LOG, KEY.public_key())


def test_checkpoint_validates_its_fields() -> None:
    with pytest.raises(ValueError, match="origin"):
        Checkpoint("two\nlines", 1, bytes(32))
    with pytest.raises(ValueError, match="size"):
        Checkpoint(LOG, -1, bytes(32))
    with pytest.raises(ValueError, match="32 bytes"):
        Checkpoint(LOG, 1, bytes(31))
    with pytest.raises(ValueError, match="key name"):
        sign_checkpoint(CHECKPOINT, "has space", KEY)


def test_verifier_key_round_trip_and_rejects_a_mangled_id() -> None:
    vkey = verifier_key(LOG, KEY.public_key())
    name, public = parse_verifier_key(vkey)
    assert name == LOG
    assert public.public_bytes(Encoding.Raw, PublicFormat.Raw) == KEY.public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw
    )
    name, _, encoded = vkey.split("+", 2)
    with pytest.raises(ValueError, match="key id does not match"):
        parse_verifier_key(f"{name}+{'0' * 8}+{encoded}")
