"""Three replicas of tax, pension and the gateway on one PostgreSQL, as processes (issue 11,
item 4): background jobs and idempotent writes take effect once.

The platform runs as ``python -m services.<name>`` processes on one fresh set of PostgreSQL
databases: registry ×1, municipality ×2, health ×1 and **tax, pension and gateway ×3**, each
replica with its own outbox relay and (tax, pension) its own payout release job, polling
every 0.25 s. gRPC clients (and the registry, and the agencies calling it) dial every
replica round robin (``"host:p1,host:p2,host:p3"``); HTTP requests to the portal rotate over
the three uvicorn ports.

Residents who are due a tax refund and an old-age pension move house (the moving one-stop
delivers ``address_changed`` to pension, tax and the portal), so the refund and the pension
claim that follow are **held** for the cooling-off period (15 s here) and then released by
whichever release job gets there first: six jobs race for every held payout. Every
registration, move and refund is also sent twice at once to two different replicas with the
same idempotency key, as a client retrying after a lost answer would: both answers must be the
first call's. Afterwards the databases must show no duplicate inbox document, payout, notice
or delivered event.

Checked that it can fail: with the release jobs' row claim (``FOR UPDATE SKIP LOCKED`` in
tax's and pension's ``_still_held``) removed, two replicas released the same payouts and the
inbox held duplicate refund letters.
"""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import itertools
import json
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc
import httpx
import pytest
import sqlalchemy as sa
from mynumber.municipality.v1 import municipality_pb2 as mpb
from mynumber.municipality.v1 import municipality_pb2_grpc as mpb_grpc
from mynumber.pension.v1 import pension_pb2 as ppb
from mynumber.tax.v1 import tax_pb2 as tpb
from mynumber.tax.v1 import tax_pb2_grpc as tpb_grpc
from prometheus_client.parser import text_string_to_metric_families

from mynumber_core.calendar import today_jst
from mynumber_core.card import action_message, login_challenge_message, unlock_card
from mynumber_core.card_pin_client import PortalPinAuthority
from mynumber_core.channels import Channels
from mynumber_core.keyring import FieldCipher, Keyring
from mynumber_core.pension_rates import MONTHLY_CONTRIBUTION
from mynumber_core.tls import TlsMaterial
from mynumber_dev.keys import keyring_path, tls_dir
from mynumber_dev.platform import Platform, drop_databases
from tests.e2e.clients import CREATED, Clients, Person, key, synthetic_person
from tests.support.databases import postgres_available

# Thirteen processes start in about a minute on an idle 2-core machine; on a loaded one
# (several test runs at once) start-up alone can take minutes.
pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(900)]

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
REPLICAS = {"registry": 1, "municipality": 2, "pension": 3, "tax": 3, "gateway": 3}
SERVICES = ["registry", "municipality", "pension", "tax", "health", "gateway"]
RESIDENTS = 8
COOLING_OFF_SECONDS = 15.0
PIN = "4321"
YEAR = today_jst().year - 1
T = TypeVar("T")


class ReplicaPlatform:
    """The running platform, its clients, and one stub per replica where a test pins one."""

    def __init__(self, platform: Platform, var: Path) -> None:
        self.platform = platform
        self.var = var
        self.clients = Clients(var, platform.endpoints, http_port=platform.http_port)
        self._pinned: dict[str, Channels] = {}
        self.ports = platform.http_ports()
        self._cycle = itertools.cycle(self.ports)
        self._lock = threading.Lock()

    def replica(self, service: str, k: int, identity: str = "operator") -> grpc.Channel:
        """A channel to replica ``k`` of ``service`` only."""
        address = self.platform.endpoints[service].split(",")[k]
        name = f"{identity}@{address}"
        if name not in self._pinned:
            endpoints = {**self.platform.endpoints, service: address}
            self._pinned[name] = Channels(
                TlsMaterial(tls_dir(self.var, identity)), endpoints, default_timeout=60
            )
        return self._pinned[name].channel(service)

    def next_port(self) -> int:
        """The next gateway replica's HTTP port (requests rotate over all of them)."""
        with self._lock:
            return next(self._cycle)

    def engine(self, service: str) -> sa.Engine:
        """An engine on the service's (shared) database."""
        return sa.create_engine(self.platform.database_url(service), pool_size=2)

    def close(self) -> None:
        """Close every channel."""
        self.clients.close()
        for channels in self._pinned.values():
            channels.close()


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicaPlatform]:
    """The platform with three replicas of tax, pension and the gateway, on PostgreSQL."""
    if not postgres_available():
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is not reachable; .ci/run starts it")
    var = tmp_path_factory.mktemp("replica-agencies")
    prefix = f"rep_{uuid.uuid4().hex[:8]}"
    platform = Platform(
        var=var,
        postgres=PG_SERVER,
        services=SERVICES,
        fixed_ports=False,
        db_prefix=prefix,
        replicas=REPLICAS,
        extra_env={
            "MYNUMBER_PAYOUT_COOLING_OFF_DAYS": repr(COOLING_OFF_SECONDS / 86_400),
            "MYNUMBER_PAYOUT_RELEASE_INTERVAL_SECONDS": "0.25",
            # 13 processes on one server: small pools (PostgreSQL's default is 100 connections).
            "MYNUMBER_DB_POOL_SIZE": "2",
            "MYNUMBER_DB_MAX_OVERFLOW": "3",
        },
    )
    running: ReplicaPlatform | None = None
    try:
        started = time.monotonic()
        platform.start(timeout=600)
        print(f"\n{len(platform.procs)} processes SERVING after {time.monotonic() - started:.1f} s")
        running = ReplicaPlatform(platform, var)
        yield running
    finally:
        if running is not None:
            running.close()
        platform.stop()
        drop_databases(PG_SERVER, prefix)


# ------------------------------------------------------------------------------ the portal


class PortalClient:
    """A resident on the portal's HTTP API; every request goes to the next gateway replica."""

    def __init__(self, rp: ReplicaPlatform, card_file: Path) -> None:
        self.rp = rp
        self.http = httpx.Client(timeout=60)
        origin = f"http://127.0.0.1:{rp.next_port()}"
        self.card = unlock_card(card_file, PIN, PortalPinAuthority(origin))
        challenge = self.call("POST", "/api/login/challenge").json()
        message = login_challenge_message(
            challenge["nonce"], challenge["audience"], int(challenge["issued_at"])
        )
        self.call(
            "POST",
            "/api/login",
            json={
                "challenge_id": challenge["challenge_id"],
                "certificate_pem": self.card.certificate_pem.decode(),
                "signature": _b64(self.card.sign(message)),
            },
        )

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request to the next replica; fails the test on an error status."""
        url = f"http://127.0.0.1:{self.rp.next_port()}{path}"
        response = self.http.request(method, url, **kwargs)
        assert response.status_code < 400, (method, path, response.status_code, response.text)
        return response

    def step_up(self, action: str, fields: dict[str, Any]) -> dict[str, str]:
        """A card-signed step-up proof for ``action`` over ``fields``."""
        step = self.call("POST", "/api/step-up", json={"action": action, "fields": fields}).json()
        signed = action_message(action, step["fields"], step["nonce"])
        return {
            "challenge_id": step["challenge_id"],
            "certificate_pem": self.card.certificate_pem.decode(),
            "signature": _b64(self.card.sign(signed)),
        }

    def close(self) -> None:
        """Drop the HTTP client."""
        self.http.close()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# ------------------------------------------------------------------------------ residents


def _resident(rp: ReplicaPlatform, n: int, cards: Path) -> tuple[Person, PortalClient]:
    """A resident of pension age with ten years of contributions, a refund due for last year,
    a My Number Card and a payout account registered on the portal."""
    c = rp.clients
    address = f"岩手県盛岡市内丸{n + 1}番{n + 10}号"
    facts = synthetic_person(address, age=70)
    register = mpb.RegisterResidentRequest(
        resident=mpb.ResidentFacts(
            name=facts["name"],
            name_kana=facts["name_kana"],
            birth_date=facts["birth_date"],
            sex=mpb.SEX_MALE if facts["sex"] == "male" else mpb.SEX_FEMALE,
            address=address,
            resident_type=mpb.RESIDENT_TYPE_CITIZEN,
        ),
        idempotency_key=key(),
    )
    # Sent to both municipality replicas at once (a retry racing the original).
    answers = _twice(
        *(
            lambda k=k: mpb_grpc.MunicipalityStub(rp.replica("municipality", k)).RegisterResident(
                register
            )
            for k in (0, 1)
        )
    )
    assert _codes(answers) == ["OK", "OK"], [str(a) for a in answers]
    first, second = answers
    assert first == second, "a retried registration answers what the first one did"
    registered: Any = first
    person = Person(
        my_number=registered.my_number,
        name=facts["name"],
        name_kana=facts["name_kana"],
        birth_date=facts["birth_date"],
        sex=facts["sex"],
        address=address,
        address_number=registered.address_number,
        household_id=registered.household_id,
    )
    CREATED.append(person)
    number = (
        c.pension()
        .Enrol(
            ppb.EnrolRequest(
                identity=person.form(ppb),
                category=ppb.INSURED_CATEGORY_1,
                enrolled_on="2010-04-01",
            )
        )
        .basic_pension_number
    )
    person.ids["pension"] = number
    for fy in range(2010, 2020):
        c.pension().RecordContribution(
            ppb.RecordContributionRequest(
                basic_pension_number=number,
                fiscal_year=fy,
                months_paid=12,
                amount_yen=12 * MONTHLY_CONTRIBUTION[fy],
                receipt_id=f"R-{number.replace('-', '')}-{fy}",
            )
        )
    ref = c.register_taxpayer(person)
    c.tax().RecordIncome(
        tpb.RecordIncomeRequest(
            reference_number=ref, year=YEAR, salary_income_yen=4_000_000, withholding_yen=400_000
        )
    )
    c.tax().AssessYear(tpb.AssessYearRequest(reference_number=ref, year=YEAR))
    card = c.issue_card(person, cards, PIN)
    portal = PortalClient(rp, card)
    account = {
        "bank_code": "0005",
        "branch_code": f"{100 + n:03d}",
        "account_type": "ordinary",
        "account_number": f"{3_100_000 + n * 7:07d}",
        "holder_kana": person.name_kana,
    }
    portal.call(
        "PUT",
        "/api/payout-account",
        json={**account, "step_up": portal.step_up("change_payout_account", account)},
    )
    return person, portal


def _twice(first: Callable[[], T], second: Callable[[], T]) -> list[T | grpc.RpcError]:
    """Run two calls at the same moment (a retry racing the original); their outcomes."""
    barrier = threading.Barrier(2)
    results: list[T | grpc.RpcError] = [grpc.RpcError(), grpc.RpcError()]

    def run(i: int, call: Callable[[], T]) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except grpc.RpcError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def _codes(results: list[Any]) -> list[str]:
    return [r.code().name if isinstance(r, grpc.RpcError) else "OK" for r in results]


def _eventually(check: Callable[[], T | None], *, timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.25)


def _scalar(engine: sa.Engine, query: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text(query), params).scalar()


def _rows(engine: sa.Engine, query: str, **params: Any) -> list[sa.Row[Any]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(query), params))


# ------------------------------------------------------------------------------ the test


def test_three_replicas_pay_notify_and_deliver_once(
    replicas: ReplicaPlatform, tmp_path: Path
) -> None:
    rp = replicas
    engines = {s: rp.engine(s) for s in ("registry", "municipality", "pension", "tax", "gateway")}
    outcomes: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    held = collections.Counter[str]()
    lock = threading.Lock()
    try:
        with concurrent.futures.ThreadPoolExecutor(RESIDENTS) as pool:
            people = list(pool.map(lambda n: _resident(rp, n, tmp_path), range(RESIDENTS)))

        def flow(n: int) -> list[str]:
            """Move, then (once tax and pension know of it) a portal claim and a refund; the
            move and the refund each sent twice at once to two replicas (same key)."""
            person, portal = people[n]
            move = mpb.RecordMoveRequest(
                address_number=person.address_number,
                new_address=f"岩手県盛岡市中ノ橋通{n + 1}丁目{n + 2}番{n + 3}号",
                effective_date=today_jst().isoformat(),
                idempotency_key=key(),
            )
            moves = _twice(
                *(
                    lambda k=k: mpb_grpc.MunicipalityStub(rp.replica("municipality", k)).RecordMove(
                        move
                    )
                    for k in (0, 1)
                )
            )
            # The agencies learn of the move from the outbox, through the hub.
            _eventually(
                lambda: (
                    _scalar(
                        engines["tax"],
                        "SELECT address_changed_at FROM taxpayers WHERE reference_number = :r",
                        r=person.ids["tax"],
                    )
                    and _scalar(
                        engines["pension"],
                        "SELECT address_changed_at FROM enrolments WHERE basic_pension_number = :b",
                        b=person.ids["pension"],
                    )
                ),
                timeout=60,
                what="tax and pension to learn of the move",
            )
            portal.call(
                "POST",
                "/api/applications/pension-claim",
                json={"step_up": portal.step_up("pension_claim", {})},
            )
            refund = tpb.IssueRefundRequest(reference_number=person.ids["tax"], year=YEAR)
            refunds = _twice(
                *(
                    lambda k=k: tpb_grpc.TaxStub(rp.replica("tax", k)).IssueRefund(refund)
                    for k in (0, 2)
                )
            )
            with lock:
                outcomes["RecordMove"].update(_codes(moves))
                outcomes["IssueRefund"].update(_codes(refunds))
                held.update(
                    tpb.RefundStatus.Name(r.status)
                    for r in refunds
                    if not isinstance(r, grpc.RpcError) and not r.already_issued
                )
            return [str(r.event_ids[0]) for r in moves if not isinstance(r, grpc.RpcError)]

        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(RESIDENTS) as pool:
            move_events = [set(ids) for ids in pool.map(flow, range(RESIDENTS))]
        print(f"flows: {time.monotonic() - started:.1f} s; answers {dict(outcomes)}")
        # A retry racing the original gets the original's answer: never an error.
        assert dict(outcomes) == {
            "RecordMove": {"OK": 2 * RESIDENTS},
            "IssueRefund": {"OK": 2 * RESIDENTS},
        }
        assert all(len(ids) == 1 for ids in move_events), "a retried move made a second event"
        # The refunds were held (the address had just changed): the release jobs had work.
        assert held["REFUND_STATUS_HELD"] >= RESIDENTS // 2, held

        # Every held payout is released by one of the six jobs once the cooling-off lapses.
        refs = [p.ids["tax"] for p, _ in people]
        numbers = [p.ids["pension"] for p, _ in people]
        _eventually(
            lambda: (
                _scalar(
                    engines["tax"],
                    "SELECT count(*) FROM refunds r JOIN taxpayers t ON t.id = r.taxpayer_id "
                    "WHERE t.reference_number = ANY(:refs) AND r.status = 'released'",
                    refs=refs,
                )
                == RESIDENTS
                and _scalar(
                    engines["pension"],
                    "SELECT count(*) FROM claims c JOIN enrolments e ON e.id = c.enrolment_id "
                    "WHERE e.basic_pension_number = ANY(:n) AND c.payout_status = 'released'",
                    n=numbers,
                )
                == RESIDENTS
            ),
            timeout=90,
            what="every refund and claim payment to be released",
        )
        # ... and every outbox (the agencies', the pension application queue's, the portal's)
        # has delivered everything.
        outboxes = {
            "municipality": ["outbox"],
            "tax": ["outbox_events"],
            "pension": ["outbox_events", "pending_applications"],
            "gateway": ["outbox"],
        }

        def drained() -> bool:
            return all(
                _scalar(engines[s], f"SELECT count(*) FROM {t} WHERE delivered_at IS NULL") == 0
                for s, tables in outboxes.items()
                for t in tables
            )

        _eventually(drained, timeout=60, what="every outbox to drain")
        _check_once(rp, engines, people, set().union(*move_events))
    finally:
        for _, portal in locals().get("people", []):
            portal.close()
        for engine in engines.values():
            engine.dispose()


def _check_once(
    rp: ReplicaPlatform,
    engines: dict[str, sa.Engine],
    people: list[tuple[Person, PortalClient]],
    move_events: set[str],
) -> None:
    """The databases' verdict: everything that happened, happened once."""
    # No payout twice: one refund row per taxpayer and year, one claim per application.
    dup_refunds = _rows(
        engines["tax"],
        "SELECT taxpayer_id, year, count(*) FROM refunds GROUP BY taxpayer_id, year "
        "HAVING count(*) > 1",
    )
    assert dup_refunds == []
    claims = _rows(
        engines["pension"],
        "SELECT e.basic_pension_number, count(*) AS n FROM claims c "
        "JOIN enrolments e ON e.id = c.enrolment_id GROUP BY e.basic_pension_number",
    )
    assert sorted(r.n for r in claims) == [1] * len(people)

    # No inbox document twice (the same letter, decrypted, for the same resident) and, per
    # payout, one "held" and one "paid" letter: a second release would be a second letter.
    cipher = FieldCipher(Keyring.load(keyring_path(rp.var, "gateway")))

    def text(value: str, label: str) -> str:
        return cipher.decrypt(value, f"portal/{label}")

    documents = _rows(
        engines["gateway"],
        "SELECT resident_id, category, reference, body_en FROM inbox_documents",
    )
    letters = collections.Counter(
        (d.resident_id, d.category, d.reference, text(d.body_en, "inbox_documents.body_en"))
        for d in documents
    )
    assert [k[1:3] for k, n in letters.items() if n > 1] == []
    per_payout = collections.Counter(
        (d.category, d.reference)
        for d in documents
        if d.category in ("tax.refund_notice", "pension.claim_decision")
    )
    assert len(per_payout) == 2 * len(people), per_payout
    assert set(per_payout.values()) <= {1, 2}, per_payout  # held (maybe) + paid, never more
    paid = [
        d
        for d in documents
        if d.category in ("tax.refund_notice", "pension.claim_decision")
        and "on hold" not in text(d.body_en, "inbox_documents.body_en")
    ]
    assert len(paid) == 2 * len(people), "each refund and claim is paid (and told) once"
    # Claim payments were held too (decided while the move was fresh): their release raced.
    held_claims = [
        d
        for d in documents
        if d.category == "pension.claim_decision"
        and "on hold" in text(d.body_en, "inbox_documents.body_en")
    ]
    print(f"claim payments held then released: {len(held_claims)} of {len(people)}")
    assert len(held_claims) >= len(people) // 2

    # No notice twice: one address-change notice per resident (one move each).
    notices = _rows(engines["gateway"], "SELECT resident_id, category, body_en FROM notices")
    seen = collections.Counter(
        (n.resident_id, n.category, text(n.body_en, "notices.body_en")) for n in notices
    )
    assert [k[1] for k, n in seen.items() if n > 1] == []
    moved = collections.Counter(n.resident_id for n in notices if n.category == "address_changed")
    assert sorted(moved.values()) == [1] * len(people), moved

    # No event delivered twice: the hub recorded each (publisher, event, receiver) once, and
    # every move's event reached pension, tax and the portal.
    twice = _rows(
        engines["registry"],
        "SELECT requester, request_id, provider, count(*) FROM log_entries "
        "WHERE outcome = 'delivered' GROUP BY requester, request_id, provider "
        "HAVING count(*) > 1",
    )
    assert twice == []
    delivered = _rows(
        engines["registry"],
        "SELECT request_id, provider FROM log_entries WHERE outcome = 'delivered' "
        "AND requester = 'municipality' AND request_id = ANY(:ids)",
        ids=list(move_events),
    )
    receivers = collections.defaultdict(set)
    for row in delivered:
        receivers[row.request_id].add(row.provider)
    assert {e: receivers[e] >= {"pension", "tax", "portal"} for e in move_events} == dict.fromkeys(
        move_events, True
    )
    # The alerts' metrics are on the real processes' /metrics after these exchanges.
    registry = _scrape(rp.platform.procs["registry"].metrics_port)
    assert registry.get("mynumber_log_append_seconds_count", 0) > 0
    assert "mynumber_log_checkpoint_age_seconds" in registry
    for name in ("tax", "tax-2", "tax-3"):
        assert "mynumber_outbox_lag_seconds" in _scrape(rp.platform.procs[name].metrics_port)
    # The calls were spread: every tax, pension and gateway replica served requests.
    for name, proc in rp.platform.procs.items():
        if proc.service in ("tax", "pension", "gateway"):
            assert _served(proc.log_path) > 0, f"{name} served nothing"


def _scrape(port: int) -> dict[str, float]:
    """Sample name → value (summed over labels) from a process's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    values: dict[str, float] = collections.defaultdict(float)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[sample.name] += sample.value
    return values


def _served(log_path: Path) -> int:
    count = 0
    for raw in log_path.read_bytes().splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("event") in ("rpc", "http"):
            count += 1
    return count
