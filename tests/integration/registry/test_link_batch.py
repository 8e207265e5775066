"""LinkBatch on SQLite and PostgreSQL: an agency links many existing records in one call,
each checked like Link (all four facts), answered on its own, under Link's attempt limits
(per (agency, number) and per agency, race-free), and a failed record changes nothing."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from mynumber_core.mynumber import check_digit
from tests.integration.registry.conftest import RegistryEnv, new_facts
from tests.support.stack import DatabaseFactory, Stack

OK = grpc.StatusCode.OK.value[0]
NOT_FOUND = grpc.StatusCode.NOT_FOUND.value[0]
INVALID = grpc.StatusCode.INVALID_ARGUMENT.value[0]
EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION.value[0]


@pytest.fixture
def reg(tmp_path: Path, backend: DatabaseFactory) -> Iterator[RegistryEnv]:
    """A registry with small limits: 3 failures per (agency, number), 6 per agency."""
    overrides = {
        "registry": {
            "link_failures_per_number": 3,
            "link_number_window_seconds": 3600.0,
            "link_failures_per_domain": 6,
            "link_domain_window_seconds": 3600.0,
        }
    }
    with Stack(tmp_path, ["registry"], database=backend, overrides=overrides) as stack:
        env = RegistryEnv(stack)
        try:
            yield env
        finally:
            env.close()


def _unissued(i: int) -> str:
    body = f"{900000000000 + i * 7919:011d}"[-11:]
    return body + str(check_digit(body))


def _wrong(facts: pb.BasicFacts) -> pb.BasicFacts:
    guess = pb.BasicFacts()
    guess.CopyFrom(facts)
    guess.birth_date = "1901-02-03"
    return guess


def _batch(env: RegistryEnv, identity: str, records: list[tuple[str, pb.BasicFacts]]) -> Any:
    return env.registry(identity).LinkBatch(
        pb.LinkBatchRequest(records=[pb.LinkRequest(my_number=n, facts=f) for n, f in records])
    )


def _links(env: RegistryEnv, domain: str) -> int:
    with env.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM links WHERE domain = :d"), {"d": domain}
            ).scalar_one()
        )


def _events(env: RegistryEnv, kind: str) -> list[dict[str, Any]]:
    with env.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT * FROM security_events WHERE kind = :k"), {"k": kind}
        ).mappings()
        return [dict(r) for r in rows]


def test_each_record_is_checked_and_answered_on_its_own(reg: RegistryEnv) -> None:
    people = [reg.register() for _ in range(4)]
    already = reg.link(people[3], "pension").tokens["pension"]
    bad_sex = pb.BasicFacts()
    bad_sex.CopyFrom(people[1].facts)
    bad_sex.sex = pb.SEX_UNSPECIFIED
    before = reg.snapshot()

    answer = _batch(
        reg,
        "pension",
        [
            (people[0].my_number, people[0].facts),  # 0 links
            (people[1].my_number, _wrong(people[1].facts)),  # 1 a wrong fact
            (_unissued(1), people[2].facts),  # 2 a number never issued
            ("12345", people[2].facts),  # 3 malformed number
            (people[0].my_number, people[0].facts),  # 4 repeated in the batch
            (people[2].my_number, people[2].facts),  # 5 links
            (people[3].my_number, people[3].facts),  # 6 already linked: same token
            (people[1].my_number, bad_sex),  # 7 a bad fact
        ],
    )
    codes = [r.code for r in answer.results]
    assert codes == [OK, NOT_FOUND, NOT_FOUND, INVALID, INVALID, OK, OK, INVALID]
    # No oracle: a wrong fact and an unknown number read exactly alike but for the position.
    assert answer.results[1].message.replace("record 1", "record 2") == answer.results[2].message
    assert answer.results[3].message.startswith("record 3: ")
    assert "record 0" in answer.results[4].message and "once" in answer.results[4].message
    assert "sex" in answer.results[7].message
    for r in answer.results:
        for p in people:
            assert p.my_number not in r.message and p.facts.name not in r.message
    # The tokens are exactly those single Link gives.
    single = reg.registry("pension")
    for i, p in ((0, people[0]), (5, people[2])):
        assert (
            answer.results[i].token
            == single.Link(pb.LinkRequest(my_number=p.my_number, facts=p.facts)).token
        )
        assert answer.results[i].key_version >= 1
    assert answer.results[6].token == already

    # Only the two new links were written: failed records changed nothing.
    after = reg.snapshot()
    assert {t: rows for t, rows in after.items() if t != "links"} == {
        t: rows for t, rows in before.items() if t != "links"
    }
    assert len(after["links"]) == len(before["links"]) + 2
    failed = _events(reg, "link_failed")
    assert len(failed) == 2
    assert {e["method"] for e in failed} == {"/mynumber.registry.v1.Registry/LinkBatch"}
    assert all(e["number_index"] and e["number_index"].startswith("blind-") for e in failed)


def test_a_reissued_number_with_every_fact_right_says_so(reg: RegistryEnv) -> None:
    person = reg.register()
    new_number = (
        reg.registry("municipality")
        .ReissueNumber(
            pb.ReissueNumberRequest(
                token=person.tokens["municipality"],
                reason="leaked",
                idempotency_key=uuid.uuid4().hex,
            )
        )
        .my_number
    )
    answer = _batch(reg, "tax", [(person.my_number, person.facts), (new_number, person.facts)])
    assert [r.code for r in answer.results] == [PRECONDITION, OK]
    assert "reissued" in answer.results[0].message
    # A wrong fact on the retired number still reads as any other mismatch.
    wrong = _batch(reg, "health", [(person.my_number, _wrong(person.facts))])
    assert wrong.results[0].code == NOT_FOUND


def test_per_number_limit_holds_across_batches_and_agencies(reg: RegistryEnv) -> None:
    target, other = reg.register(), reg.register()
    for _ in range(3):
        answer = _batch(reg, "pension", [(target.my_number, _wrong(target.facts))])
        assert answer.results[0].code == NOT_FOUND
    # The fourth attempt is refused before any lookup, right facts or not; other records in
    # the same batch are unaffected, and so is another agency for the same number.
    answer = _batch(
        reg,
        "pension",
        [(target.my_number, target.facts), (other.my_number, other.facts)],
    )
    assert [r.code for r in answer.results] == [EXHAUSTED, OK]
    assert "this number" in answer.results[0].message
    assert target.my_number not in answer.results[0].message
    assert _batch(reg, "tax", [(target.my_number, target.facts)]).results[0].code == OK
    # A single Link sees the same counter.
    with pytest.raises(grpc.RpcError) as info:
        reg.registry("pension").Link(pb.LinkRequest(my_number=target.my_number, facts=target.facts))
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_the_agency_limit_cuts_a_batch_and_reveals_nothing_past_it(reg: RegistryEnv) -> None:
    first, last = reg.register(), reg.register()
    records = [(first.my_number, first.facts)]
    records += [(_unissued(10 + i), new_facts()) for i in range(8)]
    records += [(last.my_number, last.facts)]
    before = _links(reg, "health")

    answer = _batch(reg, "health", records)
    codes = [r.code for r in answer.results]
    # Six mismatches fit the agency's limit; from the seventh on nothing is revealed, not
    # even the match at the end, and nothing past the cut is linked.
    assert codes == [OK] + [NOT_FOUND] * 6 + [EXHAUSTED] * 3
    assert "not checked" in answer.results[9].message
    assert _links(reg, "health") == before + 1
    assert len(_events(reg, "link_failed")) == 6
    # The agency is now at its limit: the next batch is refused whole, before any lookup.
    with pytest.raises(grpc.RpcError) as info:
        _batch(reg, "health", [(last.my_number, last.facts)])
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "from health" in info.value.details()
    # Other agencies are untouched.
    assert _batch(reg, "tax", [(last.my_number, last.facts)]).results[0].code == OK


def test_racing_batches_never_get_past_the_per_number_limit(reg: RegistryEnv) -> None:
    target = reg.register()
    helpers = [reg.register() for _ in range(5)]
    codes: list[int] = []
    lock = threading.Lock()
    stub = pb_grpc.RegistryStub(reg.stack.channel("registry", as_identity="tax"))

    def guess(k: int) -> None:
        answer = stub.LinkBatch(
            pb.LinkBatchRequest(
                records=[
                    pb.LinkRequest(my_number=helpers[k].my_number, facts=helpers[k].facts),
                    pb.LinkRequest(my_number=target.my_number, facts=_wrong(target.facts)),
                ]
            ),
            timeout=60,
        )
        with lock:
            codes.append(answer.results[1].code)
            assert answer.results[0].code == OK

    # Five at once: each batch holds one of the agency's six attempts while it runs.
    threads = [threading.Thread(target=guess, args=(k,)) for k in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == sorted([NOT_FOUND] * 3 + [EXHAUSTED] * 2)


def test_bad_calls_are_refused_whole(reg: RegistryEnv) -> None:
    person = reg.register()
    with pytest.raises(grpc.RpcError) as info:
        reg.registry("gateway").LinkBatch(
            pb.LinkBatchRequest(records=[pb.LinkRequest(my_number=person.my_number)])
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    too_many = [pb.LinkRequest(my_number="1", facts=person.facts)] * 10_001
    with pytest.raises(grpc.RpcError) as info:
        reg.registry("pension").LinkBatch(pb.LinkBatchRequest(records=too_many))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "10000" in info.value.details()
    assert len(_batch(reg, "pension", []).results) == 0


def test_the_counters_hold_no_number(reg: RegistryEnv) -> None:
    person = reg.register()
    _batch(reg, "pension", [(person.my_number, _wrong(person.facts))])
    engine = create_engine(reg.url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            dump = repr(conn.execute(text("SELECT * FROM attempt_counters")).all())
            dump += repr(conn.execute(text("SELECT * FROM security_events")).all())
    finally:
        engine.dispose()
    assert person.my_number not in dump and person.facts.name not in dump
