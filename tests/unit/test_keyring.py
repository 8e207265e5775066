"""Keyring, FieldCipher and BlindIndex (mynumber_core.keyring): round trips, rotation, tampering.

Every ciphertext and index carries the id of the key that made it, so a rotation keeps old
values readable; any change to a stored value must fail authentication (IntegrityFailure),
never decrypt to something else and never escape as an unrelated exception.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core.errors import IntegrityFailure
from mynumber_core.keyring import BlindIndex, FieldCipher, Keyring, derive_key

AAD = "registry/persons.facts"


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate(["data", "blind"])


@given(st.text(max_size=300))
def test_field_cipher_round_trip(plaintext: str) -> None:
    cipher = FieldCipher(Keyring.generate(["data"]))
    sealed = cipher.encrypt(plaintext, AAD)
    assert cipher.decrypt(sealed, AAD) == plaintext
    assert cipher.key_id_of(sealed) == "data-1"
    if len(plaintext) >= 4:
        assert plaintext not in sealed


def test_same_plaintext_encrypts_differently(keyring: Keyring) -> None:
    cipher = FieldCipher(keyring)
    assert cipher.encrypt("山田 太郎", AAD) != cipher.encrypt("山田 太郎", AAD)


def test_ciphertext_is_bound_to_its_column(keyring: Keyring) -> None:
    cipher = FieldCipher(keyring)
    sealed = cipher.encrypt("123456789018", "registry/persons.number")
    with pytest.raises(IntegrityFailure) as info:
        cipher.decrypt(sealed, "registry/persons.facts")
    assert "123456789018" not in info.value.message


@given(st.text(min_size=1, max_size=40), st.data())
def test_any_tampering_raises_integrity_failure(plaintext: str, data: st.DataObject) -> None:
    cipher = FieldCipher(Keyring.generate(["data"]))
    sealed = cipher.encrypt(plaintext, AAD)
    kid, _, body = sealed.partition(".")
    position = data.draw(st.integers(0, len(body) - 1), label="position")
    how = data.draw(st.sampled_from(["flip", "truncate", "extend", "drop"]), label="how")
    if how == "flip":
        # The strategy must not depend on the (random) ciphertext, or hypothesis cannot replay
        # an example: draw from the whole alphabet and step past the character already there.
        alphabet = "ABCDEFGHabcdefgh0123-_"
        pick = data.draw(st.sampled_from(alphabet))
        replacement = pick if pick != body[position] else alphabet[(alphabet.index(pick) + 1) % 22]
        tampered_body = body[:position] + replacement + body[position + 1 :]
    elif how == "truncate":
        tampered_body = body[:position]
    elif how == "extend":
        tampered_body = body + data.draw(st.text(alphabet="Aa0-_", min_size=1, max_size=5))
    else:
        tampered_body = body[:position] + body[position + 1 :]
    tampered = f"{kid}.{tampered_body}"
    try:
        recovered = cipher.decrypt(tampered, AAD)
    except IntegrityFailure:
        return
    # base64 has spare bits in its last character: a change there may decode to the same bytes.
    assert recovered == plaintext


@pytest.mark.parametrize(
    "sealed", ["", "no-dot-at-all", "data-1.", "data-1.A", "data-1.!!!!", "data-9.AAAA"]
)
def test_malformed_values_raise_integrity_failure(keyring: Keyring, sealed: str) -> None:
    with pytest.raises(IntegrityFailure):
        FieldCipher(keyring).decrypt(sealed, AAD)


def test_rotation_keeps_old_values_readable(keyring: Keyring) -> None:
    cipher = FieldCipher(keyring)
    old = cipher.encrypt("東京都千代田区千代田1-1", AAD)
    assert keyring.rotate("data") == "data-2"
    assert cipher.active_kid == "data-2"
    new = cipher.encrypt("大阪府大阪市北区1-1", AAD)
    assert cipher.key_id_of(old) == "data-1" and cipher.key_id_of(new) == "data-2"
    assert cipher.decrypt(old, AAD) == "東京都千代田区千代田1-1"
    assert cipher.decrypt(new, AAD) == "大阪府大阪市北区1-1"
    # A value claiming the old key id but sealed under the new key does not open.
    forged = "data-1." + new.partition(".")[2]
    with pytest.raises(IntegrityFailure):
        cipher.decrypt(forged, AAD)


def test_rotation_on_disk_reaches_a_running_process(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    Keyring.generate(["data", "blind"]).save(path)
    running = Keyring.load(path)
    cipher = FieldCipher(running)
    before = cipher.encrypt("before", AAD)

    operator = Keyring.load(path)
    operator.rotate("data")
    operator.save(path)
    # Make sure the new file has a different mtime even on coarse-grained file systems.
    stamp = path.stat().st_mtime_ns + 10_000_000
    os.utime(path, ns=(stamp, stamp))

    after = cipher.encrypt("after", AAD)
    assert cipher.key_id_of(after) == "data-2"
    assert cipher.decrypt(before, AAD) == "before"
    # A process that has not re-read yet still opens values written by the rotated one.
    lagging = FieldCipher(Keyring.load(path))
    assert lagging.decrypt(after, AAD) == "after"


def test_keyring_file_round_trip_and_permissions(tmp_path: Path, keyring: Keyring) -> None:
    path = tmp_path / "keys" / "keyring.json"
    keyring.rotate("blind")
    keyring.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = Keyring.load(path)
    assert loaded.names() == ["blind", "data"]
    assert loaded.keyset("blind").active == "blind-2"
    assert loaded.keyset("blind").keys == keyring.keyset("blind").keys
    sealed = FieldCipher(keyring).encrypt("x", AAD)
    assert FieldCipher(loaded).decrypt(sealed, AAD) == "x"


def test_keyring_fails_fast_with_a_clear_message(tmp_path: Path, keyring: Keyring) -> None:
    with pytest.raises(RuntimeError, match="not found"):
        Keyring.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something-else"}')
    with pytest.raises(RuntimeError, match="not in format"):
        Keyring.load(bad)
    with pytest.raises(RuntimeError, match="no keyset 'token'"):
        keyring.keyset("token")
    with pytest.raises(IntegrityFailure, match="data-7"):
        keyring.keyset("data").key("data-7")


def test_blind_index_is_deterministic_and_purpose_bound(keyring: Keyring) -> None:
    blind = BlindIndex(keyring)
    a = blind.index("my-number", "123456789018")
    assert a == blind.index("my-number", "123456789018")
    assert a.startswith("blind-1.")
    assert "123456789018" not in a
    assert a != blind.index("my-number", "123456789026")
    assert a != blind.index("other-purpose", "123456789018")
    assert blind.candidates("my-number", "123456789018") == [a]


def test_blind_index_keeps_finding_old_rows_after_rotation(keyring: Keyring) -> None:
    blind = BlindIndex(keyring)
    old = blind.index("my-number", "123456789018")
    keyring.rotate("blind")
    new = blind.index("my-number", "123456789018")
    assert new.startswith("blind-2.") and new != old
    assert set(blind.candidates("my-number", "123456789018")) == {old, new}


def test_blind_indexes_of_different_keyrings_differ() -> None:
    a = BlindIndex(Keyring.generate(["blind"])).index("p", "v")
    b = BlindIndex(Keyring.generate(["blind"])).index("p", "v")
    assert a.split(".")[0] == b.split(".")[0] and a != b


def test_derive_key_separates_purposes() -> None:
    master = bytes(range(32))
    assert derive_key(master, "mynumber/token/tax/v1") == derive_key(
        master, "mynumber/token/tax/v1"
    )
    assert derive_key(master, "mynumber/token/tax/v1") != derive_key(
        master, "mynumber/token/tax/v2"
    )
    assert len(derive_key(master, "x", 64)) == 64


def test_add_missing_adds_only_absent_keysets(tmp_path: Path) -> None:
    keyring = Keyring.generate(["data"])
    data_key = keyring.keyset("data").active_key
    assert keyring.add_missing(["data", "hpke"]) == ["hpke"]
    assert keyring.keyset("data").active_key == data_key
    assert keyring.keyset("hpke").active == "hpke-1"
    assert keyring.add_missing(["data", "hpke"]) == []
    keyring.save(tmp_path / "k.json")
    assert Keyring.load(tmp_path / "k.json").names() == ["data", "hpke"]
