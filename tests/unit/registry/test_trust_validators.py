"""The registry's validators for what the portal hands it in a resident's name (issue 15):
a passkey origin, a card file's access key, a payout account record. Hypothesis over hostile
input: each is accepted exactly when well formed, and refused with InvalidInput otherwise."""

from __future__ import annotations

import string

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core import errors
from services.registry.card_pins import _check_access_key
from services.registry.passkey_grants import _origin

_HOSTS = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){0,3}", fullmatch=True)


@given(st.sampled_from(["https", "http"]), _HOSTS, st.one_of(st.none(), st.integers(1, 65535)))
def test_a_portal_origin_gives_its_rp_id(scheme: str, host: str, port: int | None) -> None:
    netloc = host if port is None else f"{host}:{port}"
    assert _origin(f"{scheme}://{netloc}") == (f"{scheme}://{netloc}", host)
    assert _origin(f"{scheme}://{netloc}/") == (f"{scheme}://{netloc}", host)


@given(
    st.one_of(
        st.text(max_size=60),
        _HOSTS.map(lambda h: f"ftp://{h}"),
        _HOSTS.map(lambda h: f"https://{h}/login"),
        _HOSTS,
    )
)
def test_anything_else_is_not_an_origin(value: str) -> None:
    try:
        origin, rp_id = _origin(value)
    except errors.InvalidInput as exc:
        assert "origin" in exc.message
    else:  # only a scheme://host[:port] text gets through
        assert value.rstrip("/") == origin and rp_id and value.startswith(("http://", "https://"))


def _p256() -> bytes:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def test_a_p256_access_key_is_accepted_and_other_curves_are_not() -> None:
    _check_access_key(_p256())
    p384 = (
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    try:
        _check_access_key(p384)
    except errors.InvalidInput as exc:
        assert "P-256" in exc.message
    else:
        raise AssertionError("a P-384 key was accepted as a card access key")


@given(st.binary(max_size=300))
def test_bytes_that_are_not_a_key_are_refused(raw: bytes) -> None:
    try:
        _check_access_key(raw)
    except errors.InvalidInput as exc:
        assert "access_public_key" in exc.message
    else:
        raise AssertionError("random bytes were accepted as a card access key")


@given(st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=16, max_size=100))
def test_passkey_challenges_in_base64url_are_accepted(value: str) -> None:
    from services.gateway.domain import parse_passkey_challenge

    assert parse_passkey_challenge(value) == value


@given(st.one_of(st.text(max_size=15), st.text(min_size=101), st.text().filter(lambda t: "=" in t)))
def test_other_passkey_challenges_are_refused(value: str) -> None:
    from services.gateway.domain import parse_passkey_challenge

    try:
        parse_passkey_challenge(value)
    except errors.InvalidInput as exc:
        assert "challenge" in exc.message
    else:
        raise AssertionError(f"{value!r} was accepted as a passkey challenge")
