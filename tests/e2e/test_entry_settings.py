"""Production entry points honour every setting: ``python -m services.registry`` reads the
registry's own settings class, so ``MYNUMBER_ACCESS_RIGHTS_PATH`` takes effect in a real
process, not only in the in-process test stack."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import pytest
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_core.channels import Channels
from mynumber_core.tls import TlsMaterial
from mynumber_dev.keys import tls_dir
from mynumber_dev.platform import Platform
from tests.integration.registry.conftest import new_facts

# One unrelated rule only: pension may not ask tax for income under this table.
NARROW_TABLE = """
[[query]]
requester = "pension"
provider = "municipality"
item = "basic_facts"
procedure = "pension.claim"
basis = "a benefit claim checks the claimant is alive and resident"
"""


def test_the_registry_process_reads_its_access_rights_path(tmp_path: Path) -> None:
    table = tmp_path / "access_rights.toml"
    table.write_text(NARROW_TABLE)
    var = tmp_path / "var"
    platform = Platform(
        var=var,
        services=["registry"],
        fixed_ports=False,
        extra_env={"MYNUMBER_ACCESS_RIGHTS_PATH": str(table)},
    )
    platform.start()
    try:

        def registry_as(identity: str) -> pb_grpc.RegistryStub:
            channels = Channels(TlsMaterial(tls_dir(var, identity)), platform.endpoints)
            return pb_grpc.RegistryStub(channels.channel("registry"))

        facts = new_facts()
        registered = registry_as("municipality").RegisterResident(
            pb.RegisterResidentRequest(facts=facts, idempotency_key=uuid.uuid4().hex)
        )
        linked = registry_as("pension").Link(
            pb.LinkRequest(my_number=registered.my_number, facts=facts)
        )
        channels = Channels(TlsMaterial(tls_dir(var, "pension")), platform.endpoints)
        hub = pb_grpc.HubStub(channels.channel("registry"))
        with pytest.raises(grpc.RpcError) as info:
            hub.Query(
                pb.QueryRequest(
                    token=linked.token,
                    provider="tax",
                    item="income",
                    procedure="pension.exemption",
                    request_id=f"settings-{uuid.uuid4().hex[:16]}",
                )
            )
        # The default table allows this query; the narrowed one named in the env denies it.
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "access-rights table does not allow" in (info.value.details() or "")
    finally:
        platform.stop()
