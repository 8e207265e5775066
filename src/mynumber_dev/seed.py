"""Seed a running platform with synthetic residents through the services' real APIs.

The municipality registers every resident (which issues their My Number); every other
agency then enrols them with the number and the four facts, as a counter clerk would, and
gets its own token. Each agency's demo data comes from its ``mynumber_dev.seed_<name>``
module. The result — numbers, names, card files and PINs — is written to
``var/demo-residents.json`` so a new user can try the CLI and the portal at once, and kept per
backend (``var/.demo-residents-<backend>.json``): a second ``make run`` on the same ``var/``
finds them in the running platform (:func:`reuse_demo_residents`) and seeds nothing.
"""

from __future__ import annotations

import importlib
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import structlog
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_core.channels import Channels
from mynumber_core.tls import TlsMaterial
from mynumber_dev.demo import DemoResident, generate_residents, load, save
from mynumber_dev.keys import tls_dir

log = structlog.get_logger("mynumber.seed")
_SEX = {"male": pb.SEX_MALE, "female": pb.SEX_FEMALE}
DEMO_FILE = "demo-residents.json"


def backend_copy(var: Path, backend: str) -> Path:
    """Where the residents seeded into ``backend`` ("sqlite" or "postgres") are kept."""
    return var / f".demo-residents-{backend}.json"


def reuse_demo_residents(
    var: Path, endpoints: dict[str, str], backend: str
) -> list[DemoResident] | None:
    """The demo residents already seeded into this platform's databases, or None.

    The kept list for ``backend`` is tried first, then ``var/demo-residents.json`` (a ``var/``
    from before the per-backend copy, or the same backend). A list is taken only when the
    registry still knows its residents: the first, a middle and the last link (number and the
    four facts, as the municipality's counter would) — a database dropped or seeded into
    another backend means seeding again. The list taken becomes ``var/demo-residents.json``.
    """
    shown = var / DEMO_FILE
    for path in (backend_copy(var, backend), shown):
        if not path.exists():
            continue
        try:
            residents = load(path)
        except (ValueError, TypeError, KeyError):
            continue  # unreadable (e.g. a half-written file): seed again
        channels = Channels(
            TlsMaterial(tls_dir(var, "municipality")), endpoints, default_timeout=30
        )
        try:
            known = _known(pb_grpc.RegistryStub(channels.channel("registry")), residents)
        finally:
            channels.close()
        if known:
            if path != shown:
                shutil.copyfile(path, shown)
                shown.chmod(0o600)
            return residents
    return None


def _known(stub: pb_grpc.RegistryStub, residents: list[DemoResident]) -> bool:
    numbered = [r for r in residents if r.my_number]
    if not numbered:
        return False
    for r in {id(r): r for r in (numbered[0], numbered[len(numbered) // 2], numbered[-1])}.values():
        try:
            stub.Link(
                pb.LinkRequest(
                    my_number=r.my_number,
                    facts=pb.BasicFacts(
                        name=r.name, birth_date=r.birth_date, sex=_SEX[r.sex], address=r.address
                    ),
                )
            )
        except grpc.RpcError:
            return False
    return True


def _module(name: str) -> Any | None:
    try:
        return importlib.import_module(f"mynumber_dev.seed_{name}")
    except ModuleNotFoundError:
        return None


def register_in_registry(channels: Channels, residents: list[DemoResident]) -> None:
    """Fallback when no municipality service is running: register as the municipality."""
    stub = pb_grpc.RegistryStub(channels.channel("registry"))
    for r in residents:
        response = stub.RegisterResident(
            pb.RegisterResidentRequest(
                facts=pb.BasicFacts(
                    name=r.name, birth_date=r.birth_date, sex=_SEX[r.sex], address=r.address
                ),
                idempotency_key=uuid.uuid4().hex,
            )
        )
        r.my_number = response.my_number
        r.tokens["municipality"] = response.token


def seed_platform(
    var: Path,
    endpoints: dict[str, str],
    services: list[str],
    count: int,
    progress: Callable[[str], None] = print,
    portal_url: str | None = None,
) -> list[DemoResident]:
    """Create ``count`` residents across every running service; returns them."""
    residents = generate_residents(count)

    def channels(identity: str) -> Channels:
        return Channels(TlsMaterial(tls_dir(var, identity)), endpoints, default_timeout=60)

    municipality = _module("municipality") if "municipality" in services else None
    if municipality is not None:
        municipality.seed(channels("operator").channel("municipality"), residents)
    else:
        register_in_registry(channels("municipality"), residents)
    progress(f"  registered {len(residents)} residents")
    for service in ("pension", "tax", "health", "gateway"):
        module = _module(service) if service in services else None
        if module is None:
            continue
        module.seed(channels("operator").channel(service), residents)
        progress(f"  seeded {service}")
    cards = _module_path("cards")
    if cards is not None and "municipality" in services:
        issued = cards.seed_cards(var, channels, residents)
        progress(f"  issued {issued} My Number Cards (files under {var / 'cards'})")
    portal = _module("gateway") if "gateway" in services and portal_url else None
    if portal is not None and portal_url is not None:
        accounts = portal.seed_portal(portal_url, residents)
        progress(f"  registered {accounts} payout accounts through the portal")
    orphans = _module("orphans") if "pension" in services else None
    if orphans is not None:
        found = orphans.seed(channels("operator").channel("pension"), residents, var)
        progress(f"  {found.summary()}")
    save(residents, var / DEMO_FILE)
    return residents


def keep_for_backend(var: Path, backend: str) -> None:
    """Remember ``var/demo-residents.json`` as what ``backend`` was seeded with."""
    copy = backend_copy(var, backend)
    shutil.copyfile(var / DEMO_FILE, copy)
    copy.chmod(0o600)


def _module_path(name: str) -> Any | None:
    try:
        return importlib.import_module(f"mynumber_dev.{name}")
    except ModuleNotFoundError:
        return None


def seed_or_reuse(
    var: Path,
    endpoints: dict[str, str],
    services: list[str],
    backend: str,
    count: int,
    *,
    portal_url: str | None = None,
    reseed: bool = False,
    say: Callable[[str], None] = print,
) -> list[DemoResident]:
    """What ``make run`` does once the services are up: reuse the demo residents the
    databases already hold (a second run on the same ``var/``), or seed ``count`` new ones
    (the first run, ``--reseed``, or databases that lost them) and keep the list for
    ``backend``."""
    if not reseed:
        kept = reuse_demo_residents(var, endpoints, backend)
        if kept is not None:
            say(f"Reusing the {len(kept)} demo residents already in the databases")
            return kept
    say(f"Seeding {count} synthetic residents …")
    residents = seed_platform(var, endpoints, services, count, progress=say, portal_url=portal_url)
    keep_for_backend(var, backend)
    return residents
