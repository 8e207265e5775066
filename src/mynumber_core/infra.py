"""What every data domain's wiring builds first: keyring-bound cipher, database, channels,
the domain's HPKE keys and the registry client — built once here so no service copies it."""

from __future__ import annotations

from dataclasses import dataclass

from mynumber_core.channels import Channels
from mynumber_core.columns import CipherSlot
from mynumber_core.db import Database
from mynumber_core.keyring import FieldCipher, Keyring
from mynumber_core.registry_client import RegistryClient
from mynumber_core.sealing import DomainKeys, domain_of_service
from mynumber_core.settings import ServiceSettings
from mynumber_core.tls import TlsMaterial


@dataclass
class DomainInfra:
    """A domain service's shared dependencies."""

    keyring: Keyring
    db: Database
    channels: Channels
    registry: RegistryClient
    keys: DomainKeys
    """The domain's HPKE keys: open answers and events, and serve the public key."""

    @classmethod
    def from_settings(cls, settings: ServiceSettings, cipher: CipherSlot) -> DomainInfra:
        """Load the keyring (binding the service's column cipher), open the database and
        the mTLS channels to the registry."""
        keyring = Keyring.load(settings.keyring_path)
        cipher.bind(FieldCipher(keyring))
        db = Database.from_url(
            settings.effective_database_url(),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        channels = Channels(
            TlsMaterial(settings.tls_dir),
            settings.endpoints,
            default_timeout=settings.rpc_timeout_seconds,
        )
        keys = DomainKeys(keyring, domain_of_service(settings.service_name))
        return cls(keyring, db, channels, RegistryClient(channels, keys), keys)

    def close(self) -> None:
        """Close channels and pooled connections."""
        self.channels.close()
        self.db.dispose()
