"""The registry's signed directory of the domains' HPKE public keys.

The registry never holds a domain's private key. It asks each domain for its current public
key (``Provider.GetSealingKey``, over mTLS, so the answer comes from that domain's own
certificate identity), keeps it for a while, hands the requester's key to the provider of
each exchange, and publishes every key as one C2SP signed note for publishers and auditors.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mynumber_core import errors
from mynumber_core.clock import utc_now
from mynumber_core.sealing import SealingKey, directory_verifier_key, sign_directory
from services.registry.domain import DOMAINS

FetchKey = Callable[[str], SealingKey]
"""domain → its current key (raises a DomainError when the domain cannot be reached)."""

KEY_TTL_SECONDS = 60.0
"""How long a fetched key is used before asking the domain again (rotation reaches the hub
within this time; answers sealed to the previous version still open)."""
RETRY_SECONDS = 5.0
"""After a domain could not be reached for its key, how long before it is asked again."""


class KeyDirectory:
    """Domain keys fetched on demand, cached, and published signed."""

    def __init__(
        self,
        fetch: FetchKey,
        signing_key: Ed25519PrivateKey,
        *,
        ttl: float = KEY_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._signing_key = signing_key
        self.verifier_key = directory_verifier_key(signing_key)
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[float, SealingKey]] = {}
        self._failed: dict[str, tuple[float, str]] = {}

    def key_of(self, domain: str) -> SealingKey:
        """The domain's current key; a stale key is used while the domain is unreachable."""
        with self._lock:
            cached = self._keys.get(domain)
        if cached is not None and self._clock() - cached[0] < self._ttl:
            return cached[1]
        with self._lock:
            failed = self._failed.get(domain)
        if failed is not None and self._clock() - failed[0] < RETRY_SECONDS and cached is None:
            raise errors.Unavailable(failed[1])
        try:
            key = self._fetch(domain)
        except errors.DomainError as exc:
            if cached is not None:
                return cached[1]
            message = (
                f"the sealing key of {domain} could not be fetched ({exc.message[:200]}); "
                "retry when that domain is reachable"
            )
            with self._lock:
                self._failed[domain] = (self._clock(), message)
            raise errors.Unavailable(message) from None
        if key.domain != domain or not key.key_id or not key.public_key:
            raise errors.Unavailable(f"{domain} answered with a malformed sealing key")
        with self._lock:
            self._keys[domain] = (self._clock(), key)
        return key

    def signed(self) -> str:
        """Every reachable domain's current key as a signed note."""

        def fetch(domain: str) -> SealingKey | None:
            try:
                return self.key_of(domain)
            except errors.DomainError:
                return None

        with ThreadPoolExecutor(max_workers=len(DOMAINS)) as pool:
            keys = [k for k in pool.map(fetch, DOMAINS) if k is not None]
        return sign_directory(keys, self._signing_key, utc_now())
