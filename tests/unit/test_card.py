"""The card library: card files and PINs, message canonicalisation, signature verification
(chain, validity, usage, CRL, signature) — and the registry's card CA as pure crypto."""

from __future__ import annotations

import datetime as dt
import json
import string
from collections.abc import Sequence
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from mynumber_core import errors
from mynumber_core.card import (
    ACTION_PREFIX,
    CARD_SUBJECT_CN,
    LOGIN_PREFIX,
    Card,
    CardError,
    CardRejected,
    CardVerifier,
    RejectReason,
    action_message,
    load_card,
    login_challenge_message,
    make_csr,
    new_card_key,
    parse_serial,
    serial_hex,
    validate_pin,
    verify_card_signature,
    write_card_file,
)
from mynumber_core.registry_client import CardHolderRecord, RevocationList
from services.registry.cards import CA_NOT_AFTER, CardAuthority, derive_ca_key
from tests.support.fake_registry import FakeRegistry

NOW = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
PEM = serialization.Encoding.PEM


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _usage(*, digital_signature: bool = True, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


class IndependentCa:
    """A card CA built independently of the registry's code, so checks are not circular."""

    def __init__(self, cn: str = "Test card CA") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = _name(cn)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=365))
            .not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(digital_signature=False, cert_sign=True), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.cert.public_bytes(PEM)

    def issue(
        self,
        key: ec.EllipticCurvePrivateKey,
        *,
        not_before: dt.datetime = NOW - dt.timedelta(days=1),
        not_after: dt.datetime = NOW + dt.timedelta(days=5 * 365),
        eku: Sequence[x509.ObjectIdentifier] = (ExtendedKeyUsageOID.CLIENT_AUTH,),
        digital_signature: bool = True,
    ) -> bytes:
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(CARD_SUBJECT_CN))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(digital_signature=digital_signature), critical=True)
        )
        if eku:
            builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
        return builder.sign(self.key, hashes.SHA256()).public_bytes(PEM)

    def crl(
        self,
        revoked: Sequence[int] = (),
        *,
        last_update: dt.datetime = NOW - dt.timedelta(minutes=10),
        next_update: dt.datetime = NOW + dt.timedelta(hours=1),
        signer: ec.EllipticCurvePrivateKey | None = None,
    ) -> bytes:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.name)
            .last_update(last_update)
            .next_update(next_update)
        )
        for serial in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(last_update)
                .build()
            )
        return builder.sign(signer or self.key, hashes.SHA256()).public_bytes(PEM)


@pytest.fixture(scope="module")
def ca() -> IndependentCa:
    return IndependentCa()


@pytest.fixture(scope="module")
def card_key() -> ec.EllipticCurvePrivateKey:
    return new_card_key()


@pytest.fixture(scope="module")
def card_cert(ca: IndependentCa, card_key: ec.EllipticCurvePrivateKey) -> bytes:
    return ca.issue(card_key)


def _serial_of(pem: bytes) -> int:
    return x509.load_pem_x509_certificate(pem).serial_number


def _sign(key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    return key.sign(message, ec.ECDSA(hashes.SHA256()))


MESSAGE = login_challenge_message("n-0123456789abcdef", "https://portal.example.jp", 1775034000)


# ------------------------------------------------------------------------------ card files


def test_card_file_round_trip_signs_with_the_issued_key(
    tmp_path: Path, ca: IndependentCa, card_key: ec.EllipticCurvePrivateKey, card_cert: bytes
) -> None:
    path = tmp_path / "card.json"
    write_card_file(path, card_key, card_cert, ca.pem, "4096")
    assert path.stat().st_mode & 0o777 == 0o600
    raw = path.read_bytes()
    pkcs8 = card_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert pkcs8 not in raw and b"PRIVATE KEY" not in raw  # only the sealed key is stored

    card = load_card(path, "4096")
    assert isinstance(card, Card)
    assert card.serial == serial_hex(_serial_of(card_cert))
    assert card.certificate_pem == card_cert
    assert card.ca_certificate_pem == ca.pem
    assert card.not_after > card.not_before
    signature = card.sign(MESSAGE)
    serial = verify_card_signature(card_cert, ca.pem, ca.crl(), MESSAGE, signature, now=NOW)
    assert serial == card.serial


def test_wrong_pin_is_refused_clearly(
    tmp_path: Path, ca: IndependentCa, card_key: ec.EllipticCurvePrivateKey, card_cert: bytes
) -> None:
    path = tmp_path / "card.json"
    write_card_file(path, card_key, card_cert, ca.pem, "1234")
    with pytest.raises(CardError, match="wrong PIN"):
        load_card(path, "4321")


def test_bad_card_files_are_refused(
    tmp_path: Path, ca: IndependentCa, card_key: ec.EllipticCurvePrivateKey, card_cert: bytes
) -> None:
    with pytest.raises(CardError, match="no card file"):
        load_card(tmp_path / "missing.json", "1234")
    junk = tmp_path / "junk.json"
    junk.write_bytes(b"\x00\xffnot a card")
    with pytest.raises(CardError, match="not a My Number card file"):
        load_card(junk, "1234")
    path = tmp_path / "card.json"
    write_card_file(path, card_key, card_cert, ca.pem, "1234")
    doc = json.loads(path.read_text())
    doc["certificate"] = ca.pem.decode()  # pair the key with another certificate
    path.write_text(json.dumps(doc))
    with pytest.raises(CardError, match="wrong PIN"):  # the certificate is the AEAD's AD
        load_card(path, "1234")
    doc["kdf"]["n"] = 2**30  # a hostile cost parameter is refused before any work
    path.write_text(json.dumps(doc))
    with pytest.raises(CardError, match="damaged"):
        load_card(path, "1234")


def test_write_refuses_a_certificate_for_another_key(
    tmp_path: Path, ca: IndependentCa, card_cert: bytes
) -> None:
    with pytest.raises(CardError, match="does not belong"):
        write_card_file(tmp_path / "c.json", new_card_key(), card_cert, ca.pem, "1234")
    assert not (tmp_path / "c.json").exists()


def test_csr_has_no_personal_data_and_is_self_signed(card_key: ec.EllipticCurvePrivateKey) -> None:
    csr = x509.load_pem_x509_csr(make_csr(card_key))
    assert csr.is_signature_valid
    assert csr.subject == _name(CARD_SUBJECT_CN)
    assert csr.public_key() == card_key.public_key()
    assert list(csr.extensions) == []


# -------------------------------------------------------------------------------- PIN, serial


@given(st.from_regex(r"\A[0-9]{4}\Z"))
def test_every_four_digit_pin_is_accepted(pin: str) -> None:
    assert validate_pin(pin) == pin


@given(st.text(max_size=8))
def test_pin_validator_accepts_exactly_four_ascii_digits(text: str) -> None:
    expected = len(text) == 4 and all(c in string.digits for c in text)
    try:
        validate_pin(text)
    except CardError as exc:
        assert not expected
        assert "4 digits" in exc.message
    else:
        assert expected


def test_pin_validator_rejects_lookalikes() -> None:
    for bad in ("", "123", "12345", "١٢٣٤", "１２３４", "12 4", "abcd", " 1234"):
        with pytest.raises(CardError):
            validate_pin(bad)


@given(st.integers(min_value=1, max_value=2**159))
def test_serial_round_trips(serial: int) -> None:
    text = serial_hex(serial)
    assert text == text.lower() and not text.startswith("0")
    assert parse_serial(text) == serial
    assert parse_serial(text.upper()) == serial


@given(st.text(max_size=50))
def test_serial_parser_rejects_non_hex(text: str) -> None:
    clean = text.strip()
    valid = 1 <= len(clean) <= 40 and all(c in string.hexdigits for c in clean)
    try:
        value = parse_serial(text)
    except errors.InvalidInput:
        assert not valid or int(clean, 16) == 0
    else:
        assert valid and value == int(clean, 16) > 0


# ---------------------------------------------------------------------------- messages

_names = st.from_regex(r"\A[a-z][a-z0-9_]{0,20}\Z")
_texts = st.text(min_size=1, max_size=40)


@given(_texts, _texts, st.integers(min_value=0, max_value=2**40))
def test_login_message_is_canonical_and_prefixed(nonce: str, aud: str, at: int) -> None:
    message = login_challenge_message(nonce, aud, at)
    assert message == login_challenge_message(nonce, aud, at)
    assert message.startswith(LOGIN_PREFIX)
    body = json.loads(message[len(LOGIN_PREFIX) :])
    assert body == {"nonce": nonce, "audience": aud, "issued_at": at}


@given(
    st.tuples(_texts, _texts, st.integers(min_value=0, max_value=2**40)),
    st.tuples(_texts, _texts, st.integers(min_value=0, max_value=2**40)),
)
def test_different_challenges_give_different_bytes(
    a: tuple[str, str, int], b: tuple[str, str, int]
) -> None:
    if a != b:
        assert login_challenge_message(*a) != login_challenge_message(*b)


@given(_names, st.dictionaries(_names, st.text(max_size=30), max_size=5), _texts)
def test_action_message_ignores_field_order(action: str, fields: dict[str, str], n: str) -> None:
    reordered = dict(reversed(list(fields.items())))
    message = action_message(action, fields, n)
    assert message == action_message(action, reordered, n)
    assert message.startswith(ACTION_PREFIX)
    assert json.loads(message[len(ACTION_PREFIX) :]) == {
        "action": action,
        "fields": fields,
        "nonce": n,
    }


@given(
    st.dictionaries(_names, st.text(max_size=30), min_size=1, max_size=5),
    st.text(max_size=30),
    st.data(),
)
def test_action_message_binds_every_field_value(
    fields: dict[str, str], other: str, data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(fields)))
    changed = {**fields, name: other}
    same = changed == fields
    base = action_message("change_payout_account", fields, "n1")
    assert (base == action_message("change_payout_account", changed, "n1")) == same


def test_login_and_action_messages_never_collide() -> None:
    login = login_challenge_message("n1", "portal", 1)
    action = action_message("login", {"audience": "portal"}, "n1")
    assert login != action and not action.startswith(LOGIN_PREFIX)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: login_challenge_message("", "portal", 1), "nonce"),
        (lambda: login_challenge_message("n", "", 1), "audience"),
        (lambda: login_challenge_message("n", "portal", -1), "issued_at"),
        (lambda: login_challenge_message("n", "portal", True), "issued_at"),
        (lambda: action_message("Change Account", {}, "n"), "action"),
        (lambda: action_message("change", {"Bank": "x"}, "n"), "field names"),
        (lambda: action_message("change", {"bank": 1}, "n"), "bank"),  # type: ignore[dict-item]
        (lambda: action_message("change", {}, ""), "nonce"),
    ],
)
def test_bad_message_inputs_are_refused(call: object, field: str) -> None:
    with pytest.raises(errors.InvalidInput, match=field):
        call()  # type: ignore[operator]


# ------------------------------------------------------------------------ verification


def _reason(
    cert: bytes, ca_pem: bytes, crl: bytes, message: bytes, sig: bytes, **kw: dt.datetime
) -> RejectReason:
    with pytest.raises(CardRejected) as info:
        verify_card_signature(cert, ca_pem, crl, message, sig, **kw)
    assert info.value.message  # every rejection says why
    return info.value.reason


def test_a_good_signature_verifies(
    ca: IndependentCa, card_key: ec.EllipticCurvePrivateKey, card_cert: bytes
) -> None:
    serial = verify_card_signature(
        card_cert, ca.pem, ca.crl([12345]), MESSAGE, _sign(card_key, MESSAGE), now=NOW
    )
    assert serial == serial_hex(_serial_of(card_cert))


def test_each_failure_has_its_reason(
    ca: IndependentCa, card_key: ec.EllipticCurvePrivateKey, card_cert: bytes
) -> None:
    sig = _sign(card_key, MESSAGE)
    crl = ca.crl()
    assert _reason(b"not a cert", ca.pem, crl, MESSAGE, sig, now=NOW) == RejectReason.MALFORMED

    other = IndependentCa("Test card CA")  # same name, different key: a forged issuer
    forged = other.issue(card_key)
    assert _reason(forged, ca.pem, crl, MESSAGE, sig, now=NOW) == RejectReason.UNTRUSTED_ISSUER

    late = NOW + dt.timedelta(days=6 * 365)
    assert _reason(card_cert, ca.pem, crl, MESSAGE, sig, now=late) == RejectReason.EXPIRED
    early = NOW - dt.timedelta(days=2)
    assert _reason(card_cert, ca.pem, crl, MESSAGE, sig, now=early) == RejectReason.EXPIRED

    server_only = ca.issue(card_key, eku=(ExtendedKeyUsageOID.SERVER_AUTH,))
    assert _reason(server_only, ca.pem, crl, MESSAGE, sig, now=NOW) == RejectReason.WRONG_USAGE
    no_eku = ca.issue(card_key, eku=())
    assert _reason(no_eku, ca.pem, crl, MESSAGE, sig, now=NOW) == RejectReason.WRONG_USAGE
    no_sign = ca.issue(card_key, digital_signature=False)
    assert _reason(no_sign, ca.pem, crl, MESSAGE, sig, now=NOW) == RejectReason.WRONG_USAGE

    revoked = ca.crl([_serial_of(card_cert)])
    assert _reason(card_cert, ca.pem, revoked, MESSAGE, sig, now=NOW) == RejectReason.REVOKED

    other_message = login_challenge_message("n-other", "https://portal.example.jp", 1775034000)
    assert (
        _reason(card_cert, ca.pem, crl, other_message, sig, now=NOW) == RejectReason.BAD_SIGNATURE
    )
    wrong_key = _sign(new_card_key(), MESSAGE)
    assert _reason(card_cert, ca.pem, crl, MESSAGE, wrong_key, now=NOW) == (
        RejectReason.BAD_SIGNATURE
    )
    assert _reason(card_cert, ca.pem, crl, MESSAGE, b"\x30\x00", now=NOW) == (
        RejectReason.BAD_SIGNATURE
    )


def test_rsa_card_keys_are_the_wrong_usage(ca: IndependentCa) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(CARD_SUBJECT_CN))
        .issuer_name(ca.name)
        .public_key(rsa_key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
        .public_bytes(PEM)
    )
    assert _reason(cert, ca.pem, ca.crl(), MESSAGE, b"x", now=NOW) == RejectReason.WRONG_USAGE


def test_crl_checks_fail_closed(
    ca: IndependentCa, card_key: ec.EllipticCurvePrivateKey, card_cert: bytes
) -> None:
    sig = _sign(card_key, MESSAGE)
    stale = ca.crl(last_update=NOW - dt.timedelta(hours=3), next_update=NOW - dt.timedelta(hours=1))
    assert _reason(card_cert, ca.pem, stale, MESSAGE, sig, now=NOW) == RejectReason.CRL_INVALID
    future = ca.crl(last_update=NOW + dt.timedelta(hours=1), next_update=NOW + dt.timedelta(days=1))
    assert _reason(card_cert, ca.pem, future, MESSAGE, sig, now=NOW) == RejectReason.CRL_INVALID
    forged = ca.crl(signer=ec.generate_private_key(ec.SECP256R1()))  # hides a revocation
    assert _reason(card_cert, ca.pem, forged, MESSAGE, sig, now=NOW) == RejectReason.CRL_INVALID
    other_ca = IndependentCa("Another CA")
    assert _reason(card_cert, ca.pem, other_ca.crl(), MESSAGE, sig, now=NOW) == (
        RejectReason.CRL_INVALID
    )
    assert _reason(card_cert, ca.pem, b"junk", MESSAGE, sig, now=NOW) == RejectReason.CRL_INVALID


# ------------------------------------------------------------------- the registry's card CA


def test_card_ca_is_deterministic_per_key_version() -> None:
    secret = bytes(range(32))
    a = CardAuthority(derive_ca_key(secret), "card-ca-1")
    b = CardAuthority(derive_ca_key(secret), "card-ca-1")
    c = CardAuthority(derive_ca_key(bytes(32)), "card-ca-2")
    assert a.certificate_pem == b.certificate_pem  # every replica serves the same CA
    assert a.certificate_pem != c.certificate_pem
    assert a.certificate.subject != c.certificate.subject


def test_card_ca_certifies_only_the_key_never_the_requested_subject() -> None:
    authority = CardAuthority(derive_ca_key(b"k" * 32), "card-ca-1")
    key = new_card_key()
    nosy = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name("山田 太郎 123456789018"))
        .sign(key, hashes.SHA256())
        .public_bytes(PEM)
    )
    cert = authority.certify(nosy, NOW)
    assert cert.subject == _name(CARD_SUBJECT_CN)
    assert "山田".encode() not in cert.public_bytes(serialization.Encoding.DER)
    assert cert.not_valid_after_utc <= CA_NOT_AFTER
    crl = authority.revocation_list([], NOW)
    message = action_message("change_payout_account", {"account": "1234567"}, "n")
    assert verify_card_signature(
        cert.public_bytes(PEM),
        authority.certificate_pem,
        crl,
        message,
        _sign(key, message),
        now=NOW,
    ) == serial_hex(cert.serial_number)


@settings(max_examples=25)
@given(st.binary(max_size=300))
def test_card_ca_rejects_garbage_csrs(blob: bytes) -> None:
    authority = CardAuthority(derive_ca_key(b"k" * 32), "card-ca-1")
    with pytest.raises(errors.InvalidInput):
        authority.certify(blob, NOW)


def test_card_ca_rejects_wrong_key_types_and_forged_csrs() -> None:
    authority = CardAuthority(derive_ca_key(b"k" * 32), "card-ca-1")
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(errors.InvalidInput, match="P-256"):
        authority.certify(make_csr(p384), NOW)
    good = x509.load_pem_x509_csr(make_csr(new_card_key()))
    der = bytearray(good.public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # flip a bit of the signature
    tampered = x509.load_der_x509_csr(bytes(der)).public_bytes(PEM)
    with pytest.raises(errors.InvalidInput, match="signature"):
        authority.certify(tampered, NOW)


# ------------------------------------------------------------- the verifier and its CRL cache


class _CountingRegistry(FakeRegistry):
    def __init__(self) -> None:
        super().__init__()
        self.fetches = 0

    def revocation_list(self) -> RevocationList:
        self.fetches += 1
        return super().revocation_list()


def test_the_verifier_caches_the_crl_for_its_time_then_sees_a_revocation(
    ca: IndependentCa, card_key: ec.EllipticCurvePrivateKey, card_cert: bytes
) -> None:
    registry = _CountingRegistry()
    registry.revocation = RevocationList(ca.crl(), ca.pem)
    ticks = [100.0]
    verifier = CardVerifier(
        registry, cache_seconds=30.0, monotonic=lambda: ticks[0], clock=lambda: NOW
    )
    signature = _sign(card_key, MESSAGE)
    serial = serial_hex(_serial_of(card_cert))
    assert verifier.verify(card_cert, MESSAGE, signature) == serial
    registry.revocation = RevocationList(ca.crl([_serial_of(card_cert)]), ca.pem)
    ticks[0] += 29.0
    assert verifier.verify(card_cert, MESSAGE, signature) == serial  # cached list
    assert registry.fetches == 1
    ticks[0] += 2.0
    with pytest.raises(CardRejected) as rejected:
        verifier.verify(card_cert, MESSAGE, signature)
    assert rejected.value.reason is RejectReason.REVOKED and registry.fetches == 2


def test_a_zero_cache_fetches_every_time_and_identify_asks_the_registry(
    ca: IndependentCa, card_key: ec.EllipticCurvePrivateKey, card_cert: bytes
) -> None:
    registry = _CountingRegistry()
    registry.revocation = RevocationList(ca.crl(), ca.pem)
    verifier = CardVerifier(registry, cache_seconds=0, clock=lambda: NOW)
    signature = _sign(card_key, MESSAGE)
    for _ in range(3):
        verifier.verify(card_cert, MESSAGE, signature)
    assert registry.fetches == 3
    registry.card_holders["0a1b"] = CardHolderRecord("tok-1", active=True)
    assert verifier.identify("0a1b") == CardHolderRecord("tok-1", active=True)
    with pytest.raises(errors.NotFound):
        verifier.identify("ffff")
