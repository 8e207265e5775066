"""Invariant 1 end to end: the raw My Number crosses exactly one boundary, and personal data
is unreadable at rest — scanned across every database, every log, on SQLite and PostgreSQL.

Also invariant 2: the same person has a different token at each agency.
"""

from __future__ import annotations

import pytest
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_core.channels import Channels
from mynumber_core.tls import TlsMaterial
from mynumber_dev.keys import tls_dir
from tests.e2e.conftest import RunningPlatform
from tests.e2e.scan import needles, pg_dumps, scan, sqlite_and_logs

pytestmark = pytest.mark.e2e
_SEX = {"male": pb.SEX_MALE, "female": pb.SEX_FEMALE}


def _registry(rp: RunningPlatform, identity: str) -> pb_grpc.RegistryStub:
    channels = Channels(TlsMaterial(tls_dir(rp.var, identity)), rp.platform.endpoints)
    return pb_grpc.RegistryStub(channels.channel("registry"))


def test_seeded_numbers_and_names_never_stored_or_logged_sqlite(
    e2e_platform: RunningPlatform,
) -> None:
    rp = e2e_platform
    blobs = sqlite_and_logs(rp.var)
    assert any(p.endswith("registry.db") for p in blobs), "the scan must cover the databases"
    assert any(p.endswith(".log") for p in blobs), "the scan must cover the service logs"
    hits = scan(blobs, needles(rp.residents, names=True))
    assert hits == []


@pytest.mark.postgres
def test_seeded_numbers_and_names_never_in_pg_dump(e2e_platform_pg: RunningPlatform) -> None:
    rp = e2e_platform_pg
    dumps = pg_dumps({s: rp.platform.database_url(s) for s in rp.platform.services})
    assert all(len(d) > 0 for d in dumps.values())
    hits = scan({**dumps, **sqlite_and_logs(rp.var)}, needles(rp.residents, names=True))
    assert hits == []


def test_each_agency_gets_its_own_token(e2e_platform: RunningPlatform) -> None:
    rp = e2e_platform
    resident = rp.residents[0]
    facts = pb.BasicFacts(
        name=resident.name,
        birth_date=resident.birth_date,
        sex=_SEX[resident.sex],
        address=resident.address,
    )
    tokens = {}
    # The portal (gateway) does not link by number: it learns its token from a card login.
    for identity in ("municipality", "pension", "tax", "health"):
        response = _registry(rp, identity).Link(
            pb.LinkRequest(my_number=resident.my_number, facts=facts)
        )
        tokens[identity] = response.token
    assert len(set(tokens.values())) == len(tokens)
    for owner, token in tokens.items():
        for other in tokens:
            found = _registry(rp, other).ResolveToken(pb.ResolveTokenRequest(token=token)).found
            assert found is (other == owner), (owner, other)
