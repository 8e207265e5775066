"""The hub cannot read answers (issue 10, invariant 8), with the real services in-process.

Distinctive values are planted where the hub must not read them — an income figure only the
tax office holds, and a new address that travels in the municipality's published event — and
the flows that carry them run through the hub: the pension exemption (two queries: income and
household), the disaster support list (batches to tax and health), a move (an event sealed to
every agency). Then:

* the requester got the planted values (it opened the answers);
* the registry's keyring holds no domain's HPKE private key;
* the registry's database — the SQLite file with its WAL, or ``pg_dump`` on PostgreSQL — holds
  no plaintext of them, not even in the columns the registry can decrypt with its own keys;
* the registry's log lines hold none either.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mynumber.municipality.v1 import municipality_pb2 as mpb
from mynumber.municipality.v1 import municipality_pb2_grpc as mgrpc
from mynumber.pension.v1 import pension_pb2 as ppb
from mynumber.pension.v1 import pension_pb2_grpc as pgrpc
from mynumber.tax.v1 import tax_pb2 as tpb
from mynumber.tax.v1 import tax_pb2_grpc as tgrpc
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from mynumber_core.calendar import today_jst
from mynumber_core.keyring import Keyring
from mynumber_dev.keys import keyring_path
from services.registry.models import LogEntry, SealedAnswer
from tests.e2e.scan import pg_dumps
from tests.support.stack import DatabaseFactory, Stack

INCOME = 987_654
"""The planted income figure (yen), held only by the tax office."""
AREA = "宮城県石巻市"
NEW_ADDRESS = f"{AREA}蓮見通り七丁目27番地"
"""The planted address of the move, sent to the agencies in sealed event payloads (the
registry keeps the resident's facts only under its own encryption, never in the log)."""
HEAD = dict(name="蓮見 朔也", name_kana="ハスミ サクヤ", birth_date="1986-02-11", sex="male")
PARTNER = dict(name="蓮見 千景", name_kana="ハスミ チカゲ", birth_date="1989-10-30", sex="female")
ADDRESS = f"{AREA}穀町14-1"
SEX = {"male": mpb.SEX_MALE, "female": mpb.SEX_FEMALE}


def _digits(value: int) -> re.Pattern[bytes]:
    """The figure as digits not inside a longer run of hex (pg_dump prints bytea as hex)."""
    return re.compile(rb"(?<![0-9A-Fa-f])" + str(value).encode() + rb"(?![0-9A-Fa-f])")


NEEDLES: dict[str, re.Pattern[bytes]] = {
    "income": _digits(INCOME),
    "income with separators": re.compile(f"{INCOME:,}".encode()),
    "new address": re.compile(re.escape(NEW_ADDRESS.encode())),
    "new address (JSON-escaped)": re.compile(
        re.escape(NEW_ADDRESS.encode("ascii", "backslashreplace"))
    ),
}


def _hits(blobs: dict[str, bytes]) -> list[str]:
    return [
        f"{label} in {where}"
        for where, blob in blobs.items()
        for label, needle in NEEDLES.items()
        if needle.search(blob)
    ]


@pytest.fixture
def stack(tmp_path: Path, backend: DatabaseFactory) -> Iterator[Stack]:
    services = ["registry", "municipality", "pension", "tax", "health"]
    with Stack(tmp_path, services, database=backend) as s:
        yield s


def _municipality(stack: Stack) -> Any:
    return mgrpc.MunicipalityStub(stack.channel("municipality", as_identity="operator"))


def _register(stack: Stack, person: dict[str, str], household: str = "") -> Any:
    return _municipality(stack).RegisterResident(
        mpb.RegisterResidentRequest(
            resident=mpb.ResidentFacts(
                name=person["name"],
                name_kana=person["name_kana"],
                birth_date=person["birth_date"],
                sex=SEX[person["sex"]],
                address=ADDRESS,
                resident_type=mpb.RESIDENT_TYPE_CITIZEN,
            ),
            household_id=household,
            relationship="妻" if household else "",
            idempotency_key=uuid.uuid4().hex,
        )
    )


def _identity(number: str) -> dict[str, str]:
    return dict(
        my_number=number,
        name=HEAD["name"],
        birth_date=HEAD["birth_date"],
        sex=HEAD["sex"],
        address=ADDRESS,
    )


def _run_every_flow(stack: Stack) -> tuple[Any, Any]:
    head = _register(stack, HEAD)
    _register(stack, PARTNER, head.household_id)
    pension = pgrpc.PensionStub(stack.channel("pension", as_identity="operator"))
    tax = tgrpc.TaxStub(stack.channel("tax", as_identity="operator"))
    pension.Enrol(
        ppb.EnrolRequest(
            identity=ppb.FormIdentity(**_identity(head.my_number)),
            category=ppb.INSURED_CATEGORY_1,
            enrolled_on="2024-04-01",
        )
    )
    ref = tax.RegisterTaxpayer(
        tpb.RegisterTaxpayerRequest(identity=tpb.FormIdentity(**_identity(head.my_number)))
    ).reference_number
    year = today_jst().year - 1
    tax.RecordIncome(
        tpb.RecordIncomeRequest(reference_number=ref, year=year, business_income_yen=INCOME)
    )
    # Queries: pension asks tax for the income and the municipality for the household.
    decision = pension.ApplyExemption(
        ppb.ApplyExemptionRequest(
            identity=ppb.FormIdentity(**_identity(head.my_number)),
            fiscal_year=year + 1,
            application_id="BLIND-1",
        )
    )
    # Batches: the disaster support list asks tax and health for every listed resident.
    disaster = _municipality(stack).DeclareDisaster(
        mpb.DeclareDisasterRequest(
            name="令和8年台風第3号",
            area=AREA,
            declared_on=today_jst().isoformat(),
            assumed_damage=mpb.DAMAGE_LEVEL_TOTAL_COLLAPSE,
            idempotency_key=uuid.uuid4().hex,
        )
    )
    support = _municipality(stack).CompileSupportList(
        mpb.CompileSupportListRequest(disaster_id=disaster.disaster_id)
    )
    # Events: the household moves; the address change is published to every agency.
    _municipality(stack).RecordMove(
        mpb.RecordMoveRequest(
            address_number=head.address_number,
            new_address=NEW_ADDRESS,
            effective_date=today_jst().isoformat(),
            with_household=True,
            idempotency_key=uuid.uuid4().hex,
        )
    )
    return decision, support


def _registry_blobs(stack: Stack) -> dict[str, bytes]:
    url = stack.database("registry")
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        files = [p for p in path.parent.glob(path.name + "*") if p.is_file()]
        assert files, "the scan must cover the registry's database file"
        return {str(p): p.read_bytes() for p in files}
    return pg_dumps({"registry": url})


def _leaves(stack: Stack) -> list[dict[str, Any]]:
    engine = create_engine(stack.database("registry"), poolclass=NullPool)
    try:
        with Session(engine) as session:
            return [json.loads(leaf) for leaf in session.scalars(select(LogEntry.leaf))]
    finally:
        engine.dispose()


def _what_the_registry_can_decrypt(stack: Stack) -> dict[str, bytes]:
    """Every exchange-path value as the registry reads it with its own keyring."""
    engine = create_engine(stack.database("registry"), poolclass=NullPool)
    try:
        with Session(engine) as session:
            entries = session.scalars(select(LogEntry)).all()
            answers = session.scalars(select(SealedAnswer)).all()
            text = [f"{e.leaf!r} {e.message} {e.result} {e.answer!r}" for e in entries] + [
                f"{a.members} {a.ciphertext!r}" for a in answers
            ]
    finally:
        engine.dispose()
    assert entries, "the flows must have been recorded"
    return {"registry log_entries and sealed_answers, decrypted": "\n".join(text).encode()}


def test_the_hub_relays_answers_it_cannot_read(
    stack: Stack, capfd: pytest.CaptureFixture[str]
) -> None:
    decision, support = _run_every_flow(stack)

    # The requesters opened what the providers sealed to them.
    assert decision.income_yen == INCOME and decision.dependents == 1
    [household] = support.households
    assert household.household_income_yen == INCOME
    assert len(support.residents) == 2

    # Every flow went through the hub, and each leaf commits to the ciphertext it relayed.
    expected = {
        ("provided", "income"),
        ("provided", "household"),
        ("delivered", "address_changed"),  # published by the municipality's outbox relay
    }
    deadline = time.monotonic() + 15
    while True:
        leaves = _leaves(stack)
        relayed = {(leaf["outcome"], leaf["item"]) for leaf in leaves if "answer_sha256" in leaf}
        if expected <= relayed or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert expected <= relayed
    assert _hits({"a leaf as it would read in the clear": f'"total_income":{INCOME},'.encode()})

    # No domain's private key in the registry's keyring.
    registry_keys = Keyring.load(keyring_path(stack.var, "registry")).names()
    assert "hpke" not in registry_keys
    for service in ("municipality", "pension", "tax", "health"):
        assert "hpke" in Keyring.load(keyring_path(stack.var, service)).names()

    # Nothing of them in the registry's storage, raw or decrypted with its own keys.
    assert _hits(_registry_blobs(stack)) == []
    assert _hits(_what_the_registry_can_decrypt(stack)) == []

    # Nor in the registry's log lines (the other services' lines are theirs).
    out, err = capfd.readouterr()
    registry_lines = [line for line in (out + err).splitlines() if "service=registry" in line]
    assert any("method=Query" in line for line in registry_lines), "logs must be covered"
    assert _hits({"registry log": "\n".join(registry_lines).encode()}) == []
