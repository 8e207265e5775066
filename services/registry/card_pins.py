"""The card PIN's online step at the card authority: RFC 9497 VOPRF, counted per card.

A ``mynumber-card/2`` file (src/mynumber_core/card.py) opens only with the output of an
oblivious PRF of its PIN under a per-card key that only the registry holds (derived from the
keyring's ``card-ca`` key version that issued the card and the card's serial, RFC 9497
``DeriveKeyPair``). The registry sees a blinded ristretto255 element, never the PIN, and
cannot tell a right PIN from a wrong one; what it counts is attempts.

* :meth:`CardPins.evaluate` reserves the attempt in the card's counter *before* evaluating
  (services/registry/abuse.py, one conditional UPDATE: however many tries race, at most
  :data:`~mynumber_core.card.PIN_TRIES` are evaluated) and records it;
* :meth:`CardPins.confirm` closes an attempt: a signature by the card key over
  :func:`~mynumber_core.card.pin_confirmation_message` proves the PIN opened the card and
  resets the counter; a reported failure, or the first try refused at the limit, locks the
  card for good (no window), JPKI style;
* :meth:`CardPins.unlock` is the municipality counter's reset; a new card has its own counter.

Proof of possession (the serial-only lockout): once a card's file has registered its PIN-less
access key (with a successful confirmation, covered by the card key's signature), an
evaluation counts only if it carries that key's signature over a fresh single-use nonce from
:meth:`CardPins.access_challenge` and the blinded element (:func:`card_access_message`). It is
checked before the attempt is reserved, so anyone who knows only a serial — or replays a
relayed request — spends none of the card's tries. A card whose file has no access key yet is
evaluated without it, as before, until its next successful unlock registers one.

When a card locks, the resident is told: a ``card_locked`` notice goes to the portal sealed
to its key (once per lock, deduplicated by a security event), and the lock is a security
event the operator sees.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, update
from voprf import ristretto as oprf

from mynumber_core import errors
from mynumber_core.card import (
    PIN_TRIES,
    card_access_message,
    parse_serial,
    pin_confirmation_message,
    serial_hex,
)
from mynumber_core.clock import aware, utc_now
from mynumber_core.keyring import Keyring, derive_key
from mynumber_core.sealing import event_context, seal_json
from services.registry.abuse import AttemptCounters, SecurityLog
from services.registry.card_models import CardAccessChallenge, CardPinAttempt, CardRecord
from services.registry.models import Person
from services.registry.usecases import Registry, require_domain

CARD_PIN_SCOPE = "card-pin"
CARD_LOCKED_EVENT = "card_locked"
CARD_LOCKED_PROCEDURE = "registry.card_pin"
PUBLISHER = "registry"
BLINDED_BYTES = 32
ATTEMPT_TTL = dt.timedelta(minutes=10)
"""An attempt must be confirmed within this time (a holder's side answers in seconds)."""
_KEY_INFO = b"mynumber-card-pin/1"
ACCESS_CHALLENGE_TTL = dt.timedelta(minutes=2)
MAX_ACCESS_KEY = 200

log = structlog.get_logger("mynumber.security")

Deliver = Callable[..., errors.DomainError | None]


class CardPins:
    """Evaluate, confirm and unlock card PINs; tell the resident when a card locks."""

    def __init__(
        self,
        registry: Registry,
        keyring: Keyring,
        *,
        events: SecurityLog | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._registry = registry
        self._db = registry.db
        self._keyring = keyring
        self._clock = clock
        self._counters = AttemptCounters(registry.db, clock)
        self._events = events or SecurityLog(registry.db, clock)

    # ------------------------------------------------------------------ keys

    def _evaluator(self, card: CardRecord) -> Any:
        keyset = self._keyring.keyset("card-ca")
        secret = keyset.keys.get(card.ca_key_id)
        if secret is None:
            raise errors.FailedPrecondition(
                "this card was issued under a retired card CA key; have a new card issued"
            )
        seed = derive_key(secret, f"mynumber/card-pin/oprf-seed/{card.serial}", 32)
        return oprf.Evaluator.from_seed(seed, _KEY_INFO)

    def public_key(self, serial: str) -> bytes:
        """The card's OPRF public key (tests and diagnostics)."""
        with self._db.transaction() as session:
            card = self._card(session, serial)
            return bytes(self._evaluator(card).public_key.serialize())

    def _card(self, session: Any, serial: str) -> CardRecord:
        key = serial_hex(parse_serial(serial))
        card = session.get(CardRecord, key)
        if card is None:
            raise errors.NotFound("no card with this serial was issued by the registry")
        if card.status != "active":
            raise errors.FailedPrecondition(
                "this card has been revoked; the resident must use their current card"
            )
        if aware(card.not_after) < self._clock():
            raise errors.FailedPrecondition(
                "this card has expired; the resident can renew it at the municipality"
            )
        return card

    # ------------------------------------------------------------------ the online step

    def access_challenge(self, caller: str | None, serial: str) -> str:
        """A single-use nonce for the card file's access key (expires in two minutes)."""
        require_domain(caller)
        now = self._clock()
        nonce = secrets.token_urlsafe(24)
        with self._db.transaction() as session:
            card = self._card(session, serial)
            session.execute(
                delete(CardAccessChallenge).where(
                    CardAccessChallenge.expires_at < now - ACCESS_CHALLENGE_TTL
                )
            )
            session.add(
                CardAccessChallenge(
                    nonce=nonce, serial=card.serial, expires_at=now + ACCESS_CHALLENGE_TTL
                )
            )
        return nonce

    def _check_possession(
        self, card: CardRecord, blinded: bytes, nonce: str, signature: bytes
    ) -> None:
        """The card file's access key signed a fresh nonce of ours and this element (a card
        with no registered access key needs no proof yet)."""
        if card.access_key is None:
            return
        if not nonce or not signature:
            raise errors.Unauthenticated(
                "this card's PIN can be tried only with the card file present: sign a fresh "
                "IssueCardAccessChallenge nonce with the file's access key"
            )
        now = self._clock()
        with self._db.transaction() as session:
            used = session.execute(
                update(CardAccessChallenge)
                .where(
                    CardAccessChallenge.nonce == nonce[:64],
                    CardAccessChallenge.serial == card.serial,
                    CardAccessChallenge.used_at.is_(None),
                    CardAccessChallenge.expires_at > now,
                )
                .values(used_at=now)
            )
            if used.rowcount != 1:
                raise errors.Unauthenticated(
                    "this card access nonce is unknown, used or expired; ask for a new one"
                )
        try:
            key = serialization.load_der_public_key(card.access_key)
            assert isinstance(key, ec.EllipticCurvePublicKey)
            key.verify(
                signature,
                card_access_message(card.serial, nonce, blinded),
                ec.ECDSA(hashes.SHA256()),
            )
        except (InvalidSignature, ValueError, AssertionError):
            raise errors.Unauthenticated(
                "the card access signature does not verify; the card file must sign the nonce "
                "and this blinded element"
            ) from None

    def evaluate(
        self,
        caller: str | None,
        serial: str,
        blinded: bytes,
        access_nonce: str = "",
        access_signature: bytes = b"",
    ) -> tuple[str, bytes, bytes, int]:
        """(attempt id, evaluation with proof, public key, tries left if wrong).

        The card file's proof of possession is checked first (nothing counted without it),
        then the attempt is reserved; at the limit the card is locked: FAILED_PRECONDITION,
        nothing evaluated, and the resident told (once per lock).
        """
        require_domain(caller)
        if not isinstance(blinded, bytes) or len(blinded) != BLINDED_BYTES:
            raise errors.InvalidInput(
                f"blinded_element must be the {BLINDED_BYTES}-byte RFC 9497 blinded element "
                "(ristretto255) made by the card's holder"
            )
        try:
            element = oprf.BlindedInput.deserialize(blinded)
        except ValueError:
            raise errors.InvalidInput(
                "blinded_element is not a valid ristretto255 element; blind the PIN again"
            ) from None
        with self._db.transaction() as session:
            card = self._card(session, serial)
            key, person_id = card.serial, card.person_id
            evaluator = self._evaluator(card)
            session.expunge(card)
        self._check_possession(card, blinded, access_nonce, access_signature)
        got = self._counters.reserve(CARD_PIN_SCOPE, key, PIN_TRIES, None)
        if not got.reserved:
            self._locked(key, person_id)
            raise _locked_error()
        attempt_id = secrets.token_hex(16)
        with self._db.transaction() as session:
            session.add(
                CardPinAttempt(id=attempt_id, serial=key, at=self._clock(), confirmed=False)
            )
        answer = evaluator.evaluate(element)
        left = max(0, PIN_TRIES - self._counters.count(CARD_PIN_SCOPE, key))
        return (
            attempt_id,
            bytes(answer.serialize()),
            bytes(evaluator.public_key.serialize()),
            left,
        )

    def confirm(
        self,
        caller: str | None,
        serial: str,
        attempt_id: str,
        ok: bool,
        signature: bytes,
        access_public_key: bytes = b"",
    ) -> tuple[int, bool]:
        """Close an attempt: (tries left, locked).

        ``ok`` needs the card's signature over the attempt (and ``access_public_key``, which
        is then registered as the card file's access key); then the counter resets. A
        reported failure that reaches the limit locks the card and tells the resident.
        """
        require_domain(caller)
        if not isinstance(attempt_id, str) or len(attempt_id) != 32:
            raise errors.InvalidInput("attempt_id is the id EvaluateCardPin returned")
        if access_public_key:
            _check_access_key(access_public_key)
        with self._db.transaction() as session:
            card = self._card(session, serial)
            attempt = session.get(CardPinAttempt, attempt_id, with_for_update=True)
            if attempt is None or attempt.serial != card.serial:
                raise errors.NotFound("no such PIN attempt for this card; unlock the card again")
            if attempt.confirmed:
                raise errors.FailedPrecondition(
                    "this PIN attempt was already reported; unlock the card again"
                )
            if ok and aware(attempt.at) + ATTEMPT_TTL < self._clock():
                raise errors.FailedPrecondition(
                    "this PIN attempt is too old to confirm; unlock the card again"
                )
            if ok:
                message = pin_confirmation_message(card.serial, attempt_id, access_public_key)
                _verify(card, message, signature)
                if access_public_key:
                    card.access_key = access_public_key
            attempt.confirmed = True
            key, person_id = card.serial, card.person_id
        if ok:
            self._counters.reset(CARD_PIN_SCOPE, key)
            return PIN_TRIES, False
        left = max(0, PIN_TRIES - self._counters.count(CARD_PIN_SCOPE, key))
        if left == 0:
            self._locked(key, person_id)
            return 0, True
        return left, False

    def unlock(self, caller: str | None, token: str, serial: str) -> None:
        """The municipality counter resets a card's PIN counter (the holder came in person)."""
        if require_domain(caller) != "municipality":
            raise errors.PermissionDenied("cards are unlocked at the municipality counter")
        with self._db.transaction() as session:
            _, person = self._registry.person_for(session, caller, token)
            card = self._card(session, serial)
            if card.person_id != person.id:
                raise errors.NotFound(
                    "no card with this serial belongs to this resident; check the serial shown "
                    "by `mynumber card show`"
                )
            key = card.serial
        self._counters.reset(CARD_PIN_SCOPE, key)
        self._events.record(
            "card_unlocked",
            caller=caller,
            method="Cards/UnlockCard",
            status="OK",
            detail={"serial": key},
        )

    def tries_left(self, serial: str) -> int:
        """Attempts left before the card locks."""
        key = serial_hex(parse_serial(serial))
        return max(0, PIN_TRIES - self._counters.count(CARD_PIN_SCOPE, key))

    # ------------------------------------------------------------------ telling the resident

    def _locked(self, serial: str, person_id: int) -> None:
        """Once per lock: a security event and a notice in the resident's portal."""
        state = self._counters.state(CARD_PIN_SCOPE, serial)
        episode = state[1].isoformat() if state is not None else "-"
        first = self._events.record(
            "card_locked",
            caller="-",
            method="/mynumber.registry.v1.Cards/EvaluateCardPin",
            status="FAILED_PRECONDITION",
            detail={"serial": serial, "tries": PIN_TRIES},
            dedup_key=f"card_locked:{serial}:{episode}"[:160],
        )
        if not first:
            return
        log.warning("card locked after wrong PINs", tries=PIN_TRIES)
        try:
            self._tell_resident(serial, person_id)
        except Exception as failure:  # the lock stands even if the notice fails
            log.error("card lock notice not delivered", error=type(failure).__name__)

    def _tell_resident(self, serial: str, person_id: int) -> None:
        with self._db.transaction() as session:
            person = session.get(Person, person_id)
            token = self._registry._translate(session, person, "portal") if person else None
        if token is None:
            log.info("card locked; the resident has no portal account to notify")
            return
        event_id = uuid.uuid4().hex
        payload = {"serial": serial, "tries": PIN_TRIES}
        box = seal_json(
            self._registry.keys.key_of("portal"),
            payload,
            event_context(
                event_id=event_id,
                publisher=PUBLISHER,
                receiver="portal",
                event_type=CARD_LOCKED_EVENT,
                procedure=CARD_LOCKED_PROCEDURE,
            ),
        )
        error = self._registry._deliver(
            "gateway", token, CARD_LOCKED_EVENT, event_id, PUBLISHER, CARD_LOCKED_PROCEDURE, box
        )
        if error is not None:
            log.error("card lock notice not delivered", error=type(error).__name__)


def _locked_error() -> errors.FailedPrecondition:
    return errors.FailedPrecondition(
        f"this card is locked after {PIN_TRIES} wrong PINs; unlock it at the municipality "
        "counter (`mynumber card unlock`) or have a new card issued"
    )


def _check_access_key(value: bytes) -> None:
    """A card file's access key: a P-256 public key as DER SubjectPublicKeyInfo."""
    try:
        if len(value) > MAX_ACCESS_KEY:
            raise ValueError("too long")
        key = serialization.load_der_public_key(value)
    except ValueError:
        raise errors.InvalidInput(
            "access_public_key must be the card file's P-256 public key (DER SubjectPublicKeyInfo)"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise errors.InvalidInput("access_public_key must be a P-256 key")


def _verify(card: CardRecord, message: bytes, signature: bytes) -> None:
    certificate = x509.load_pem_x509_certificate(card.certificate_pem.encode())
    key = certificate.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)  # card certificates are P-256
    try:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise errors.Unauthenticated(
            "the confirmation is not signed by this card's key; unlock the card again"
        ) from None
