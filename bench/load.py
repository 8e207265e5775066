"""Fixed-arrival-rate load (open loop) on loopback: the exchange and the portal's HTTP API.

Unlike :mod:`bench.driver` (closed loop: a worker waits for its answer before sending the
next call, so a slow server slows the offered load down), requests here are scheduled at a
fixed rate whatever the answers do, as real residents and agencies arrive. Latency is
measured from each request's *scheduled* time, so time spent queueing behind a slow server
counts (no coordinated omission). The run is bounded: it sends ``rate × seconds`` requests,
refuses to have more than ``max_inflight`` outstanding (those count as errors, "shed"), and
waits at most ``drain`` seconds for the last answers; it always stops by itself.

Targets: (a) Hub.Query pension → registry → tax, (b) ``GET /api/me`` on the gateway with a
session opened by a demo My Number Card (when the gateway and cards are there), each beside
the same schedule against the bare two-hop mTLS echo chain measured in the same run.
Everything is on 127.0.0.1.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import httpx
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from bench.driver import Result
from bench.echo import echo_callable
from bench.sections import BenchPlatform
from bench.table import Row
from mynumber_core.card import login_challenge_message, unlock_card
from mynumber_core.card_pin_client import PortalPinAuthority
from mynumber_core.structs import to_struct

EXCHANGE_RATE = 100.0
"""Hub.Query requests per second offered (each is one exchange: registry → tax, logged)."""
PORTAL_RATE = 10.0
"""``GET /api/me`` requests per second offered: each fans out to eight exchanges (every
agency's items through one BatchQuery), so 10/s puts 80 exchanges/s on the hub, the same
order as the exchange target."""
MAX_INFLIGHT = 256
DRAIN_SECONDS = 30.0
CALL_TIMEOUT = 10.0
INCOME_YEAR = 2025
_SEX = {"male": pb.SEX_MALE, "female": pb.SEX_FEMALE}


def open_loop(
    call: Callable[[int], object],
    *,
    rate: float,
    seconds: float,
    max_inflight: int = MAX_INFLIGHT,
    drain: float = DRAIN_SECONDS,
) -> Result:
    """Start ``call(i)`` at ``t0 + i / rate`` for ``rate × seconds`` requests; time each one
    from its scheduled start to its answer."""
    total = max(1, round(rate * seconds))
    lock = threading.Lock()
    latencies: list[float] = []
    kinds: dict[str, int] = {}
    inflight = 0
    done = threading.Semaphore(0)

    def failed(kind: str, count: int = 1) -> None:
        with lock:
            kinds[kind] = kinds.get(kind, 0) + count

    def one(i: int, scheduled: float) -> None:
        nonlocal inflight
        try:
            call(i)
        except httpx.HTTPStatusError as exc:
            failed(f"HTTP {exc.response.status_code}")
        except Exception as exc:
            code = getattr(exc, "code", None)
            failed(str(code() if callable(code) else type(exc).__name__))
        else:
            elapsed_ms = (time.perf_counter() - scheduled) * 1000
            with lock:
                latencies.append(elapsed_ms)
        finally:
            with lock:
                inflight -= 1
            done.release()

    submitted = 0
    # Not a ``with`` block: leaving it would wait for every thread, and the run must end
    # after the drain timeout even if some call never returns.
    pool = ThreadPoolExecutor(max_workers=max_inflight, thread_name_prefix="load")
    started = time.perf_counter()
    for i in range(total):
        scheduled = started + i / rate
        pause = scheduled - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        with lock:
            full = inflight >= max_inflight
            if not full:
                inflight += 1
        if full:
            failed("shed: too many in flight")
            continue
        pool.submit(one, i, scheduled)
        submitted += 1
    sent_for = time.perf_counter() - started
    give_up = time.monotonic() + drain
    answered = 0
    while answered < submitted:
        if not done.acquire(timeout=max(0.0, give_up - time.monotonic())):
            failed("no answer before the drain timeout", submitted - answered)
            break
        answered += 1
    pool.shutdown(wait=False, cancel_futures=True)
    with lock:  # a call answering after the drain timeout must not change the figures
        measured, kinds = list(latencies), dict(kinds)
    return Result(len(measured), sum(kinds.values()), sent_for, measured, kinds)


def _exchange_call(bp: BenchPlatform) -> Callable[[int], object]:
    """Hub.Query income from tax as pension, for residents tax has income on record for."""
    channels = bp.channels("pension")
    registry = pb_grpc.RegistryStub(channels.channel("registry"))
    hub = pb_grpc.HubStub(channels.channel("registry"))
    params = to_struct({"year": INCOME_YEAR})

    def request(token: str) -> Any:
        return pb.QueryRequest(
            token=token,
            provider="tax",
            item="income",
            procedure="pension.exemption",
            request_id=uuid.uuid4().hex,
            params=params,
        )

    tokens = []
    for r in bp.residents:
        facts = pb.BasicFacts(
            name=r.name, birth_date=r.birth_date, sex=_SEX[r.sex], address=r.address
        )
        token = registry.Link(pb.LinkRequest(my_number=r.my_number, facts=facts)).token
        try:
            hub.Query(request(token), timeout=CALL_TIMEOUT)
        except grpc.RpcError:
            continue
        tokens.append(token)
    if not tokens:
        raise RuntimeError("no seeded resident has tax income for the load year")
    return lambda i: hub.Query(request(tokens[i % len(tokens)]), timeout=CALL_TIMEOUT)


def portal_session(base_url: str, card_file: Path, pin: str) -> httpx.Client:
    """An HTTP client logged in to the portal with a demo card (challenge → signature); the
    card file opens online, with one counted PIN try through the portal's relay."""
    card = unlock_card(card_file, pin, PortalPinAuthority(base_url))
    client = httpx.Client(
        base_url=base_url,
        timeout=CALL_TIMEOUT,
        limits=httpx.Limits(max_connections=MAX_INFLIGHT, max_keepalive_connections=64),
    )
    challenge = client.post("/api/login/challenge").raise_for_status().json()
    if not str(challenge["audience"]).startswith("http://127.0.0.1:"):
        raise RuntimeError(f"the portal's audience {challenge['audience']!r} is not loopback")
    message = login_challenge_message(
        challenge["nonce"], challenge["audience"], int(challenge["issued_at"])
    )
    client.post(
        "/api/login",
        json={
            "challenge_id": challenge["challenge_id"],
            "certificate_pem": card.certificate_pem.decode(),
            "signature": base64.b64encode(card.sign(message)).decode(),
        },
    ).raise_for_status()
    return client


def _gateway_call(bp: BenchPlatform) -> tuple[Callable[[int], object], httpx.Client] | None:
    """``GET /api/me`` with a card session, or None when there is no gateway or card."""
    if "gateway" not in bp.platform.procs:
        print("load: the gateway is not running; the HTTP target is skipped", flush=True)
        return None
    carded = [r for r in bp.residents if r.card_file and r.card_pin]
    if not carded:
        print("load: no demo resident has a card; the HTTP target is skipped", flush=True)
        return None
    base_url = f"http://127.0.0.1:{bp.platform.http_port}"
    client = portal_session(base_url, Path(carded[0].card_file or ""), carded[0].card_pin or "")

    def me(_: int) -> object:
        return client.get("/api/me").raise_for_status()

    me(0)  # the session works before the clock starts
    return me, client


def _describe(name: str, r: Result) -> str:
    kinds = ", ".join(f"{k}: {v}" for k, v in sorted(r.error_kinds.items())) or "none"
    return (
        f"load {name}: {r.ops + r.errors} sent, {r.ops} answered ({r.per_second:.1f}/s), "
        f"p50={r.p50:.1f} ms p95={r.percentile(95):.1f} ms p99={r.percentile(99):.1f} ms, "
        f"errors={r.errors} ({kinds})"
    )


def _rows(label: str, rate: float, project: Result, base: Result) -> list[Row]:
    tag = f"{label} @{rate:g}/s, errors {project.errors}/{project.ops + project.errors}"
    base_name = f"two-hop echo chain, same schedule, errors {base.errors}"
    return [
        Row(f"{tag}: p50 latency", project.p50, base.p50, "ms", base_name),
        Row(f"{tag}: p95 latency", project.percentile(95), base.percentile(95), "ms", base_name),
        Row(f"{tag}: p99 latency", project.percentile(99), base.percentile(99), "ms", base_name),
    ]


def load(bp: BenchPlatform, seconds: float) -> list[Row]:
    """Fixed-rate runs against the exchange and the portal API, each beside the echo chain
    on the same schedule (measured just before it)."""
    if "tax" not in bp.platform.procs:
        print("load section skipped: the tax service is not in this checkout", flush=True)
        return []
    chain = echo_callable(bp.channel_to(bp.echo_a, "tax"))
    payload = b"x" * 200

    def measure(label: str, call: Callable[[int], object], rate: float) -> list[Row]:
        print(f"load: {label}, {rate:g} requests/s for {seconds:g} s …", flush=True)
        base = open_loop(lambda i: chain(payload, timeout=CALL_TIMEOUT), rate=rate, seconds=seconds)
        print(_describe(f"echo chain @{rate:g}/s", base), flush=True)
        project = open_loop(call, rate=rate, seconds=seconds)
        print(_describe(f"{label} @{rate:g}/s", project), flush=True)
        return _rows(f"load: {label}", rate, project, base)

    rows = measure("exchange Query", _exchange_call(bp), EXCHANGE_RATE)
    gateway = _gateway_call(bp)
    if gateway is not None:
        me, client = gateway
        try:
            rows += measure("portal GET /api/me", me, PORTAL_RATE)
        finally:
            client.close()
    return rows
