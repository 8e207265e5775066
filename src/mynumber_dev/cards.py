"""Demo My Number Cards for ``make run``: issue residents' cards through the real Cards RPC.

Each card's key is generated here and only its CSR is sent, as at the counter; the card file
is written under ``var/cards/`` (named by position, never by person), sealed through the
registry's OPRF of a 4-digit PIN (``mynumber-card/2``: it opens only online, 3 wrong PINs
lock it) that the launcher records in ``var/demo-residents.json`` next to the synthetic
resident.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_core.card import make_csr, new_card_key, seal_card_file, validate_pin
from mynumber_core.card_pin_client import GrpcPinAuthority
from mynumber_core.channels import Channels

if TYPE_CHECKING:
    from mynumber_dev.demo import DemoResident

DEMO_PIN = "1234"
"""A default PIN for a single demo card."""
RPC_TIMEOUT = 10.0
_SEX = {"male": pb.SEX_MALE, "female": pb.SEX_FEMALE}


def issue_demo_card(
    registry_channel_as_municipality: grpc.Channel,
    municipality_token: str,
    path: Path,
    pin: str = DEMO_PIN,
) -> str:
    """Issue a card for the resident the municipality's token names; write it to ``path``.

    Returns the card's serial. Any earlier card of the resident is revoked by the registry.
    """
    validate_pin(pin)
    key = new_card_key()
    response = pb_grpc.CardsStub(registry_channel_as_municipality).IssueCard(
        pb.IssueCardRequest(token=municipality_token, csr_pem=make_csr(key)),
        timeout=RPC_TIMEOUT,
    )
    # Sealed through the registry's OPRF (mynumber-card/2): the file alone opens with no PIN.
    authority = GrpcPinAuthority(pb_grpc.CardsStub(registry_channel_as_municipality))
    seal_card_file(path, key, response.certificate_pem, response.ca_certificate_pem, pin, authority)
    return str(response.serial)


def demo_pin(index: int) -> str:
    """A stable, varied 4-digit PIN for the ``index``-th demo resident."""
    return f"{random.Random(f'card-pin-{index}').randrange(10_000):04d}"


def _municipality_token(stub: pb_grpc.RegistryStub, resident: DemoResident) -> str:
    token = resident.tokens.get("municipality")
    if token:
        return token
    # The municipality service keeps its token to itself; the counter links once more.
    response = stub.Link(
        pb.LinkRequest(
            my_number=resident.my_number,
            facts=pb.BasicFacts(
                name=resident.name,
                birth_date=resident.birth_date,
                sex=_SEX[resident.sex],
                address=resident.address,
            ),
        ),
        timeout=RPC_TIMEOUT,
    )
    return str(response.token)


def seed_cards(
    var: Path, channels: Callable[[str], Channels], residents: list[DemoResident]
) -> int:
    """Issue a card for every registered demo resident; returns how many were issued."""
    channel = channels("municipality").channel("registry")
    registry = pb_grpc.RegistryStub(channel)
    issued = 0
    for index, resident in enumerate(residents, 1):
        if not resident.my_number:
            continue
        token = _municipality_token(registry, resident)
        path = var / "cards" / f"resident-{index:04d}.card"
        pin = demo_pin(index)
        issue_demo_card(channel, token, path, pin)
        resident.card_file, resident.card_pin = str(path), pin
        issued += 1
    return issued
