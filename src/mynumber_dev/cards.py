"""Demo My Number Cards for ``make run``: issue a resident's card through the real Cards RPC."""

from __future__ import annotations

from pathlib import Path

import grpc
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_core.card import make_csr, new_card_key, write_card_file

DEMO_PIN = "1234"
"""The PIN of every demo card (synthetic residents only)."""


def issue_demo_card(
    registry_channel_as_municipality: grpc.Channel,
    municipality_token: str,
    path: Path,
    pin: str = DEMO_PIN,
) -> str:
    """Issue a card for the resident the municipality's token names; write it to ``path``.

    The key is generated here and only its CSR is sent, as at the counter. Returns the serial.
    """
    key = new_card_key()
    response = pb_grpc.CardsStub(registry_channel_as_municipality).IssueCard(
        pb.IssueCardRequest(token=municipality_token, csr_pem=make_csr(key)), timeout=10.0
    )
    write_card_file(path, key, response.certificate_pem, response.ca_certificate_pem, pin)
    return str(response.serial)
