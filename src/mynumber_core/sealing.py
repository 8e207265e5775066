"""Sealed answers and events (HPKE, RFC 9180): the hub relays what it cannot read.

Every domain (each agency and the portal) holds an HPKE key pair in its own keyring (keyset
``hpke``; the key id names the version, so keys rotate like every other keyset and old
answers stay openable). A provider seals its answer to the requester's public key, and a
publisher seals an event to each receiving domain's key. The exchange's metadata (request id,
requester, provider, item, procedure and a digest of the parameters; for events: event id,
publisher, receiver, event type, procedure) is bound in as HPKE's ``info``, which RFC 9180
authenticates, so a ciphertext moved to another exchange does not open.

The suite is the post-quantum hybrid ML-KEM-768 + X25519 (HKDF-SHA256, AES-256-GCM): the hub
keeps ciphertexts for idempotent replay and the exchange log commits to them for decades, so
a harvest-now-decrypt-later attacker must break both ML-KEM and X25519.

The registry publishes the domains' current public keys as a signed directory (a C2SP signed
note, :func:`sign_directory` / :func:`verify_directory`); it never holds a private key.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.hpke import (
    AEAD,
    KDF,
    KEM,
    MLKEM768X25519PrivateKey,
    MLKEM768X25519PublicKey,
    Suite,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mynumber_core import errors
from mynumber_core.checkpoint import (
    CheckpointSignatureError,
    MalformedCheckpointError,
    parse_verifier_key,
    sign_note,
    verifier_key,
    verify_note,
)
from mynumber_core.keyring import Keyring, derive_key

KEYSET = "hpke"
"""The keyring keyset holding a domain's HPKE key versions (32-byte masters)."""

SUITE = "MLKEM768-X25519/HKDF-SHA256/AES-256-GCM"
"""The one suite in use (its name travels with every key and ciphertext)."""

_SUITES = {SUITE: Suite(KEM.MLKEM768_X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)}
_MLKEM_PUBLIC_BYTES = 1184
_X25519_BYTES = 32
PUBLIC_KEY_BYTES = _MLKEM_PUBLIC_BYTES + _X25519_BYTES
"""Length of a public key of :data:`SUITE` (ML-KEM-768 encapsulation key, X25519 key)."""

DIRECTORY_ORIGIN = "mynumber.local/sealing-keys"
"""First line of the signed directory, and the name of the key that signs it."""

SERVICE_DOMAIN = {"gateway": "portal"}
"""The token domain of a service whose name differs from it (the gateway is the portal)."""


def domain_of_service(service: str) -> str:
    """The token domain a service seals and opens for."""
    return SERVICE_DOMAIN.get(service, service)


def service_of_domain(domain: str) -> str:
    """The service that holds a token domain's keys."""
    return {d: s for s, d in SERVICE_DOMAIN.items()}.get(domain, domain)


@dataclass(frozen=True)
class SealingKey:
    """One domain's current HPKE public key, as the directory lists it."""

    domain: str
    key_id: str
    suite: str
    public_key: bytes


@dataclass(frozen=True)
class SealedBox:
    """An HPKE ciphertext (``enc || ct``) and the key it was sealed to."""

    key_id: str
    suite: str
    ciphertext: bytes

    def digest(self) -> str:
        """SHA-256 of the ciphertext, hex: what the exchange log commits to."""
        return hashlib.sha256(self.ciphertext).hexdigest()


class SealingError(errors.IntegrityFailure):
    """A sealed answer or event failed to open (wrong key, or changed in transit)."""


def _canonical(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def params_digest(params: Mapping[str, Any] | None) -> str:
    """SHA-256 of the query parameters in canonical JSON (bound into the answer's context)."""
    return hashlib.sha256(_canonical(dict(params or {}))).hexdigest()


def answer_context(
    *,
    request_id: str,
    requester: str,
    provider: str,
    item: str,
    procedure: str,
    params: Mapping[str, Any] | None,
) -> bytes:
    """The associated data of one exchange's answer."""
    return _canonical(
        {
            "v": "mynumber-answer/1",
            "request_id": request_id,
            "requester": requester,
            "provider": provider,
            "item": item,
            "procedure": procedure,
            "params": params_digest(params),
        }
    )


BatchMember = tuple[str, str, str, str]
"""(request_id, item, procedure, params digest) of one exchange in a batch-sealed answer."""


def batch_context(*, requester: str, provider: str, members: Iterable[BatchMember]) -> bytes:
    """The associated data of one provider's sealed answer to a batch: every exchange it
    covers, in order (each one's log entry commits to the same ciphertext digest)."""
    return _canonical(
        {
            "v": "mynumber-batch/1",
            "requester": requester,
            "provider": provider,
            "items": [list(m) for m in members],
        }
    )


def event_context(
    *, event_id: str, publisher: str, receiver: str, event_type: str, procedure: str
) -> bytes:
    """The associated data of one event delivered to one receiving domain."""
    return _canonical(
        {
            "v": "mynumber-event/1",
            "event_id": event_id,
            "publisher": publisher,
            "receiver": receiver,
            "event_type": event_type,
            "procedure": procedure,
        }
    )


def _suite(name: str) -> Suite:
    try:
        return _SUITES[name]
    except KeyError:
        raise SealingError(
            f"unknown HPKE suite {name[:64]!r}; this platform seals with {SUITE}"
        ) from None


def _private_key(master: bytes) -> MLKEM768X25519PrivateKey:
    """The hybrid private key a 32-byte keyring master stands for (HKDF-derived halves)."""
    seed = derive_key(master, "mynumber/hpke/mlkem768-seed", 64)
    x = derive_key(master, "mynumber/hpke/x25519", 32)
    return MLKEM768X25519PrivateKey(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(seed),
        x25519.X25519PrivateKey.from_private_bytes(x),
    )


def _public_bytes(master: bytes) -> bytes:
    seed = derive_key(master, "mynumber/hpke/mlkem768-seed", 64)
    x = derive_key(master, "mynumber/hpke/x25519", 32)
    kem_public = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed).public_key().public_bytes_raw()
    dh_public = (
        x25519.X25519PrivateKey.from_private_bytes(x)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    return kem_public + dh_public


@functools.lru_cache(maxsize=64)
def _parsed_public_key(raw: bytes) -> MLKEM768X25519PublicKey:
    """A public key object (parsing the ML-KEM half costs about as much as a seal; the few
    domains' keys are parsed once)."""
    return MLKEM768X25519PublicKey(
        mlkem.MLKEM768PublicKey.from_public_bytes(raw[:_MLKEM_PUBLIC_BYTES]),
        x25519.X25519PublicKey.from_public_bytes(raw[_MLKEM_PUBLIC_BYTES:]),
    )


def _public_key(key: SealingKey) -> MLKEM768X25519PublicKey:
    raw = key.public_key
    if len(raw) != _MLKEM_PUBLIC_BYTES + _X25519_BYTES:
        raise SealingError(
            f"the sealing key {key.key_id!r} of {key.domain} has the wrong length for {SUITE}; "
            "refresh the key directory"
        )
    try:
        return _parsed_public_key(bytes(raw))
    except ValueError:
        raise SealingError(
            f"the sealing key {key.key_id!r} of {key.domain} is not a valid {SUITE} key"
        ) from None


def seal(recipient: SealingKey, plaintext: bytes, context: bytes) -> SealedBox:
    """Seal ``plaintext`` to ``recipient`` with ``context`` as the associated data."""
    suite = _suite(recipient.suite)
    ciphertext = suite.encrypt(plaintext, _public_key(recipient), info=context)
    return SealedBox(recipient.key_id, recipient.suite, ciphertext)


def seal_json(recipient: SealingKey, data: Mapping[str, Any], context: bytes) -> SealedBox:
    """Seal a JSON-compatible mapping."""
    return seal(recipient, _canonical(dict(data)), context)


class DomainKeys:
    """One domain's HPKE key versions, from its own keyring: its public key for the
    directory, and opening what was sealed to any version it still holds."""

    def __init__(self, keyring: Keyring, domain: str) -> None:
        self._keyring = keyring
        self.domain = domain
        self._private: dict[tuple[str, bytes], MLKEM768X25519PrivateKey] = {}
        self._public: dict[tuple[str, bytes], bytes] = {}
        self._keyring.keyset(KEYSET)  # fail fast when the keyring has no HPKE keys

    def public_key(self) -> SealingKey:
        """The active version's public key."""
        self._keyring.refresh()
        keyset = self._keyring.keyset(KEYSET)
        cache_key = (keyset.active, keyset.active_key)
        if cache_key not in self._public:
            self._public[cache_key] = _public_bytes(keyset.active_key)
        return SealingKey(self.domain, keyset.active, SUITE, self._public[cache_key])

    def holds(self, key: SealingKey) -> bool:
        """Whether ``key`` is one of this domain's own key versions (directory self-check)."""
        if key.domain != self.domain or key.suite != SUITE:
            return False
        master = self._keyring.keyset(KEYSET).keys.get(key.key_id)
        return master is not None and _public_bytes(master) == key.public_key

    def _private_for(self, key_id: str) -> MLKEM768X25519PrivateKey:
        keyset = self._keyring.keyset(KEYSET)
        if key_id not in keyset.keys:
            self._keyring.refresh()
            keyset = self._keyring.keyset(KEYSET)
        master = keyset.keys.get(key_id)
        if master is None:
            raise SealingError(
                f"this was sealed to key {key_id[:40]!r}, which {self.domain}'s keyring does "
                "not hold: it was sealed to another domain's key, or to a key version this "
                "domain has removed"
            )
        cache_key = (key_id, master)
        if cache_key not in self._private:
            self._private[cache_key] = _private_key(master)
        return self._private[cache_key]

    def open(self, box: SealedBox, context: bytes, *, what: str = "answer") -> bytes:
        """Open a box sealed to this domain; :class:`SealingError` when it does not open."""
        suite = _suite(box.suite)
        private = self._private_for(box.key_id)
        try:
            return suite.decrypt(box.ciphertext, private, info=context)
        except Exception:  # InvalidTag, or a malformed encapsulation
            raise SealingError(
                f"the sealed {what} failed to open with {self.domain}'s key {box.key_id!r}: its "
                "ciphertext was changed, it was sealed to another key, or it belongs to another "
                "exchange (request id, domains, item or procedure differ)"
            ) from None

    def open_json(self, box: SealedBox, context: bytes, *, what: str = "answer") -> dict[str, Any]:
        """Open a box holding a JSON object."""
        value = json.loads(self.open(box, context, what=what))
        if not isinstance(value, dict):
            raise SealingError(f"the sealed {what} does not hold a JSON object")
        return value


# ------------------------------------------------------------------- the signed directory


def directory_text(keys: Iterable[SealingKey], issued: dt.datetime) -> str:
    """The note text of a directory: origin, issue time, then one line per domain."""
    lines = [DIRECTORY_ORIGIN, issued.astimezone(dt.UTC).isoformat(timespec="seconds")]
    for key in sorted(keys, key=lambda k: k.domain):
        encoded = base64.b64encode(key.public_key).decode("ascii")
        lines.append(f"{key.domain} {key.key_id} {key.suite} {encoded}")
    return "".join(line + "\n" for line in lines)


def sign_directory(
    keys: Iterable[SealingKey], signing_key: Ed25519PrivateKey, issued: dt.datetime
) -> str:
    """The directory as a C2SP signed note."""
    return sign_note(directory_text(keys, issued), DIRECTORY_ORIGIN, signing_key)


def directory_verifier_key(signing_key: Ed25519PrivateKey) -> str:
    """The C2SP verifier key of the directory's signing key (what clients pin)."""
    return verifier_key(DIRECTORY_ORIGIN, signing_key.public_key())


def verify_directory(note: str, vkey: str) -> dict[str, SealingKey]:
    """The keys of a signed directory, by domain; :class:`SealingError` when the signature or
    the text is wrong."""
    try:
        name, public = parse_verifier_key(vkey)
        if name != DIRECTORY_ORIGIN:
            raise ValueError("not a directory key")
        text = verify_note(note, name, public)
    except (ValueError, MalformedCheckpointError, CheckpointSignatureError) as exc:
        raise SealingError(f"the sealing-key directory failed verification: {exc}") from None
    lines = text[:-1].split("\n")
    if len(lines) < 2 or lines[0] != DIRECTORY_ORIGIN:
        raise SealingError("the signed note is not a sealing-key directory")
    keys: dict[str, SealingKey] = {}
    for line in lines[2:]:
        parts = line.split(" ")
        if len(parts) != 4:
            raise SealingError("a sealing-key directory line is malformed")
        domain, key_id, suite, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise SealingError("a sealing-key directory line has bad base64") from None
        keys[domain] = SealingKey(domain, key_id, suite, raw)
    return keys
