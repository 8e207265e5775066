"""Fixtures for the registry's integration tests: a real registry in-process, on SQLite and on
PostgreSQL, optionally with real test Provider servers (tests/integration/registry/providers.py)
for every domain, plus helpers to register and link residents and to look at the database.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from faker import Faker
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from mynumber_core.db import Database
from mynumber_core.keyring import Keyring
from mynumber_core.migrations import upgrade
from mynumber_core.sealed_client import SealedExchanges
from mynumber_core.sealing import DomainKeys
from mynumber_core.server import RunningServer
from mynumber_dev.keys import ensure_dev_keys, keyring_path
from services.registry.domain import DOMAINS
from services.registry.models import Base
from tests.integration.registry.providers import TestProvider, start_provider
from tests.support.databases import (
    PostgresDatabases,
    SqliteDatabases,
    database_factory,
    postgres_available,
)
from tests.support.resident_device import ResidentDevice, portal_login
from tests.support.stack import Stack

IDENTITY_OF_DOMAIN = {"portal": "gateway"}
AUDIT_TABLES = frozenset(
    {
        "security_events",
        "link_failures",
        "query_rate_buckets",
        "resident_challenges",
        "resident_grants",
        "attempt_counters",
    }
)
"""Where the registry records refused and failed calls (services/registry/abuse.py, the
attempt counters reserved before each Link / PIN try) and the resident's logins and step-ups
(resident_authority.py) by design; 'nothing changed' means
nothing outside these."""
_fake = Faker("ja_JP")
_fake.seed_instance(20251126)
_fake_lock = threading.Lock()
_counter = itertools.count(1)


def identity(domain: str) -> str:
    """The mTLS identity that holds a token domain."""
    return IDENTITY_OF_DOMAIN.get(domain, domain)


@dataclass
class Resident:
    """A registered resident as the test knows them."""

    facts: pb.BasicFacts
    my_number: str
    tokens: dict[str, str] = field(default_factory=dict)
    """Token per domain, filled as domains link."""


def new_facts() -> pb.BasicFacts:
    """Synthetic, realistic four basic facts (unique per call)."""
    with _fake_lock:
        female = next(_counter) % 2 == 0
        name = _fake.name_female() if female else _fake.name_male()
        born = _fake.date_of_birth(minimum_age=0, maximum_age=95).isoformat()
        address = _fake.address()
    return pb.BasicFacts(
        name=name,
        birth_date=born,
        sex=pb.SEX_FEMALE if female else pb.SEX_MALE,
        address=address,
    )


class RegistryEnv:
    """A running stack with the registry, and helpers to drive and inspect it."""

    def __init__(self, stack: Stack, providers: dict[str, TestProvider] | None = None) -> None:
        self.stack = stack
        self.providers = providers or {}
        self.url = stack.database("registry")
        self.engine: Engine = create_engine(self.url, poolclass=NullPool)
        self._keys: dict[str, DomainKeys] = {}
        self.device = ResidentDevice()
        """The residents' cards: adds their grant (and step-ups) to portal calls."""

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        self.engine.dispose()

    # -- stubs
    def channel(self, as_identity: str) -> grpc.Channel:
        """A channel to the registry; the portal's carries the residents' grants."""
        channel = self.stack.channel("registry", as_identity=as_identity)
        return grpc.intercept_channel(channel, self.device) if as_identity == "gateway" else channel

    def registry(self, as_identity: str) -> pb_grpc.RegistryStub:
        return pb_grpc.RegistryStub(self.channel(as_identity))

    def hub(self, as_identity: str) -> pb_grpc.HubStub:
        return pb_grpc.HubStub(self.channel(as_identity))

    def exchange_log(self, as_identity: str) -> pb_grpc.ExchangeLogStub:
        return pb_grpc.ExchangeLogStub(self.channel(as_identity))

    # -- sealing (each domain's own HPKE keys, from its dev keyring)
    def keys(self, domain: str) -> DomainKeys:
        """The domain's HPKE keys, as that domain's service holds them."""
        if domain not in self._keys:
            path = keyring_path(self.stack.var, identity(domain))
            self._keys[domain] = DomainKeys(Keyring.load(path), domain)
        return self._keys[domain]

    def sealed(self, domain: str) -> SealedExchanges:
        """The domain's side of sealed exchanges: open answers, seal events."""
        return SealedExchanges(self.hub(identity(domain)), self.keys(domain))

    # -- residents
    def register(self, facts: pb.BasicFacts | None = None, key: str = "") -> Resident:
        """Register through the municipality; its token is recorded."""
        facts = facts or new_facts()
        response = self.registry("municipality").RegisterResident(
            pb.RegisterResidentRequest(facts=facts, idempotency_key=key)
        )
        return Resident(facts, response.my_number, {"municipality": response.token})

    def link(self, resident: Resident, *domains: str) -> Resident:
        """Link the resident in each domain (as that domain's identity); the portal learns its
        token from a card login instead (a card issued at the counter, a grant)."""
        for dom in domains:
            if dom == "portal":
                if "municipality" not in resident.tokens:
                    self.link(resident, "municipality")
                login = portal_login(
                    self.stack.channel("registry", as_identity="municipality"),
                    self.stack.channel("registry", as_identity="gateway"),
                    resident.tokens["municipality"],
                )
                resident.tokens[dom] = self.device.remember(login).token
                continue
            response = self.registry(identity(dom)).Link(
                pb.LinkRequest(my_number=resident.my_number, facts=resident.facts)
            )
            resident.tokens[dom] = response.token
        return resident

    def linked(self, *domains: str) -> Resident:
        """A new resident linked in the given domains (municipality always)."""
        return self.link(self.register(), *[d for d in domains if d != "municipality"])

    # -- database
    def snapshot(self) -> dict[str, list[str]]:
        """Every row of every registry table but the audit ones, raw as stored (for 'nothing
        changed' checks)."""
        out: dict[str, list[str]] = {}
        with self.engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                if table.name in AUDIT_TABLES:
                    continue
                rows = conn.execute(text(f'SELECT * FROM "{table.name}"')).all()
                out[table.name] = sorted(repr(tuple(_plain(v) for v in row)) for row in rows)
        return out

    def log_rows(self) -> list[dict[str, Any]]:
        """The exchange-log rows in index order (outcome, requester, provider, ...)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    'SELECT "index", requester, provider, request_id, outcome, message, '
                    'status_code FROM log_entries ORDER BY "index"'
                )
            ).mappings()
            return [dict(r) for r in rows]

    def log_size(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM log_entries")).scalar_one())

    def provide_count(self) -> int:
        return sum(len(p.provides) for p in self.providers.values())

    def reset_providers(self) -> None:
        for p in self.providers.values():
            p.reset()


def _plain(value: Any) -> Any:
    if isinstance(value, memoryview):
        return bytes(value).hex()
    if isinstance(value, bytes):
        return value.hex()
    return value


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def fresh_env(tmp_path: Path, backend: Any) -> Iterator[RegistryEnv]:
    """The registry alone, on a fresh database of the test's backend (for tests that break
    or scan the database)."""
    with Stack(tmp_path, ["registry"], database=backend) as stack:
        registry_env = RegistryEnv(stack)
        try:
            yield registry_env
        finally:
            registry_env.close()


@pytest.fixture(scope="module", params=BACKENDS)
def env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryEnv]:
    """The registry alone, shared by one module's tests on each backend (tests use fresh
    residents, so they do not see each other's data)."""
    if request.param == "postgres" and not postgres_available():
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is not reachable; .ci/run starts it")
    var = tmp_path_factory.mktemp(f"registry-{request.param}")
    with (
        database_factory(request.param, var) as database,
        Stack(var, ["registry"], database=database) as stack,
    ):
        registry_env = RegistryEnv(stack)
        try:
            yield registry_env
        finally:
            registry_env.close()


def start_with_providers(
    var: Path, database: Any, domains: tuple[str, ...] = DOMAINS
) -> tuple[Stack, dict[str, TestProvider], list[RunningServer]]:
    """Start one test provider per domain, then the registry knowing their addresses."""
    ensure_dev_keys(var)
    providers = {d: TestProvider(d) for d in domains}
    servers = [start_provider(var, p) for p in providers.values()]
    stack = Stack(var, ["registry"], database=database)
    for p, srv in zip(providers.values(), servers, strict=True):
        stack.endpoints[identity(p.domain)] = f"127.0.0.1:{srv.port}"
    try:
        stack.start()
    except Exception:
        for srv in servers:
            srv.stop(0)
        raise
    return stack, providers, servers


@pytest.fixture(scope="module", params=BACKENDS)
def hub_env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryEnv]:
    """The registry plus a test provider for every domain, shared by a module's tests."""
    if request.param == "postgres" and not postgres_available():
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is not reachable; .ci/run starts it")
    var = tmp_path_factory.mktemp(f"hub-{request.param}")
    with database_factory(request.param, var) as database:
        stack, providers, servers = start_with_providers(var, database)
        registry_env = RegistryEnv(stack, providers)
        try:
            yield registry_env
        finally:
            registry_env.close()
            stack.stop()
            for srv in servers:
                srv.stop(0)


@pytest.fixture
def hub(hub_env: RegistryEnv) -> RegistryEnv:
    """The shared hub environment with the providers' counters and switches reset."""
    hub_env.reset_providers()
    return hub_env


@pytest.fixture
def registry_db(backend: SqliteDatabases | PostgresDatabases) -> Iterator[Database]:
    """A new registry database at the newest migration, on each backend (no service)."""
    url = backend("registry")
    upgrade("registry", url)
    database = Database.from_url(url)
    try:
        yield database
    finally:
        database.dispose()
