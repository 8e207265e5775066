"""SQLAlchemy column types for personal data: AES-GCM encrypted text with its key id.

Each service declares one :class:`CipherSlot` in its models module and binds it to the
service's keyring at wiring time; ``EncryptedText(slot, "table.column")`` then encrypts on
write and decrypts on read, with the column name as associated data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from mynumber_core.keyring import FieldCipher


class CipherSlot:
    """The field cipher of one service, bound once the keyring is loaded."""

    def __init__(self, domain: str) -> None:
        self.domain = domain
        self._cipher: FieldCipher | None = None

    def bind(self, cipher: FieldCipher) -> None:
        """Attach the service's cipher (called by the service's wiring)."""
        self._cipher = cipher

    @property
    def cipher(self) -> FieldCipher:
        """The bound cipher; fails fast if wiring forgot to bind it."""
        if self._cipher is None:
            raise RuntimeError(f"the {self.domain} cipher slot is not bound to a keyring")
        return self._cipher


class EncryptedText(TypeDecorator[str]):
    """Text stored as ``<kid>.<base64(nonce||ciphertext)>``; plaintext never hits the DB."""

    impl = Text
    cache_ok = True

    def __init__(self, slot: CipherSlot, label: str) -> None:
        super().__init__()
        self.slot = slot
        self.aad = f"{slot.domain}/{label}"

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.slot.cipher.encrypt(str(value), self.aad)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.slot.cipher.decrypt(value, self.aad)
