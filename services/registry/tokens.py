"""Per-domain pseudonymous tokens: AES-SIV of the person key under a per-domain key.

``token = base64url(version:u16 || AES-SIV(K_domain_v, person_key, ad=[domain]))`` where
``K_domain_v = HKDF(master, "mynumber/token/<domain>/v<version>")``. Tokens are deterministic
per (domain, person, version), opaque, carry their key version, and need no lookup table;
two domains' tokens cannot be linked without the master key. Rotating a domain's key bumps
its version: tokens already handed out keep their version (the registry remembers each
link's version), new links get the new one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from collections.abc import Sequence
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from mynumber_core.keyring import derive_key

PERSON_KEY_BYTES = 16
_TOKEN_BYTES = 2 + PERSON_KEY_BYTES + 16  # version, ciphertext, SIV tag
MAX_TOKEN_CHARS = 64


class TokenVault:
    """Makes and opens tokens; pure crypto, no storage."""

    def __init__(self, master_key: bytes, tag_key: bytes) -> None:
        self._master = master_key
        self._tag_key = tag_key

    @lru_cache(maxsize=512)  # noqa: B019 - the vault lives as long as the process
    def _siv(self, domain: str, version: int) -> AESSIV:
        return AESSIV(derive_key(self._master, f"mynumber/token/{domain}/v{version}", 64))

    def make(self, domain: str, version: int, person_key: bytes) -> str:
        """The token of ``person_key`` in ``domain`` under key ``version``."""
        sealed = self._siv(domain, version).encrypt(person_key, [domain.encode()])
        return base64.urlsafe_b64encode(struct.pack(">H", version) + sealed).decode().rstrip("=")

    def make_many(self, domain: str, version: int, person_keys: Sequence[bytes]) -> list[str]:
        """:meth:`make` of many person keys (bulk paths: the domain's key looked up once)."""
        seal = self._siv(domain, version).encrypt
        ad = [domain.encode()]
        head = struct.pack(">H", version)
        encode = base64.urlsafe_b64encode
        return [encode(head + seal(key, ad)).decode().rstrip("=") for key in person_keys]

    def open(self, domain: str, token: str) -> tuple[bytes, int] | None:
        """(person key, version) for a token of ``domain``; None for anything else."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            return None
        if len(raw) != _TOKEN_BYTES:
            return None
        if base64.urlsafe_b64encode(raw).decode().rstrip("=") != token:
            return None  # one spelling per token: no padding, spare bits or skipped characters
        (version,) = struct.unpack(">H", raw[:2])
        if version == 0:
            return None
        try:
            person_key = self._siv(domain, version).decrypt(raw[2:], [domain.encode()])
        except InvalidTag:
            return None
        return person_key, version

    def citizen_tag(self, person_key: bytes) -> str:
        """The exchange log's keyed tag for a person: neither the number nor any token."""
        return hmac.new(self._tag_key, person_key, hashlib.sha256).hexdigest()[:32]
