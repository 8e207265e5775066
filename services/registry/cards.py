"""My Number Cards: the registry as the card CA (JPKI user authentication), and the card use
cases — issue, revoke, publish the CRL, and tell the portal whose card a serial is.

The card CA's key is derived from the keyring's ``card-ca`` keyset (HKDF of the active 32-byte
key → a P-256 scalar), and its self-signed certificate is rebuilt *deterministically* from that
key: fixed subject (naming the key version), fixed validity, serial from the public key's hash,
RFC 6979 deterministic ECDSA. Every replica therefore serves byte-identical CA certificates and
no CA state lives in the database; the keyring alone is the secret. Rotating ``card-ca`` starts
a new CA (a different subject): cards issued under the old one stop verifying against the new
CA certificate and must be reissued — a CA rollover, as with a real JPKI generation change.

Card certificates carry nothing about the holder: a fixed subject, a random serial, the key,
validity, key usage ``digitalSignature`` and EKU ``clientAuth``. Whatever subject or extensions
a CSR asks for are ignored. The serial → person mapping lives only in the ``cards`` table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select

from mynumber_core import errors
from mynumber_core.card import CARD_SUBJECT_CN, parse_serial, serial_hex
from mynumber_core.clock import aware, utc_now
from mynumber_core.keyring import Keyring, derive_key
from services.registry.card_models import CardRecord
from services.registry.domain import PersonStatus
from services.registry.models import Person
from services.registry.usecases import Registry, require_domain

CA_KEYSET = "card-ca"
CA_NOT_BEFORE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
CA_NOT_AFTER = dt.datetime(2054, 1, 1, tzinfo=dt.UTC)
CARD_VALIDITY = dt.timedelta(days=5 * 365 + 1)
"""A user-authentication certificate is valid for five years, like the real card's."""
CRL_LIFETIME = dt.timedelta(hours=1)
"""``next_update`` of each CRL: verifiers must fetch a fresh list at least this often."""
MAX_CSR_BYTES = 4096
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class CardStatus:
    """States of a card row."""

    ACTIVE = "active"  # the literals are shared with card_models.revoke_person_cards
    REVOKED = "revoked"


def derive_ca_key(secret: bytes) -> ec.EllipticCurvePrivateKey:
    """The card CA's P-256 key, derived deterministically from a ``card-ca`` key version."""
    # 384 bits reduced modulo the ~256-bit order: the bias is about 2^-128.
    okm = derive_key(secret, "mynumber/card-ca/p256", 48)
    scalar = int.from_bytes(okm, "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _ski(key: ec.EllipticCurvePublicKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(key)


class CardAuthority:
    """The card CA: certifies CSRs and signs revocation lists. Pure crypto, no storage."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, key_id: str) -> None:
        self._key = key
        self.key_id = key_id
        public = key.public_key()
        der = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        serial = int.from_bytes(hashlib.sha256(der).digest()[:16], "big") >> 1 or 1
        self.subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "My Number registry (synthetic)"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"My Number Card CA {key_id}"),
            ]
        )
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self.subject)
            .issuer_name(self.subject)
            .public_key(public)
            .serial_number(serial)
            .not_valid_before(CA_NOT_BEFORE)
            .not_valid_after(CA_NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(_ski(public), critical=False)
            .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
        )
        self.certificate_pem = self.certificate.public_bytes(serialization.Encoding.PEM)
        self._aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(public)

    @classmethod
    def from_keyring(cls, keyring: Keyring) -> CardAuthority:
        """The CA of the keyring's active ``card-ca`` key version."""
        keyset = keyring.keyset(CA_KEYSET)
        return cls(derive_ca_key(keyset.active_key), keyset.active)

    def certify(self, csr_pem: bytes, now: dt.datetime) -> x509.Certificate:
        """A user-authentication certificate for the CSR's key; INVALID_ARGUMENT for a bad CSR."""
        if not csr_pem:
            raise errors.InvalidInput("csr_pem is required: a PEM PKCS#10 request from the card")
        if len(csr_pem) > MAX_CSR_BYTES:
            raise errors.InvalidInput(f"csr_pem is too large (at most {MAX_CSR_BYTES} bytes)")
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
            public = csr.public_key()
            signed = csr.is_signature_valid
        except (ValueError, TypeError):
            raise errors.InvalidInput("csr_pem is not a PEM PKCS#10 certificate request") from None
        if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(
            public.curve, ec.SECP256R1
        ):
            raise errors.InvalidInput("the card key must be an ECDSA P-256 key")
        if not signed:
            raise errors.InvalidInput(
                "the CSR's signature does not verify: it must be signed by the card's own key"
            )
        start = now.replace(microsecond=0)
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CARD_SUBJECT_CN)]))
            .issuer_name(self.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(min(start + CARD_VALIDITY, CA_NOT_AFTER))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(_ski(public), critical=False)
            .add_extension(self._aki, critical=False)
            .sign(self._key, hashes.SHA256())
        )

    def revocation_list(
        self, revoked: Iterable[tuple[str, dt.datetime, str]], now: dt.datetime
    ) -> bytes:
        """A PEM CRL of ``(serial, revoked_at, reason)`` rows, valid for :data:`CRL_LIFETIME`."""
        start = now.replace(microsecond=0)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.subject)
            .last_update(start)
            .next_update(start + CRL_LIFETIME)
            .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
            .add_extension(self._aki, critical=False)
        )
        for serial, revoked_at, reason in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(int(serial, 16))
                .revocation_date(revoked_at.replace(microsecond=0))
                .add_extension(x509.CRLReason(x509.ReasonFlags(reason)), critical=False)
                .build()
            )
        return builder.sign(self._key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class IssuedCard:
    """A newly certified card."""

    serial: str
    certificate_pem: bytes
    ca_certificate_pem: bytes


@dataclass(frozen=True)
class IdentifiedCard:
    """The holder of a card, as the portal's token."""

    token: str
    status: str
    reissued: bool


class CardService:
    """The card use cases over the registry's database and person records."""

    def __init__(
        self,
        registry: Registry,
        authority: CardAuthority,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._registry = registry
        self._db = registry.db
        self.authority = authority
        self._clock = clock

    def issue(self, caller: str | None, token: str, csr_pem: bytes) -> IssuedCard:
        """Certify a new card for the person the municipality's token names.

        The person's previous active card (if any) is revoked as superseded in the same
        transaction: a resident holds one working card at a time.
        """
        if require_domain(caller) != "municipality":
            raise errors.PermissionDenied("cards are issued at the municipality's counter")
        now = self._clock()
        certificate = self.authority.certify(csr_pem, now)  # a bad CSR fails before any write
        serial = serial_hex(certificate.serial_number)
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        with self._db.transaction() as session:
            _, person = self._registry.person_for(session, caller, token)
            # Serialise concurrent issues for one person so only one card stays active.
            session.execute(select(Person.id).where(Person.id == person.id).with_for_update())
            if person.status == PersonStatus.DECEASED:
                raise errors.FailedPrecondition("no card is issued for a deceased resident")
            previous = session.scalars(
                select(CardRecord).where(
                    CardRecord.person_id == person.id, CardRecord.status == CardStatus.ACTIVE
                )
            ).all()
            for card in previous:
                card.status = CardStatus.REVOKED
                card.revoked_at, card.revoked_by = now, "municipality"
                card.revocation_reason = x509.ReasonFlags.superseded.value
            session.add(
                CardRecord(
                    serial=serial,
                    person_id=person.id,
                    status=CardStatus.ACTIVE,
                    ca_key_id=self.authority.key_id,
                    certificate_pem=pem.decode(),
                    issued_at=now,
                    not_after=certificate.not_valid_after_utc,
                )
            )
        return IssuedCard(serial, pem, self.authority.certificate_pem)

    def revoke(self, caller: str | None, token: str, serial: str) -> None:
        """Revoke one of the token holder's cards (lost or stolen); repeating it is harmless."""
        dom = require_domain(caller)
        if dom not in ("municipality", "portal"):
            raise errors.PermissionDenied(
                "cards are revoked at the municipality or by the resident on the portal"
            )
        key = serial_hex(parse_serial(serial))
        with self._db.transaction() as session:
            _, person = self._registry.person_for(session, caller, token)
            card = session.get(CardRecord, key, with_for_update=True)
            if card is None or card.person_id != person.id:
                raise errors.NotFound(
                    "no card with this serial belongs to this resident; check the serial shown "
                    "by `mynumber card show`"
                )
            if card.status == CardStatus.REVOKED:
                return
            card.status = CardStatus.REVOKED
            card.revoked_at, card.revoked_by = self._clock(), dom
            card.revocation_reason = x509.ReasonFlags.key_compromise.value

    def revocation_list(self) -> tuple[bytes, bytes]:
        """(CRL PEM, CA certificate PEM): every revoked, unexpired card of the current CA."""
        now = self._clock()
        with self._db.transaction() as session:
            rows = session.execute(
                select(CardRecord.serial, CardRecord.revoked_at, CardRecord.revocation_reason)
                .where(
                    CardRecord.status == CardStatus.REVOKED,
                    CardRecord.ca_key_id == self.authority.key_id,
                    CardRecord.not_after > now,
                )
                .order_by(CardRecord.serial)
            ).all()
        revoked = [
            (
                serial,
                aware(revoked_at or now),
                reason or x509.ReasonFlags.unspecified.value,
            )
            for serial, revoked_at, reason in rows
        ]
        return self.authority.revocation_list(revoked, now), self.authority.certificate_pem

    def identify(self, caller: str | None, serial: str) -> IdentifiedCard:
        """The caller's token for a card's holder: the portal's (linked on first use), or the
        pension service's for a card-signed claim (only when pension already knows them)."""
        dom = require_domain(caller)
        if dom not in ("portal", "pension"):
            raise errors.PermissionDenied(
                "only the portal and the pension service (card-signed claims) identify card holders"
            )
        key = serial_hex(parse_serial(serial))
        with self._db.transaction() as session:
            card = session.get(CardRecord, key)
            if card is None:
                raise errors.NotFound("no card with this serial was issued by the registry")
            if card.status == CardStatus.REVOKED:
                raise errors.FailedPrecondition(
                    "this card has been revoked; the resident must use their current card"
                )
            if aware(card.not_after) < self._clock():
                raise errors.FailedPrecondition(
                    "this card has expired; the resident can renew it at the municipality"
                )
            person = session.get(Person, card.person_id)
            assert person is not None  # foreign key
            if dom == "portal":
                token, _ = self._registry._link(session, person, dom)
            else:
                known = self._registry._translate(session, person, dom)
                if known is None:
                    # Pension may identify only the holders it already knows (its claimants).
                    raise errors.PermissionDenied(
                        "the pension service identifies only card holders it has enrolled"
                    )
                token = known
            return IdentifiedCard(token, person.status, person.reissued)
