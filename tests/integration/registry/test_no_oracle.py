"""No oracles at Link (issue 15): a reissued number and a number never issued answer exactly
alike (same status, same message) until all four facts match, and in the same time.

Before, a reissued number answered FAILED_PRECONDITION "this My Number was reissued" before
any fact check, so any agency could learn that a number exists and was compromised; and a
miss on a real number took measurably longer than on an unknown one.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_core.mynumber import check_digit
from tests.support.stack import DatabaseFactory, Stack

CALLS = 200


@pytest.fixture
def stack(tmp_path: Path, backend: DatabaseFactory) -> Iterator[Stack]:
    # Limits far above the sample size: this test measures the answers, not the limiter.
    overrides = {
        "registry": {"link_failures_per_number": 10_000, "link_failures_per_domain": 10_000}
    }
    with Stack(tmp_path, ["registry"], database=backend, overrides=overrides) as running_stack:
        yield running_stack


def _facts() -> pb.BasicFacts:
    return pb.BasicFacts(
        name="佐藤 次郎", birth_date="1975-04-01", sex=pb.SEX_MALE, address="東京都港区芝公園4-2-8"
    )


def _unissued(seed: int) -> str:
    body = f"{987654321000 + seed * 104729:011d}"[-11:]
    return body + str(check_digit(body))


def _reissued(stack: Stack) -> tuple[str, str, pb.BasicFacts]:
    """Register a resident and reissue their number: (old number, new number, facts)."""
    registry = pb_grpc.RegistryStub(stack.channel("registry", as_identity="municipality"))
    facts = _facts()
    issued = registry.RegisterResident(
        pb.RegisterResidentRequest(facts=facts, idempotency_key=uuid.uuid4().hex)
    )
    new = registry.ReissueNumber(
        pb.ReissueNumberRequest(token=issued.token, idempotency_key=uuid.uuid4().hex)
    )
    return issued.my_number, new.my_number, facts


def _error(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def _link_error(stub: pb_grpc.RegistryStub, number: str, facts: pb.BasicFacts) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        stub.Link(pb.LinkRequest(my_number=number, facts=facts))
    return info.value


def _wrong(facts: pb.BasicFacts) -> pb.BasicFacts:
    guess = pb.BasicFacts()
    guess.CopyFrom(facts)
    guess.birth_date = "1975-04-02"
    return guess


def test_reissued_and_unknown_numbers_answer_alike(stack: Stack) -> None:
    old, new, facts = _reissued(stack)
    unknown = _unissued(1)
    pension = pb_grpc.RegistryStub(stack.channel("registry", as_identity="pension"))

    answers = set()
    for number, guess in [(old, _wrong(facts)), (unknown, _wrong(facts)), (unknown, facts)]:
        error = _link_error(pension, number, guess)
        answers.add((error.code(), error.details()))
    assert len(answers) == 1, answers
    code, details = answers.pop()
    assert code == grpc.StatusCode.NOT_FOUND and "reissued" not in details
    assert old not in details

    # Only a caller who already has all four facts learns that the number was reissued.
    knows = _error(lambda: pension.Link(pb.LinkRequest(my_number=old, facts=facts)))
    assert knows.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "reissued" in knows.details()
    assert pension.Link(pb.LinkRequest(my_number=new, facts=facts)).token


def _spread(samples: list[float]) -> float:
    q1, _, q3 = statistics.quantiles(samples, n=4)
    return q3 - q1


def test_reissued_and_unknown_numbers_take_the_same_time(stack: Stack) -> None:
    old, _, facts = _reissued(stack)
    unknown = _unissued(2)
    pension = pb_grpc.RegistryStub(stack.channel("registry", as_identity="pension"))
    guess = _wrong(facts)
    times: dict[str, list[float]] = {"reissued": [], "unknown": []}
    for i in range(20):  # warm up connections, caches and the JIT-less interpreter alike
        _link_error(pension, (old, unknown)[i % 2], guess)
    for i in range(2 * CALLS):  # interleaved, so drift affects both alike
        kind, number = ("reissued", old) if i % 2 == 0 else ("unknown", unknown)
        start = time.perf_counter()
        error = _link_error(pension, number, guess)
        times[kind].append(time.perf_counter() - start)
        assert error.code() == grpc.StatusCode.NOT_FOUND
    reissued, unknown_times = times["reissued"], times["unknown"]
    gap = abs(statistics.median(reissued) - statistics.median(unknown_times))
    spread = min(_spread(reissued), _spread(unknown_times))
    print(
        f"median reissued {statistics.median(reissued) * 1e3:.3f} ms, unknown "
        f"{statistics.median(unknown_times) * 1e3:.3f} ms, gap {gap * 1e3:.3f} ms, "
        f"spread (smaller IQR) {spread * 1e3:.3f} ms"
    )
    assert gap < spread
