"""Sealed answers and events (mynumber_core.sealing): HPKE round trips, and every way a box
can fail to open — another domain's key, a changed ciphertext, another exchange's metadata —
plus rotation and the signed key directory."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from mynumber_core.keyring import Keyring
from mynumber_core.sealing import (
    KEYSET,
    SUITE,
    DomainKeys,
    SealedBox,
    SealingError,
    answer_context,
    batch_context,
    directory_verifier_key,
    event_context,
    params_digest,
    seal,
    seal_json,
    sign_directory,
    verify_directory,
)


def _keys(domain: str) -> DomainKeys:
    return DomainKeys(Keyring.generate(["data", KEYSET]), domain)


PENSION = _keys("pension")
TAX = _keys("tax")


def _context(request_id: str = "req-1", **changes: str) -> bytes:
    fields = {
        "request_id": request_id,
        "requester": "pension",
        "provider": "tax",
        "item": "income",
        "procedure": "pension.exemption",
    }
    fields.update(changes)
    return answer_context(**fields, params={"year": 2025})


def test_the_requester_opens_what_the_provider_sealed_to_it() -> None:
    answer = {"year": 2025, "total_income": 4_321_000, "currency": "JPY"}
    box = seal_json(PENSION.public_key(), answer, _context())
    assert box.key_id == "hpke-1" and box.suite == SUITE
    assert b"4321000" not in box.ciphertext
    assert PENSION.open_json(box, _context()) == answer


def test_every_seal_is_fresh() -> None:
    first = seal(PENSION.public_key(), b"same", _context())
    second = seal(PENSION.public_key(), b"same", _context())
    assert first.ciphertext != second.ciphertext
    assert first.digest() != second.digest()


def test_another_domains_key_does_not_open_it() -> None:
    box = seal_json(PENSION.public_key(), {"x": 1}, _context())
    with pytest.raises(SealingError, match="failed to open"):
        TAX.open_json(box, _context())


def test_a_box_sealed_to_a_same_named_key_of_another_keyring_fails() -> None:
    impostor = _keys("pension")  # same domain and key id, different key material
    box = seal_json(impostor.public_key(), {"x": 1}, _context())
    with pytest.raises(SealingError, match="failed to open"):
        PENSION.open_json(box, _context())


@pytest.mark.parametrize(
    "changed",
    [
        {"request_id": "req-2"},
        {"requester": "health"},
        {"provider": "municipality"},
        {"item": "household"},
        {"procedure": "pension.claim"},
    ],
)
def test_a_box_moved_to_another_exchange_does_not_open(changed: dict[str, str]) -> None:
    box = seal_json(PENSION.public_key(), {"x": 1}, _context())
    with pytest.raises(SealingError, match="belongs to another exchange"):
        PENSION.open_json(box, _context(**changed))


def test_other_params_do_not_open_it() -> None:
    box = seal_json(PENSION.public_key(), {"x": 1}, _context())
    other = answer_context(
        request_id="req-1",
        requester="pension",
        provider="tax",
        item="income",
        procedure="pension.exemption",
        params={"year": 2024},
    )
    with pytest.raises(SealingError):
        PENSION.open_json(box, other)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_any_changed_byte_fails(data: st.DataObject) -> None:
    box = seal_json(PENSION.public_key(), {"total_income": 1}, _context())
    position = data.draw(st.integers(0, len(box.ciphertext) - 1))
    flip = data.draw(st.integers(1, 255))
    raw = bytearray(box.ciphertext)
    raw[position] ^= flip
    with pytest.raises(SealingError):
        PENSION.open(dataclasses.replace(box, ciphertext=bytes(raw)), _context())


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=2000))
def test_garbage_never_opens(garbage: bytes) -> None:
    with pytest.raises(SealingError):
        PENSION.open(SealedBox("hpke-1", SUITE, garbage), _context())


def test_unknown_suite_and_unknown_key_id_are_clear_errors() -> None:
    box = seal_json(PENSION.public_key(), {"x": 1}, _context())
    with pytest.raises(SealingError, match="unknown HPKE suite"):
        PENSION.open(dataclasses.replace(box, suite="X25519/HKDF-SHA256/AES-128-GCM"), _context())
    with pytest.raises(SealingError, match="does not hold"):
        PENSION.open(dataclasses.replace(box, key_id="hpke-9"), _context())


def test_a_malformed_recipient_key_is_refused() -> None:
    key = dataclasses.replace(PENSION.public_key(), public_key=b"\x00" * 31)
    with pytest.raises(SealingError, match="wrong length"):
        seal(key, b"x", _context())


def test_old_answers_open_after_rotation() -> None:
    keyring = Keyring.generate(["data", KEYSET])
    keys = DomainKeys(keyring, "portal")
    old = seal_json(keys.public_key(), {"v": "old"}, _context())
    keyring.rotate(KEYSET)
    assert keys.public_key().key_id == "hpke-2"
    new = seal_json(keys.public_key(), {"v": "new"}, _context())
    assert keys.open_json(old, _context()) == {"v": "old"}
    assert keys.open_json(new, _context()) == {"v": "new"}
    assert keys.holds(dataclasses.replace(keys.public_key(), key_id="hpke-2"))


def test_event_context_binds_the_receiver() -> None:
    ctx = {
        "event_id": "ev-1",
        "publisher": "municipality",
        "event_type": "address_changed",
        "procedure": "municipality.moving",
    }
    box = seal_json(PENSION.public_key(), {"a": 1}, event_context(receiver="pension", **ctx))
    assert PENSION.open_json(box, event_context(receiver="pension", **ctx), what="event") == {
        "a": 1
    }
    with pytest.raises(SealingError, match="sealed event"):
        PENSION.open_json(box, event_context(receiver="tax", **ctx), what="event")


def test_batch_context_binds_every_member_and_their_order() -> None:
    members = [("r1", "income", "p.x", params_digest({})), ("r2", "income", "p.x", "d")]
    ctx = batch_context(requester="pension", provider="tax", members=members)
    box = seal_json(PENSION.public_key(), {"answers": [{"a": 1}, None]}, ctx)
    assert PENSION.open_json(box, ctx)["answers"] == [{"a": 1}, None]
    swapped = batch_context(requester="pension", provider="tax", members=members[::-1])
    with pytest.raises(SealingError):
        PENSION.open_json(box, swapped)


def test_params_digest_ignores_key_order_only() -> None:
    assert params_digest({"a": 1, "b": 2}) == params_digest({"b": 2, "a": 1})
    assert params_digest({"a": 1}) != params_digest({"a": 2})
    assert params_digest(None) == params_digest({})


def test_the_signed_directory_round_trips_and_rejects_changes() -> None:
    signer = Ed25519PrivateKey.generate()
    keys = [PENSION.public_key(), TAX.public_key()]
    note = sign_directory(keys, signer, dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    vkey = directory_verifier_key(signer)
    assert verify_directory(note, vkey) == {k.domain: k for k in keys}
    swapped = note.replace("tax hpke-1", "tax hpke-2")
    with pytest.raises(SealingError, match="failed verification"):
        verify_directory(swapped, vkey)
    with pytest.raises(SealingError, match="failed verification"):
        verify_directory(note, directory_verifier_key(Ed25519PrivateKey.generate()))
    with pytest.raises(SealingError):
        verify_directory("not a note", vkey)


def test_a_domain_recognises_only_its_own_keys() -> None:
    assert PENSION.holds(PENSION.public_key())
    assert not PENSION.holds(TAX.public_key())
    assert not PENSION.holds(dataclasses.replace(TAX.public_key(), domain="pension"))
