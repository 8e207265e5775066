"""A batch's sealed answer is kept in the same group commit as its log entries (issue 10, hub
latency), on SQLite and PostgreSQL: one ``sealed_answers`` row per batch, committed with the
entries that commit to its digest, and a retried BatchQuery is answered from it (the provider
is not asked again) with the very same ciphertext."""

from __future__ import annotations

import uuid

from mynumber.registry.v1 import registry_pb2 as pb
from sqlalchemy import text

from mynumber_core.structs import to_struct
from tests.integration.registry.conftest import RegistryEnv


def _sealed_rows(env: RegistryEnv, digest: str) -> int:
    with env.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM sealed_answers WHERE digest = :d"), {"d": digest}
            ).scalar_one()
        )


def _digests(env: RegistryEnv, ids: list[str]) -> set[str]:
    with env.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT request_id, answer_digest FROM log_entries WHERE outcome = 'provided'")
        ).all()
    return {str(d) for r, d in rows if r in ids}


def test_a_retried_batch_is_answered_from_the_kept_ciphertext(hub: RegistryEnv) -> None:
    people = [hub.linked("tax") for _ in range(3)]
    ids = [f"replay-{uuid.uuid4().hex[:12]}" for _ in people]
    request = pb.BatchQueryRequest(
        queries=[
            pb.QueryRequest(
                token=p.tokens["municipality"],
                provider="tax",
                item="income",
                procedure="disaster.victim_support",
                request_id=i,
                params=to_struct({"year": 2024}),
            )
            for p, i in zip(people, ids, strict=True)
        ]
    )
    stub = hub.hub("municipality")
    first = stub.BatchQuery(request)
    assert [r.code for r in first.results] == [0, 0, 0]
    digests = _digests(hub, ids)
    assert len(digests) == 1  # every entry commits to the batch's one ciphertext
    digest = next(iter(digests))
    assert _sealed_rows(hub, digest) == 1
    assert hub.providers["tax"].batches == 1

    again = stub.BatchQuery(request)
    assert hub.providers["tax"].batches == 1  # answered from the kept ciphertext
    assert [r.log_index for r in again.results] == [r.log_index for r in first.results]
    sealed = hub.sealed("municipality")
    asked = [
        sealed.asked(q.provider, q.item, q.procedure, q.request_id, {"year": 2024})
        for q in request.queries
    ]
    before = [data for data, _ in sealed.open_batch(asked, first)]
    after = [data for data, _ in sealed.open_batch(asked, again)]
    assert before == after and all(d is not None for d in after)
    assert _sealed_rows(hub, digest) == 1
    assert len([r for r in hub.log_rows() if r["request_id"] in ids]) == 3


def test_a_batch_across_two_providers_is_recorded_in_one_group_commit(hub: RegistryEnv) -> None:
    """Health and tax are each asked once, and every entry of the batch is written by one
    transaction: consecutive indices, and the one commit's time (the sequencer reads its clock
    once per transaction) in every entry. Settling each provider's part on its own gave two."""
    people = [hub.linked("tax", "health") for _ in range(2)]
    ids = [f"two-{uuid.uuid4().hex[:12]}" for _ in range(4)]
    asks = [
        ("tax", "income", "disaster.victim_support"),
        ("health", "care_flags", "disaster.support_list"),
    ]
    request = pb.BatchQueryRequest(
        queries=[
            pb.QueryRequest(
                token=p.tokens["municipality"],
                provider=provider,
                item=item,
                procedure=procedure,
                request_id=ids[2 * n + k],
                params=to_struct({"year": 2024}),
            )
            for n, p in enumerate(people)
            for k, (provider, item, procedure) in enumerate(asks)
        ]
    )
    response = hub.hub("municipality").BatchQuery(request)
    assert [r.code for r in response.results] == [0, 0, 0, 0]
    assert hub.providers["tax"].batches == 1 and hub.providers["health"].batches == 1
    with hub.engine.connect() as conn:
        rows = conn.execute(
            text('SELECT "index", request_id, created_at FROM log_entries ORDER BY "index"')
        ).all()
    mine = [(int(index), at) for index, request_id, at in rows if request_id in ids]
    indices = [index for index, _ in mine]
    assert indices == list(range(indices[0], indices[0] + 4))
    assert len({at for _, at in mine}) == 1
