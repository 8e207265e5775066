"""BulkRegister at scale: a batch big enough for the worker processes (the crypto on every
core) and, on PostgreSQL, binary COPY. Every resident gets a distinct valid number, a token
that resolves, encrypted facts and a blind index that Link finds. SQLite and PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import random

from mynumber.registry.v1 import registry_pb2 as pb

from mynumber_core.mynumber import validate
from services.registry.bulk import POOL_THRESHOLD
from tests.integration.registry.conftest import RegistryEnv, new_facts


def test_a_large_bulk_registration_is_prepared_by_the_workers(fresh_env: RegistryEnv) -> None:
    count = POOL_THRESHOLD + 500
    base = [new_facts() for _ in range(50)]
    residents = []
    for n in range(count):
        facts = pb.BasicFacts()
        facts.CopyFrom(base[n % len(base)])
        facts.address = f"{facts.address} {n}号室"  # every resident distinct
        residents.append(pb.RegisterResidentRequest(facts=facts, idempotency_key=f"bulk-{n}"))
    response = fresh_env.registry("municipality").BulkRegister(
        pb.BulkRegisterRequest(residents=residents), timeout=300
    )
    issued = list(response.residents)
    assert len(issued) == count
    # The registry runs in this test process: its preparing workers are our children.
    assert any(p.name.startswith("SpawnProcess") for p in multiprocessing.active_children())
    numbers = [r.my_number for r in issued]
    assert len(set(numbers)) == count and all(validate(n) == n for n in numbers)
    assert len({r.token for r in issued}) == count

    sample = random.Random(7).sample(range(count), 12)
    municipality = fresh_env.registry("municipality")
    tax = fresh_env.registry("tax")
    for n in sample:
        assert municipality.ResolveToken(pb.ResolveTokenRequest(token=issued[n].token)).found
        linked = tax.Link(
            pb.LinkRequest(my_number=numbers[n], facts=residents[n].facts)
        )  # blind index and encrypted facts as the workers wrote them
        assert linked.token and linked.token != issued[n].token

    # Idempotency keys recorded by the bulk path answer a retry with the same numbers.
    again = municipality.BulkRegister(
        pb.BulkRegisterRequest(residents=[residents[n] for n in sample[:3]]), timeout=60
    )
    assert [r.my_number for r in again.residents] == [numbers[n] for n in sample[:3]]
    assert len(fresh_env.snapshot()["persons"]) == count
