"""The fault suite's platform: one per backend for the whole module, with load running.

``chaos`` starts the platform (:mod:`tests.chaos.rig`) on SQLite, or on a private PostgreSQL
cluster, registers four residents through the real APIs (enrolled at pension, tax and health,
with last year's income), starts the client load (:mod:`tests.chaos.load`) and yields a
:class:`Chaos`. Each fault test runs its fault under that load, then :meth:`Chaos.settle`
pauses the clients, reads what every service holds and checks the history. The report (errors
by status per fault, recovery times, the history verdict) is printed as it goes and once more,
whole, at the end; it is also written as JSON under the pytest temporary folder.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from mynumber.municipality.v1 import municipality_pb2 as mpb
from sqlalchemy.pool import NullPool

from mynumber_core.calendar import fiscal_year_of, today_jst
from mynumber_core.checkpoint import Checkpoint
from mynumber_core.keyring import FieldCipher, Keyring
from mynumber_core.logverifier import TrustedLog
from mynumber_dev.keys import keyring_path
from tests.chaos.history import (
    EXEMPTION,
    MOVE,
    QUERY,
    Findings,
    History,
    LogRow,
    Observed,
    Op,
    check,
    errors_by_status,
)
from tests.chaos.load import Load, Resident
from tests.chaos.pgcluster import PrivatePostgres
from tests.chaos.rig import SERVICES, ChaosPlatform
from tests.e2e.clients import Clients, PortalSession

TODAY = today_jst()
FISCAL_YEAR = fiscal_year_of(TODAY)
INCOME_YEAR = FISCAL_YEAR - 1
RECEIVERS = frozenset({"pension", "tax", "health", "portal"})
"""Domains a move must reach: the movers are enrolled at each agency and have logged in to
the portal (the gateway's token domain) with their card."""
_ADDRESS_TABLES = {
    "pension": ("enrolments", "enrolments.address"),
    "tax": ("taxpayers", "taxpayers.address"),
    "health": ("insured", "insured.address"),
}
_PROCESSED_TABLES = {  # receiving domain → (its service, its processed-events table)
    "pension": ("pension", "processed_events"),
    "tax": ("tax", "processed_events"),
    "health": ("health", "processed_event"),
    "portal": ("gateway", "processed_events"),
}


@dataclass
class Chaos:
    """The running platform, its clients, the load and the report so far."""

    backend: str
    platform: ChaosPlatform
    clients: Clients
    history: History
    load: Load
    pg: PrivatePostgres | None
    report_path: Path
    report: dict[str, Any] = field(default_factory=dict)
    first_checkpoint: tuple[TrustedLog, Checkpoint] | None = None
    """The log key and the checkpoint taken when the module started."""
    _engines: dict[str, sa.Engine] = field(default_factory=dict)

    def engine(self, service: str) -> sa.Engine:
        """A pool-less engine on the service's own database (read-only use)."""
        if service not in self._engines:
            self._engines[service] = sa.create_engine(
                self.platform.database_url(service), poolclass=NullPool
            )
        return self._engines[service]

    def rows(self, service: str, query: str, **params: Any) -> list[tuple[Any, ...]]:
        """Run a read-only query on a service's database."""
        with self.engine(service).connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(query), params)]

    def observe(self) -> Observed:
        """What the platform holds now."""
        log = [
            LogRow(int(r[0]), r[1], r[2], r[3], r[4])
            for r in self.rows(
                "registry",
                'SELECT "index", requester, provider, request_id, outcome FROM log_entries',
            )
        ]
        exemptions = {
            r[0] for r in self.rows("pension", "SELECT application_id FROM exemption_applications")
        }
        outbox = [
            r[0]
            for r in self.rows(
                "municipality", "SELECT id FROM outbox WHERE event_type = 'address_changed'"
            )
        ]
        processed = {
            agency: [
                r[0]
                for r in self.rows(
                    service,
                    f"SELECT event_id FROM {table} WHERE event_type = 'address_changed'",
                )
            ]
            for agency, (service, table) in _PROCESSED_TABLES.items()
        }
        tokens = [m.person.ids["health"] for m in self.load.movers]
        versions = self._address_versions(tokens)
        return Observed(
            log=log,
            exemptions=exemptions,
            outbox_moves=outbox,
            processed=processed,
            receivers=RECEIVERS,
            address_versions=versions,
        )

    def _address_versions(self, tokens: list[str]) -> int:
        total = 0
        for token in tokens:
            for row in self.rows(
                "health", "SELECT address_version FROM insured WHERE token = :t", t=token
            ):
                total += int(row[0])
        return total

    def addresses_disagree(self) -> list[str]:
        """Movers whose address at an agency is not the municipality's (the one-stop did not
        converge)."""
        wrong = []
        for mover in self.load.movers:
            person = mover.person
            current = (
                self.clients.municipality()
                .GetResident(
                    mpb.GetResidentRequest(address_number=person.address_number), timeout=10
                )
                .facts.address
            )
            for agency, (table, label) in _ADDRESS_TABLES.items():
                cipher = FieldCipher(Keyring.load(keyring_path(self.platform.var, agency)))
                stored = self.rows(
                    agency, f"SELECT address FROM {table} WHERE token = :t", t=mover.tokens[agency]
                )
                address = cipher.decrypt(stored[0][0], f"{agency}/{label}") if stored else None
                if address != current:
                    wrong.append(f"{mover.label} at {agency}")
        return wrong

    def settle(self, phase: str, timeout: float = 150.0) -> Findings:
        """Pause the clients, wait until the moves are delivered, check the history (every
        operation so far) and the one-stop's convergence; resume. Returns the findings.

        The wait is long because the outbox is at-least-once with backoff: an event leased
        by a relay that was killed is due again only when its lease (30 s) runs out, and one
        that failed while the registry was down waits up to a minute for its next attempt."""
        self.load.pause()
        began = time.monotonic()
        try:
            while True:
                ops = self.history.ops()
                findings = check(ops, self.observe())
                if findings.clean:
                    findings.problems.extend(self.addresses_disagree())
                if findings.clean or time.monotonic() - began > timeout:
                    break
                time.sleep(0.5)
        finally:
            self.load.resume()
        waited = round(time.monotonic() - began, 1)
        self.report.setdefault("checks", {})[phase] = (
            f"{findings.summary()} (settled in {waited} s)"
        )
        if not findings.clean:
            pending = self.rows(
                "municipality",
                "SELECT attempts, COUNT(*) FROM outbox"
                " WHERE delivered_at IS NULL GROUP BY attempts",
            )
            self.report.setdefault("undelivered_outbox_by_attempts", {})[phase] = {
                str(r[0]): int(r[1]) for r in pending
            }
        return findings

    def record(self, phase: str, **figures: Any) -> dict[str, Any]:
        """Add a fault's figures (errors by status, recovery) to the report and print it."""
        ops = [op for op in self.history.ops() if op.phase == phase]
        entry = {
            "operations": len(ops),
            "errors_by_status": errors_by_status(ops).get(phase, {}),
            **figures,
        }
        self.report.setdefault("faults", {})[phase] = entry
        print(f"\n[chaos {self.backend}] {phase}: {json.dumps(entry, ensure_ascii=False)}")
        self.report_path.write_text(json.dumps(self.report, indent=2, ensure_ascii=False))
        return entry


def _people(clients: Clients, count: int) -> list[Resident]:
    residents = []
    for i in range(count):
        person = clients.register(f"岩手県盛岡市内丸{i + 1}番1号", age=30 + i)
        clients.enrol_pension(person)
        clients.register_taxpayer(person)
        clients.record_income(person, INCOME_YEAR, business=600_000 + 100_000 * i)
        clients.enrol_health(person)
        tokens = {agency: clients.link(agency, person) for agency in ("pension", "tax")}
        tokens["health"] = person.ids["health"]
        residents.append(Resident(person, tokens["pension"], f"resident-{i}", tokens))
    return residents


def _ops_line(ops: list[Op]) -> str:
    kinds = {k: sum(1 for o in ops if o.kind == k) for k in (QUERY, EXEMPTION, MOVE)}
    return ", ".join(f"{n} {k}" for k, n in kinds.items())


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def chaos(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Chaos]:
    """The platform under load on one backend (see the module docstring)."""
    backend = request.param
    var = tmp_path_factory.mktemp(f"chaos-{backend}")
    pg = PrivatePostgres().create() if backend == "postgres" else None
    platform = ChaosPlatform(
        var=var,
        postgres=pg.url if pg else None,
        services=list(SERVICES),
        fixed_ports=False,
        db_prefix="chaos",
    )
    load: Load | None = None
    chaos: Chaos | None = None
    try:
        platform.start(timeout=240)
        platform.supervise()
        clients = Clients(var, platform.client_endpoints, http_port=platform.http_port)
        residents = _people(clients, 4)
        cards = var / "cards"
        cards.mkdir(exist_ok=True)
        for mover in residents[2:]:  # a card login makes the portal know them: moves reach it
            PortalSession(
                platform.http_port, clients.issue_card(mover.person, cards), "4321"
            ).close()
        history = History()
        load = Load(
            history,
            clients,
            residents=residents[:2],
            movers=residents[2:],
            income_year=INCOME_YEAR,
            fiscal_year=FISCAL_YEAR,
        )
        chaos = Chaos(backend, platform, clients, history, load, pg, var / "chaos-report.json")
        load.start()
        deadline = time.monotonic() + 60
        while sum(1 for op in history.ops() if op.ok) < 20:
            assert time.monotonic() < deadline, f"no load got through: {history.ops()[-5:]}"
            assert not load.crashes, load.crashes
            time.sleep(0.1)
        yield chaos
    finally:
        if load is not None:
            load.stop()
        if chaos is not None:
            ops = chaos.history.ops()
            chaos.report["operations"] = f"{len(ops)} ({_ops_line(ops)})"
            chaos.report["supervisor_restarts"] = platform.restarts
            chaos.report_path.write_text(json.dumps(chaos.report, indent=2, ensure_ascii=False))
            print(f"\n[chaos {backend}] report ({chaos.report_path}):")
            print(json.dumps(chaos.report, indent=2, ensure_ascii=False))
            for engine in chaos._engines.values():
                engine.dispose()
            chaos.clients.close()
        platform.shutdown()
        if pg is not None:
            pg.destroy(keep_log=var / "log" / "postgres.log")
