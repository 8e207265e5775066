"""The demo seeding module enrols residents and gives them data through the real API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from mynumber.exchange.v1 import exchange_pb2
from mynumber.exchange.v1.exchange_pb2_grpc import ProviderStub
from mynumber.registry.v1 import registry_pb2
from mynumber.registry.v1.registry_pb2_grpc import RegistryStub
from structlog.testing import capture_logs

from mynumber_core.structs import to_struct
from mynumber_dev import seed_health
from mynumber_dev.demo import generate_residents
from tests.support.sealing import open_provided, recipient
from tests.support.stack import Stack

_SEX = {"male": registry_pb2.SEX_MALE, "female": registry_pb2.SEX_FEMALE}


def test_seed_enrols_every_resident(tmp_path: Path, backend: Callable[[str], str]) -> None:
    residents = generate_residents(12)
    with Stack(tmp_path, ["registry", "health"], database=backend) as stack:
        registry = RegistryStub(stack.channel("registry", as_identity="municipality"))
        for r in residents:
            response = registry.RegisterResident(
                registry_pb2.RegisterResidentRequest(
                    facts=registry_pb2.BasicFacts(
                        name=r.name, birth_date=r.birth_date, sex=_SEX[r.sex], address=r.address
                    ),
                    idempotency_key=uuid.uuid4().hex,
                )
            )
            r.my_number = response.my_number
        with capture_logs() as logs:
            seed_health.seed(stack.channel("health", as_identity="operator"), residents)
        failures = [e for e in logs if "failed" in str(e.get("event"))]
        assert failures == []
        assert all("health" in r.tokens for r in residents)
        provider = ProviderStub(stack.channel("health", as_identity="registry"))
        statuses = set()
        for r in residents:
            request = exchange_pb2.ProvideRequest(
                token=r.tokens["health"],
                item="coverage",
                procedure="portal.my_information",
                request_id=uuid.uuid4().hex,
                requester="portal",
                params=to_struct({}),
                recipient=recipient(tmp_path, "portal"),
            )
            data = open_provided(tmp_path, "health", request, provider.Provide(request))
            statuses.add(data["current"]["status"])
        assert statuses == {"active"}
