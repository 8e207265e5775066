"""Faults under load, on SQLite and on PostgreSQL, with the history checked after each one.

The platform runs as processes (``tests/chaos/conftest.py``); three client threads query the
hub (registry → tax), one applies for pension exemptions (pension → registry → tax and
municipality) and one moves residents (municipality → outbox → registry → pension, tax and
health). Each test injects one fault while that load runs, then checks the whole history so
far: no acknowledged write lost, no idempotent retry applied twice, log indices dense, every
move delivered to and applied by every agency once, every agency's address the municipality's,
and the exchange log verified (leaves → the newest signed checkpoint, consistent with the one
taken at the start). Errors callers saw (by status) and recovery times go to the report.

1. SIGKILL each service in turn; the supervisor restarts it.
2. PostgreSQL stopped in immediate mode for 1 s and started again: callers see no error.
3. tax (a provider) frozen with SIGSTOP for 3 s: callers see UNAVAILABLE or DEADLINE_EXCEEDED,
   or succeed once it runs again; never INTERNAL or UNKNOWN.
4. The network to the registry dropped for 4 s (the relay accepts and never answers): callers
   get DEADLINE_EXCEEDED or UNAVAILABLE within their deadline, never a hang.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from mynumber.registry.v1 import registry_pb2 as rpb

from mynumber_core.checkpoint import Checkpoint
from mynumber_core.logverifier import TrustedLog, verify_append, verify_checkpoint
from mynumber_core.merkle import consistency_proof, leaf_hash, root_hash
from tests.chaos.conftest import Chaos
from tests.chaos.history import EXEMPTION, MOVE, QUERY, Op, Window, recovery_seconds
from tests.chaos.load import CALL_TIMEOUT
from tests.chaos.rig import SERVICES

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

TRANSIENT = {"UNAVAILABLE", "DEADLINE_EXCEEDED"}
"""What a caller may hear during a fault: retry later (never INTERNAL or UNKNOWN)."""
SYNCHRONOUS = {
    "registry": (QUERY, EXEMPTION, MOVE),
    "municipality": (EXEMPTION, MOVE),
    "pension": (EXEMPTION,),
    "tax": (QUERY, EXEMPTION),
}
"""Which operations wait on each service (health and the gateway only receive events)."""


def _phase_ops(chaos: Chaos, phase: str) -> list[Op]:
    return [op for op in chaos.history.ops() if op.phase == phase]


def _statuses(ops: Iterable[Op]) -> set[str]:
    return {op.status for op in ops if not op.ok}


def _assert_checked(chaos: Chaos, phase: str) -> None:
    findings = chaos.settle(phase)
    print(f"[chaos {chaos.backend}] after {phase}: {findings.summary()}")
    assert findings.clean, (findings.lost[:10], findings.duplicated[:10], findings.problems[:10])
    _verify_log(chaos, phase)


def _verify_log(chaos: Chaos, phase: str) -> None:
    """The stored leaves hash to the newest signed checkpoint, which is consistent with the
    checkpoint taken when the module started (read first, then the leaves: every entry a
    checkpoint covers was committed before it was signed)."""
    trusted, first = _first_checkpoint(chaos)
    deadline = time.monotonic() + 20
    while True:  # checkpoints are signed off the exchange path: wait for one past the first
        note = chaos.rows("registry", "SELECT note FROM log_checkpoints ORDER BY size DESC LIMIT 1")
        latest = verify_checkpoint(trusted, note[0][0])
        if latest.size > first.size or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    rows = chaos.rows(
        "registry", 'SELECT "index", leaf, leaf_hash FROM log_entries ORDER BY "index"'
    )
    hashes = [bytes(r[2]) for r in rows]
    assert all(leaf_hash(bytes(r[1])) == bytes(r[2]) for r in rows), "a leaf hash is wrong"
    assert first.size < latest.size <= len(hashes)
    assert root_hash(hashes[: latest.size]) == latest.root_hash
    verify_append(first, latest, consistency_proof(hashes[: latest.size], first.size))
    chaos.report.setdefault("log_verified", {})[phase] = (
        f"{latest.size} leaves under the newest checkpoint, consistent with size {first.size}"
    )


def _first_checkpoint(chaos: Chaos) -> tuple[TrustedLog, Checkpoint]:
    if chaos.first_checkpoint is not None:
        return chaos.first_checkpoint
    response = chaos.clients.exchange_log("pension").GetCheckpoint(
        rpb.GetCheckpointRequest(), timeout=10
    )
    key = Ed25519PublicKey.from_public_bytes(response.public_key)
    trusted = TrustedLog(response.key_name, response.key_name, key)
    found = (trusted, verify_checkpoint(trusted, response.checkpoint))
    chaos.first_checkpoint = found
    return found


@pytest.fixture(scope="module", autouse=True)
def _pin_first_checkpoint(chaos: Chaos) -> None:
    _first_checkpoint(chaos)


def test_sigkill_each_service_in_turn_the_supervisor_restarts_it(chaos: Chaos) -> None:
    platform = chaos.platform
    for service in SERVICES:
        phase = f"SIGKILL {service}"
        chaos.history.phase = phase
        time.sleep(0.5)
        old = platform.procs[service].process
        start = time.monotonic()
        old.kill()
        old.wait()
        while platform.procs[service].process is old:  # the supervisor's restart
            assert time.monotonic() - start < 30, f"{service} was not restarted"
            time.sleep(0.05)
        serving = platform.wait_serving(service) - start
        kinds = SYNCHRONOUS.get(service, ())
        window = Window(phase, start, start + serving)
        recovery = None
        while kinds and recovery is None:  # until a call that needs the service succeeds
            assert time.monotonic() - start < 180, f"nothing through {service} succeeded"
            time.sleep(0.2)
            recovery = recovery_seconds(chaos.history.ops(), window, kinds)
        time.sleep(0.5)
        ops = _phase_ops(chaos, phase)
        chaos.record(
            phase,
            serving_again_after_s=round(serving, 3),
            first_acknowledged_after_s=recovery,
        )
        assert _statuses(ops) <= TRANSIENT, _statuses(ops)
        assert not chaos.load.crashes, chaos.load.crashes
    _assert_checked(chaos, "SIGKILL each service")


def test_a_one_second_database_restart_costs_callers_no_error(chaos: Chaos) -> None:
    if chaos.pg is None:
        pytest.skip("SQLite has no database server to restart (its crash is the SIGKILL test)")
    phase = "PostgreSQL stopped (immediate) for 1 s"
    chaos.history.phase = phase
    time.sleep(1.0)
    start = time.monotonic()
    chaos.pg.stop("immediate")
    time.sleep(1.0)
    startup = chaos.pg.start()
    back = time.monotonic()
    time.sleep(max(0.0, start + 12 - time.monotonic()))  # the calls of the outage finish
    chaos.history.phase = f"after {phase}"
    time.sleep(1.0)
    ops = _phase_ops(chaos, phase)
    chaos.record(
        phase,
        database_down_s=round(back - start, 3),
        server_start_s=round(startup, 3),
        first_acknowledged_after_s=recovery_seconds(
            chaos.history.ops(), Window(phase, start, back), (QUERY,)
        ),
        slowest_call_s=round(max(op.end - op.start for op in ops), 3),
    )
    assert not chaos.load.crashes, chaos.load.crashes
    failed = [op for op in ops if not op.ok]
    assert failed == [], f"{len(failed)} calls failed: {_statuses(failed)}"
    _assert_checked(chaos, phase)


def test_a_frozen_provider_costs_unavailable_or_latency_never_internal(chaos: Chaos) -> None:
    platform = chaos.platform
    phase = "tax frozen (SIGSTOP) for 3 s"
    chaos.history.phase = phase
    time.sleep(0.5)
    with platform.held("tax"):
        pid = platform.procs["tax"].process.pid
        start = time.monotonic()
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(3.0)
        finally:
            os.kill(pid, signal.SIGCONT)
        healed = time.monotonic()
    time.sleep(CALL_TIMEOUT + 1)
    ops = _phase_ops(chaos, phase)
    after_heal = [op.end - healed for op in ops if op.ok and op.kind == QUERY and op.end > healed]
    chaos.record(
        phase,
        frozen_s=round(healed - start, 3),
        first_query_acknowledged_after_resume_s=round(min(after_heal), 3) if after_heal else None,
    )
    assert _statuses(ops) <= TRANSIENT, _statuses(ops)
    assert not chaos.load.crashes, chaos.load.crashes
    _assert_checked(chaos, phase)


def test_a_black_holed_registry_fails_callers_within_their_deadline(chaos: Chaos) -> None:
    relay = chaos.platform.relay
    assert relay is not None
    phase = "network to the registry dropped for 4 s"
    chaos.history.phase = phase
    time.sleep(0.5)
    hub = chaos.clients.hub("pension")
    resident = chaos.load.residents[0]
    with relay.black_hole():
        start = time.monotonic()
        time.sleep(0.5)
        probe_started = time.monotonic()
        with pytest.raises(grpc.RpcError) as probe:
            hub.Query(
                rpb.QueryRequest(
                    token=resident.pension_token,
                    provider="tax",
                    item="income",
                    procedure="pension.exemption",
                    request_id=f"chaos-probe-{int(start)}",
                ),
                timeout=1.5,
            )
        probe_s = time.monotonic() - probe_started
        time.sleep(max(0.0, start + 4 - time.monotonic()))
        healed = time.monotonic()
    time.sleep(CALL_TIMEOUT + 1)
    ops = _phase_ops(chaos, phase)
    slowest = max(op.end - op.start for op in ops)
    after_heal = [op.end - healed for op in ops if op.ok and op.end > healed]
    chaos.record(
        phase,
        probe=f"{probe.value.code().name} after {probe_s:.2f} s (deadline 1.5 s)",
        slowest_call_s=round(slowest, 3),
        first_acknowledged_after_heal_s=round(min(after_heal), 3) if after_heal else None,
    )
    assert probe.value.code() in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE)
    assert probe_s < 1.5 + 2.0, "the caller hung past its deadline"
    assert slowest < CALL_TIMEOUT + 2.0, "a call hung past its deadline"
    assert _statuses(ops) <= TRANSIENT, _statuses(ops)
    assert not chaos.load.crashes, chaos.load.crashes
    _assert_checked(chaos, phase)
