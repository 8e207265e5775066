"""The registry's per-domain tokens (services.registry.tokens.TokenVault).

Invariant 2: the same person has a stable token per (domain, key version), a different token in
every domain, and a token means nothing anywhere but in its own domain.
"""

from __future__ import annotations

import base64
import hashlib

from hypothesis import given
from hypothesis import strategies as st

from services.registry.domain import DOMAINS
from services.registry.tokens import PERSON_KEY_BYTES, TokenVault

MASTER = hashlib.sha256(b"test token master").digest()
TAG = hashlib.sha256(b"test tag key").digest()
VAULT = TokenVault(MASTER, TAG)

person_keys = st.binary(min_size=PERSON_KEY_BYTES, max_size=PERSON_KEY_BYTES)
domains = st.sampled_from(DOMAINS)
versions = st.integers(1, 2**16 - 1)


@given(domains, person_keys, versions)
def test_same_domain_person_and_version_give_the_same_token(
    domain: str, person: bytes, version: int
) -> None:
    token = VAULT.make(domain, version, person)
    assert token == VAULT.make(domain, version, person)
    assert token == TokenVault(MASTER, TAG).make(domain, version, person)  # across restarts
    assert VAULT.open(domain, token) == (person, version)
    assert len(token) <= 64 and "=" not in token
    assert person.hex() not in token


@given(domains, domains, person_keys, versions)
def test_tokens_differ_between_domains_and_do_not_open_elsewhere(
    domain: str, other: str, person: bytes, version: int
) -> None:
    if domain == other:
        return
    token = VAULT.make(domain, version, person)
    assert token != VAULT.make(other, version, person)
    assert VAULT.open(other, token) is None


@given(domains, person_keys, person_keys)
def test_different_people_get_different_tokens(domain: str, a: bytes, b: bytes) -> None:
    if a != b:
        assert VAULT.make(domain, 1, a) != VAULT.make(domain, 1, b)


@given(domains, person_keys)
def test_key_versions_give_different_tokens_that_both_open(domain: str, person: bytes) -> None:
    v1, v2 = VAULT.make(domain, 1, person), VAULT.make(domain, 2, person)
    assert v1 != v2
    assert VAULT.open(domain, v1) == (person, 1)
    assert VAULT.open(domain, v2) == (person, 2)


@given(domains, person_keys)
def test_another_master_key_opens_nothing(domain: str, person: bytes) -> None:
    foreign = TokenVault(hashlib.sha256(b"another registry").digest(), TAG)
    assert foreign.open(domain, VAULT.make(domain, 1, person)) is None


@given(domains, st.text(max_size=80))
def test_random_strings_are_not_tokens(domain: str, text: str) -> None:
    assert VAULT.open(domain, text) is None


@given(domains, st.binary(min_size=34, max_size=34))
def test_random_token_shaped_bytes_are_not_tokens(domain: str, raw: bytes) -> None:
    text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert VAULT.open(domain, text) is None


@given(domains, person_keys, st.data())
def test_a_token_has_exactly_one_spelling(domain: str, person: bytes, data: st.DataObject) -> None:
    token = VAULT.make(domain, 1, person)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    variants = {
        token + "=",
        token + "==",
        token[:-1] + data.draw(st.sampled_from([c for c in alphabet if c != token[-1]])),
        token[:5] + "!" + token[5:],
        token[:5] + "\n" + token[5:],
        token.replace("-", "+").replace("_", "/"),
    }
    variants.discard(token)
    for variant in variants:
        assert VAULT.open(domain, variant) is None, "a token must be compared as exact text"


def test_version_zero_and_oversized_tokens_are_refused() -> None:
    person = bytes(PERSON_KEY_BYTES)
    token = VAULT.make("tax", 1, person)
    raw = base64.urlsafe_b64decode(token + "==")
    zero = base64.urlsafe_b64encode(b"\x00\x00" + raw[2:]).decode().rstrip("=")
    assert VAULT.open("tax", zero) is None
    assert VAULT.open("tax", token + "A" * 40) is None
    assert VAULT.open("tax", "") is None


@given(person_keys, person_keys)
def test_citizen_tag_is_stable_and_reveals_no_token(a: bytes, b: bytes) -> None:
    tag = VAULT.citizen_tag(a)
    assert tag == VAULT.citizen_tag(a) and len(tag) == 32
    assert all(tag not in VAULT.make(d, 1, a) for d in DOMAINS)
    assert a.hex() not in tag
    if a != b:
        assert tag != VAULT.citizen_tag(b)
    assert TokenVault(MASTER, hashlib.sha256(b"other tag key").digest()).citizen_tag(a) != tag
