"""Seed a running platform with synthetic residents through the services' real APIs.

The municipality registers every resident (which issues their My Number); every other
agency then enrols them with the number and the four facts, as a counter clerk would, and
gets its own token. Each agency's demo data comes from its ``mynumber_dev.seed_<name>``
module. The result — numbers, names, card files and PINs — is written to
``var/demo-residents.json`` so a new user can try the CLI and the portal at once.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_core.channels import Channels
from mynumber_core.tls import TlsMaterial
from mynumber_dev.demo import DemoResident, generate_residents, save
from mynumber_dev.keys import tls_dir

log = structlog.get_logger("mynumber.seed")
_SEX = {"male": pb.SEX_MALE, "female": pb.SEX_FEMALE}


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
    save(residents, var / "demo-residents.json")
    return residents


def _module_path(name: str) -> Any | None:
    try:
        return importlib.import_module(f"mynumber_dev.{name}")
    except ModuleNotFoundError:
        return None
