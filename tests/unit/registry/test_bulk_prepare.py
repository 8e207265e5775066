"""The bulk enroller's batch preparation (services.registry.bulk): each batch step gives
what the one-value path gives — valid distinct numbers, the same tokens as ``make``,
ciphertexts and blind indexes the registry reads back — and the binary COPY tuples carry
exactly the staged rows."""

from __future__ import annotations

import struct
from typing import cast

from hypothesis import given
from hypothesis import strategies as st

from mynumber_core.keyring import BlindIndex, FieldCipher, Keyring
from mynumber_core.mynumber import check_digit, validate
from services.registry import bulk, models
from services.registry.tokens import TokenVault


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_the_fast_check_digit_is_the_official_one(body: str) -> None:
    assert bulk._check_digit_fast(body.encode()) == check_digit(body)


def test_fresh_numbers_are_valid_and_distinct() -> None:
    numbers = bulk._random_numbers(5_000)
    assert len(numbers) == 5_000 == len(set(numbers))
    assert all(validate(n) == n for n in numbers)


def _tools() -> tuple[bulk._Tools, Keyring, TokenVault]:
    keyring = Keyring.generate(["data", "blind", "token", "tag"])
    models.cipher.bind(FieldCipher(keyring))
    vault = TokenVault(keyring.keyset("token").active_key, keyring.keyset("tag").active_key)
    return bulk._Tools(BlindIndex(keyring), vault), keyring, vault


def test_a_prepared_batch_reads_back_like_single_writes() -> None:
    tools, keyring, vault = _tools()
    items = [(i, f'{{"n": {i}}}', f"idem-{i}" if i % 2 else "") for i in range(50)]
    prepared = bulk._prepare(tools, items, "municipality", 3)
    assert prepared.seqs == list(range(50)) and prepared.copy == b""
    cipher = FieldCipher(keyring)
    blind = BlindIndex(keyring)
    for row, number, token in zip(prepared.rows, prepared.numbers, prepared.tokens, strict=True):
        seq, key, number_ct, index, facts_ct, idem = cast(
            tuple[int, bytes, str, str, str, str], row
        )
        assert cipher.decrypt(str(number_ct), "registry/persons.number") == number
        assert cipher.decrypt(str(facts_ct), "registry/persons.facts") == items[seq][1]
        assert index == blind.index(bulk.NUMBER_PURPOSE, number)
        assert token == vault.make("municipality", 3, key)
        assert idem == items[seq][2]
    assert len({cast(bytes, r[1]) for r in prepared.rows}) == 50


def test_the_binary_copy_tuples_carry_the_rows() -> None:
    tools, _, _ = _tools()
    items = [(i, f'{{"住所": "{i}号室"}}', f"k{i}") for i in range(20)]
    rows = bulk._prepare(tools, items, "municipality", 1).rows
    data = bulk._prepare(tools, items, "municipality", 1, binary=True)
    assert data.rows == [] and data.copy
    decoded, offset = [], 0
    while offset < len(data.copy):
        (fields,) = struct.unpack_from(">h", data.copy, offset)
        offset += 2
        row = []
        for _ in range(fields):
            (size,) = struct.unpack_from(">i", data.copy, offset)
            row.append(data.copy[offset + 4 : offset + 4 + size])
            offset += 4 + size
        decoded.append(row)
    assert len(decoded) == 20 and all(len(r) == 6 for r in decoded)
    assert [struct.unpack(">i", r[0])[0] for r in decoded] == list(range(20))
    assert [r[5].decode() for r in decoded] == [f"k{i}" for i in range(20)]
    assert all(len(r[1]) == 16 for r in decoded)
    assert len(rows) == 20  # the same shape as the tuple path
