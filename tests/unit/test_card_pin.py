"""The card PIN's OPRF (issue 15): RFC 9497 conformance of the library, and a card file that
gives up nothing offline.

The authority here is the registry's own construction (services/registry/card_pins.py uses
the same ``voprf`` Evaluator) held in memory; the online counting is tested against the
real registry in tests/integration/gateway/test_card_pin.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID
from voprf import ristretto

from mynumber_core.card import (
    CARD_FILE_FORMAT,
    PIN_TRIES,
    AccessProof,
    CardError,
    PinEvaluation,
    PinVerdict,
    access_public_bytes,
    card_access_key,
    card_access_message,
    load_card,
    oprf_input,
    pin_confirmation_message,
    seal_card_file,
    unlock_card,
    write_card_file,
)

# RFC 9497 Appendix A.1.2 (VOPRF mode, ristretto255-SHA512): Seed, KeyInfo, pkSm and the
# Output of test vector 1 (Input = 00).
RFC_SEED = bytes([0xA3]) * 32
RFC_KEY_INFO = bytes.fromhex("74657374206b6579")
RFC_PKSM = "c803e2cc6b05fc15064549b5920659ca4a77b2cca6f04f6b357009335476ad4e"
RFC_OUTPUT_1 = (
    "b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402da1a7d"
    "a4d8527693914139caee5bd03903af43a491351d23b430948dd50cde10d32b3c"
)


def test_the_library_matches_rfc_9497_test_vectors() -> None:
    server = ristretto.Evaluator.from_seed(RFC_SEED, RFC_KEY_INFO)
    assert server.public_key.serialize().hex() == RFC_PKSM
    assert server.evaluate_known_input(b"\x00").hex() == RFC_OUTPUT_1
    # The blinded protocol gives the same output as the direct evaluation.
    client, blinded = ristretto.Client.blind(b"\x00")
    assert bytes(client.finalize(server.evaluate(blinded), server.public_key)).hex() == RFC_OUTPUT_1


class MemoryAuthority:
    """The registry's construction in memory: per-card evaluator, counted attempts, and the
    card file's access key once registered (single-use nonces, checked before counting)."""

    def __init__(self) -> None:
        self.evaluator = ristretto.Evaluator.from_seed(secrets.token_bytes(32), b"test card")
        self.used = 0
        self.confirmed: list[tuple[str, bool]] = []
        self.key: ec.EllipticCurvePublicKey | None = None
        self.access_key: bytes = b""
        self.nonces: set[str] = set()

    def access_challenge(self, serial: str) -> str:
        nonce = secrets.token_hex(16)
        self.nonces.add(nonce)
        return nonce

    def evaluate_pin(
        self, serial: str, blinded_element: bytes, access: AccessProof | None = None
    ) -> PinEvaluation:
        if self.access_key:
            if access is None or access.nonce not in self.nonces:
                raise CardError("no proof that the card file is present")
            self.nonces.discard(access.nonce)
            public = serialization.load_der_public_key(self.access_key)
            assert isinstance(public, ec.EllipticCurvePublicKey)
            public.verify(
                access.signature,
                card_access_message(serial, access.nonce, blinded_element),
                ec.ECDSA(hashes.SHA256()),
            )
        if self.used >= PIN_TRIES:
            raise CardError("locked")
        self.used += 1
        answer = self.evaluator.evaluate(ristretto.BlindedInput.deserialize(blinded_element))
        return PinEvaluation(
            secrets.token_hex(16),
            bytes(answer.serialize()),
            bytes(self.evaluator.public_key.serialize()),
            PIN_TRIES - self.used,
        )

    def confirm_pin(
        self,
        serial: str,
        attempt_id: str,
        ok: bool,
        signature: bytes,
        access_public_key: bytes = b"",
    ) -> PinVerdict:
        if ok:
            assert self.key is not None
            self.key.verify(
                signature,
                pin_confirmation_message(serial, attempt_id, access_public_key),
                ec.ECDSA(hashes.SHA256()),
            )
            self.used = 0
            if access_public_key:
                self.access_key = access_public_key
        self.confirmed.append((attempt_id, ok))
        return PinVerdict(PIN_TRIES - self.used, self.used >= PIN_TRIES)


def _self_signed(key: ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "JPKI user authentication")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def card_file(tmp_path: Path) -> tuple[Path, MemoryAuthority, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = _self_signed(key)
    authority = MemoryAuthority()
    authority.key = key.public_key()
    pin = f"{secrets.randbelow(10_000):04d}"
    path = tmp_path / "card.json"
    seal_card_file(path, key, pem, pem, pin, authority)
    assert authority.used == 0  # sealing's own evaluation was confirmed
    return path, authority, pin


def test_offline_every_pin_fails_because_the_file_alone_is_not_enough(
    card_file: tuple[Path, MemoryAuthority, str],
) -> None:
    path, authority, pin = card_file
    document = json.loads(path.read_text())
    assert document["format"] == CARD_FILE_FORMAT
    assert not {"kdf", "salt"} & set(document)  # nothing derived from the PIN alone
    sealed = base64.b64decode(document["encrypted_key"])
    cert_der = x509.load_pem_x509_certificate(document["certificate"].encode()).public_bytes(
        serialization.Encoding.DER
    )
    serial = format(
        x509.load_pem_x509_certificate(document["certificate"].encode()).serial_number, "x"
    )
    # An attacker with the file but not the authority's key: every PIN, through every
    # derivation available offline (the PIN itself, and an OPRF under a key of their own,
    # since the file pins only the public key), fails the AES-GCM tag.
    attacker = ristretto.Evaluator.from_seed(secrets.token_bytes(32), b"attacker")
    opened = 0
    for guess in (f"{n:04d}" for n in range(10_000)):
        for material in (
            guess.encode(),
            bytes(attacker.evaluate_known_input(oprf_input(serial, guess))),
        ):
            key = HKDF(
                algorithm=hashes.SHA256(),
                length=32,
                salt=None,
                info=b"mynumber-card/2 key\x00" + serial.encode(),
            ).derive(material)
            try:
                AESGCM(key).decrypt(sealed[:12], sealed[12:], cert_der)
                opened += 1
            except InvalidTag:
                pass
        with pytest.raises(CardError):
            load_card(path, guess)
    assert opened == 0
    # The same file, with the authority online, opens with the right PIN.
    assert unlock_card(path, pin, authority).serial == serial


def test_wrong_pins_are_reported_and_lock_at_the_third(
    card_file: tuple[Path, MemoryAuthority, str],
) -> None:
    path, authority, pin = card_file
    wrong = [f"{(int(pin) + k) % 10_000:04d}" for k in (1, 2, 3)]
    with pytest.raises(CardError, match="2 tries left"):
        unlock_card(path, wrong[0], authority)
    with pytest.raises(CardError, match="1 try left"):
        unlock_card(path, wrong[1], authority)
    with pytest.raises(CardError, match="now locked"):
        unlock_card(path, wrong[2], authority)
    assert [ok for _, ok in authority.confirmed[-3:]] == [False, False, False]
    with pytest.raises(CardError, match="locked"):
        unlock_card(path, pin, authority)


def test_a_false_authority_is_detected(card_file: tuple[Path, MemoryAuthority, str]) -> None:
    path, _, pin = card_file
    impostor = MemoryAuthority()  # another key: its answers do not match the pinned key
    with pytest.raises(CardError, match="another key"):
        unlock_card(path, pin, impostor)


def test_a_legacy_file_migrates_on_its_next_unlock(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = _self_signed(key)
    path = tmp_path / "old.json"
    write_card_file(path, key, pem, pem, "2468")
    assert load_card(path, "2468").serial  # the old format still opens offline...
    authority = MemoryAuthority()
    authority.key = key.public_key()
    unlock_card(path, "2468", authority)  # ...until its next unlock migrates it
    assert json.loads(path.read_text())["format"] == CARD_FILE_FORMAT
    access = card_access_key(path)  # and it now proves its presence with an access key
    assert access is not None and authority.access_key == access_public_bytes(access)
    with pytest.raises(CardError, match="opens only online"):
        load_card(path, "2468")
    assert unlock_card(path, "2468", authority).key.public_key() == key.public_key()


def test_a_file_without_an_access_key_still_opens_and_gets_one(
    card_file: tuple[Path, MemoryAuthority, str],
) -> None:
    path, authority, pin = card_file
    # A file sealed before access keys existed, at an authority that has none for the card.
    document = json.loads(path.read_text())
    del document["access_key"]
    path.write_text(json.dumps(document))
    authority.access_key = b""
    assert card_access_key(path) is None
    assert unlock_card(path, pin, authority).serial
    access = card_access_key(path)
    assert access is not None and authority.access_key == access_public_bytes(access)
    assert unlock_card(path, pin, authority).serial  # and from now on with the proof
