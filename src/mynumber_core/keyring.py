"""The versioned keyring every service loads from the file the operator provides.

A keyring holds named *keysets* (``data`` for AES-GCM column encryption, ``blind`` for blind
indexes, ``token`` for the registry's token keys, ...). Each keyset has versions identified by a
key id and one active version: new values use the active key, old values stay readable because
every ciphertext and every blind index carries the id of the key that made it. The file is
re-read when it changes on disk, so a rotation reaches a running service without a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mynumber_core.errors import IntegrityFailure

KEYRING_FORMAT = "mynumber-keyring/1"


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class KeySet:
    """Versions of one key, by key id, and which one is active."""

    name: str
    active: str
    keys: dict[str, bytes] = field(default_factory=dict)

    def key(self, kid: str) -> bytes:
        """The key with this id; a clear error when the keyring lacks it."""
        try:
            return self.keys[kid]
        except KeyError:
            raise IntegrityFailure(
                f"key id {kid!r} is not in keyset {self.name!r}; load the keyring that wrote it"
            ) from None

    @property
    def active_key(self) -> bytes:
        """The key new values are written with."""
        return self.keys[self.active]

    def next_kid(self) -> str:
        """The id the next rotation will use: ``<name>-<n+1>``."""
        numbers = [int(k.rsplit("-", 1)[1]) for k in self.keys if k.rsplit("-", 1)[1].isdigit()]
        return f"{self.name}-{max(numbers, default=0) + 1}"


class Keyring:
    """A set of keysets loaded from (and saved to) one JSON file."""

    def __init__(self, keysets: dict[str, KeySet], path: Path | None = None) -> None:
        self._keysets = keysets
        self._path = path
        self._mtime = self._stamp(path)
        self._lock = threading.Lock()

    @staticmethod
    def _stamp(path: Path | None) -> tuple[int, int, int]:
        """What identifies one version of the file: mtime, inode and size (a rotation
        saved within one clock tick still changes the inode, since saves replace the file)."""
        if path is None or not path.exists():
            return (0, 0, 0)
        st = path.stat()
        return (st.st_mtime_ns, st.st_ino, st.st_size)

    @classmethod
    def generate(cls, names: list[str], *, key_bytes: int = 32) -> Keyring:
        """A fresh keyring with one random version per keyset (the dev set-up uses this)."""
        return cls(
            {n: KeySet(n, f"{n}-1", {f"{n}-1": secrets.token_bytes(key_bytes)}) for n in names}
        )

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """Load a keyring file; fails fast with the path when it is missing or malformed."""
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError:
            raise RuntimeError(
                f"keyring file {path} not found; run `make keys` or set MYNUMBER_KEYRING_PATH"
            ) from None
        if doc.get("format") != KEYRING_FORMAT:
            raise RuntimeError(f"keyring file {path} is not in format {KEYRING_FORMAT}")
        keysets = {
            name: KeySet(name, ks["active"], {kid: _b64d(v) for kid, v in ks["keys"].items()})
            for name, ks in doc["keysets"].items()
        }
        return cls(keysets, path)

    def save(self, path: Path) -> None:
        """Write atomically with owner-only permissions."""
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "format": KEYRING_FORMAT,
            "keysets": {
                name: {"active": ks.active, "keys": {k: _b64e(v) for k, v in ks.keys.items()}}
                for name, ks in self._keysets.items()
            },
        }
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        self._path = path
        self._mtime = self._stamp(path)

    def refresh(self) -> None:
        """Re-read the file when it changed on disk (rotation without restart)."""
        if self._path is None or not self._path.exists():
            return
        mtime = self._stamp(self._path)
        if mtime == self._mtime:
            return
        with self._lock:
            fresh = Keyring.load(self._path)
            self._keysets = fresh._keysets
            self._mtime = mtime

    def keyset(self, name: str) -> KeySet:
        """The named keyset; fails fast when the keyring was generated without it."""
        try:
            return self._keysets[name]
        except KeyError:
            raise RuntimeError(f"keyring has no keyset {name!r}; regenerate it") from None

    def names(self) -> list[str]:
        """Names of the keysets held."""
        return sorted(self._keysets)

    def add_missing(self, names: list[str], *, key_bytes: int = 32) -> list[str]:
        """Add a fresh keyset for each name the keyring lacks (a new kind of key reaching an
        existing installation); returns the names added."""
        added = [n for n in names if n not in self._keysets]
        for n in added:
            self._keysets[n] = KeySet(n, f"{n}-1", {f"{n}-1": secrets.token_bytes(key_bytes)})
        return added

    def rotate(self, name: str, *, key_bytes: int = 32) -> str:
        """Add a new version to a keyset, make it active, and return its id."""
        ks = self.keyset(name)
        kid = ks.next_kid()
        ks.keys[kid] = secrets.token_bytes(key_bytes)
        ks.active = kid
        return kid


class FieldCipher:
    """AES-256-GCM for one column family: ``<kid>.<base64(nonce || ciphertext)>``.

    The associated data binds each value to its purpose (e.g. ``registry/person.name``) so a
    ciphertext copied into another column does not decrypt.
    """

    def __init__(self, keyring: Keyring, keyset: str = "data") -> None:
        self._keyring = keyring
        self._keyset = keyset
        self._aead: dict[bytes, AESGCM] = {}
        """One AESGCM per key (building one per value was a third of decrypting a column)."""

    def _cipher(self, key: bytes) -> AESGCM:
        aead = self._aead.get(key)
        if aead is None:
            aead = self._aead[key] = AESGCM(key)
        return aead

    def encrypt(self, plaintext: str, aad: str) -> str:
        """Encrypt under the active key."""
        self._keyring.refresh()
        ks = self._keyring.keyset(self._keyset)
        nonce = secrets.token_bytes(12)
        ct = self._cipher(ks.active_key).encrypt(nonce, plaintext.encode(), aad.encode())
        return f"{ks.active}.{_b64e(nonce + ct)}"

    def encrypt_many(self, plaintexts: Sequence[str], aad: str) -> list[str]:
        """:meth:`encrypt` of many values (bulk paths): the keyring is checked once, the
        cipher keyed once and the nonces drawn in one call; each value gets its own nonce."""
        self._keyring.refresh()
        ks = self._keyring.keyset(self._keyset)
        seal = AESGCM(ks.active_key).encrypt
        associated = aad.encode()
        nonces = secrets.token_bytes(12 * len(plaintexts))
        prefix = f"{ks.active}."
        out = []
        for i, plaintext in enumerate(plaintexts):
            nonce = nonces[12 * i : 12 * i + 12]
            out.append(prefix + _b64e(nonce + seal(nonce, plaintext.encode(), associated)))
        return out

    def decrypt(self, sealed: str, aad: str) -> str:
        """Decrypt a value written under any version still in the keyring."""
        kid, _, body = sealed.partition(".")
        ks = self._keyring.keyset(self._keyset)
        if kid not in ks.keys:
            self._keyring.refresh()
            ks = self._keyring.keyset(self._keyset)
        try:
            raw = _b64d(body)
            return self._cipher(ks.key(kid)).decrypt(raw[:12], raw[12:], aad.encode()).decode()
        except Exception as exc:  # InvalidTag and malformed input (bad base64) alike
            raise IntegrityFailure(f"a stored {aad} value failed authentication") from exc

    def key_id_of(self, sealed: str) -> str:
        """Which key version sealed this value."""
        return sealed.partition(".")[0]

    @property
    def active_kid(self) -> str:
        """The key id new values get."""
        self._keyring.refresh()
        return self._keyring.keyset(self._keyset).active


class BlindIndex:
    """Keyed HMAC-SHA256 lookups: ``<kid>.<hex>``; every key version gives a candidate."""

    def __init__(self, keyring: Keyring, keyset: str = "blind") -> None:
        self._keyring = keyring
        self._keyset = keyset

    def _digest(self, key: bytes, purpose: str, value: str) -> str:
        mac = hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def index(self, purpose: str, value: str) -> str:
        """The index stored with a new row (active key)."""
        self._keyring.refresh()
        ks = self._keyring.keyset(self._keyset)
        return f"{ks.active}.{self._digest(ks.active_key, purpose, value)}"

    def candidates(self, purpose: str, value: str) -> list[str]:
        """Indexes under every key version, for ``WHERE idx IN (...)`` lookups."""
        self._keyring.refresh()
        ks = self._keyring.keyset(self._keyset)
        return [f"{kid}.{self._digest(key, purpose, value)}" for kid, key in ks.keys.items()]

    def index_many(self, purpose: str, values: Sequence[str]) -> list[str]:
        """:meth:`index` of many values (bulk paths: the keyring is checked once)."""
        self._keyring.refresh()
        ks = self._keyring.keyset(self._keyset)
        keyed = hmac.new(ks.active_key, digestmod=hashlib.sha256)  # the key set up once
        prefix = f"{ks.active}."
        out = []
        for value in values:
            mac = keyed.copy()
            mac.update(f"{purpose}\x00{value}".encode())
            out.append(prefix + mac.hexdigest())
        return out

    def candidates_many(self, purpose: str, values: Sequence[str]) -> list[list[str]]:
        """:meth:`candidates` of many values (bulk paths: the keyring is checked once)."""
        self._keyring.refresh()
        keys = list(self._keyring.keyset(self._keyset).keys.items())
        return [[f"{kid}.{self._digest(key, purpose, v)}" for kid, key in keys] for v in values]


def derive_key(master: bytes, info: str, length: int = 32) -> bytes:
    """HKDF-SHA256 of a master key for one purpose (e.g. one agency's token key)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info.encode()).derive(
        master
    )
