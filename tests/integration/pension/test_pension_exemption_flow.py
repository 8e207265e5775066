"""The pension exemption flow end to end: registry, municipality, pension and tax, in-process.

A resident registered by the municipality (with a spouse in the household) enrols at pension
and at the tax office; the exemption is decided from the income tax holds and the household
the municipality holds, fetched through the registry and recorded in its exchange log.
Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from mynumber.exchange.v1 import exchange_pb2, exchange_pb2_grpc
from mynumber.municipality.v1 import municipality_pb2 as mpb
from mynumber.municipality.v1 import municipality_pb2_grpc as mgrpc
from mynumber.pension.v1 import pension_pb2 as ppb
from mynumber.pension.v1 import pension_pb2_grpc as pgrpc
from mynumber.registry.v1 import registry_pb2 as rpb
from mynumber.registry.v1 import registry_pb2_grpc as rgrpc
from mynumber.registry.v1 import resident_pb2
from mynumber.registry.v1 import resident_pb2_grpc as resident_grpc
from mynumber.tax.v1 import tax_pb2 as tpb
from mynumber.tax.v1 import tax_pb2_grpc as tgrpc

from tests.support.resident_device import portal_login_for
from tests.support.sealing import sealed_payloads
from tests.support.stack import DatabaseFactory, Stack

HEAD = dict(name="鈴木 一郎", name_kana="スズキ イチロウ", birth_date="1988-06-15", sex="male")
SPOUSE = dict(name="鈴木 花子", name_kana="スズキ ハナコ", birth_date="1990-09-01", sex="female")
ADDRESS = "東京都世田谷区北沢2-1-1"
SEX = {"male": mpb.SEX_MALE, "female": mpb.SEX_FEMALE}


@pytest.fixture
def stack(tmp_path: Path, backend: DatabaseFactory) -> Iterator[Stack]:
    with Stack(tmp_path, ["registry", "municipality", "pension", "tax"], database=backend) as s:
        yield s


def _register(stack: Stack, person: dict[str, str], household: str = "") -> tuple[str, str]:
    """Register a resident at the municipality; returns (my_number, household_id)."""
    stub = mgrpc.MunicipalityStub(stack.channel("municipality", as_identity="operator"))
    response = stub.RegisterResident(
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
    return response.my_number, response.household_id


def _form(number: str, person: dict[str, str]) -> dict[str, Any]:
    return dict(
        my_number=number,
        name=person["name"],
        birth_date=person["birth_date"],
        sex=person["sex"],
        address=ADDRESS,
    )


def _pension(stack: Stack) -> Any:
    return pgrpc.PensionStub(stack.channel("pension", as_identity="operator"))


def _tax(stack: Stack) -> Any:
    return tgrpc.TaxStub(stack.channel("tax", as_identity="operator"))


def _enrol_everywhere(stack: Stack) -> tuple[str, str, str]:
    """Head of a two-person household; returns (my_number, basic pension no., tax ref)."""
    number, household = _register(stack, HEAD)
    _register(stack, SPOUSE, household)
    enrolled = _pension(stack).Enrol(
        ppb.EnrolRequest(
            identity=ppb.FormIdentity(**_form(number, HEAD)),
            category=ppb.INSURED_CATEGORY_1,
            enrolled_on="2024-04-01",
        )
    )
    registered = _tax(stack).RegisterTaxpayer(
        tpb.RegisterTaxpayerRequest(identity=tpb.FormIdentity(**_form(number, HEAD)))
    )
    return number, enrolled.basic_pension_number, registered.reference_number


def _income(stack: Stack, ref: str, business: int) -> None:
    _tax(stack).RecordIncome(
        tpb.RecordIncomeRequest(reference_number=ref, year=2025, business_income_yen=business)
    )


def _apply(stack: Stack, number: str, app_id: str) -> Any:
    return _pension(stack).ApplyExemption(
        ppb.ApplyExemptionRequest(
            identity=ppb.FormIdentity(**_form(number, HEAD)),
            fiscal_year=2026,
            application_id=app_id,
        )
    )


def _log_entries(stack: Stack, number: str) -> list[Any]:
    """The resident's exchange log, as the portal sees it (gateway identity, portal token)."""
    facts = rpb.BasicFacts(
        name=HEAD["name"], birth_date=HEAD["birth_date"], sex=rpb.SEX_MALE, address=ADDRESS
    )
    as_portal = stack.channel("registry", as_identity="gateway")
    login = portal_login_for(
        stack.channel("registry", as_identity="municipality"), as_portal, number, facts
    )
    listing = rgrpc.ExchangeLogStub(as_portal).ListEntries(
        rpb.ListEntriesRequest(token=login.token), metadata=login.metadata()
    )
    return list(listing.entries)


def test_exemption_is_decided_from_tax_income_and_logged(stack: Stack) -> None:
    number, bpn, ref = _enrol_everywhere(stack)

    _income(stack, ref, 900_000)  # 2 persons: full limit 2 × 350,000 + 320,000 = 1,020,000
    low = _apply(stack, number, "APP-LOW")
    assert low.level == ppb.EXEMPTION_LEVEL_FULL
    assert (low.income_yen, low.dependents, low.income_year) == (900_000, 1, 2025)
    assert low.basic_pension_number == bpn

    _income(stack, ref, 1_500_000)  # half limit 1,280,000 + 380,000 = 1,660,000
    high = _apply(stack, number, "APP-HIGH")
    assert high.level == ppb.EXEMPTION_LEVEL_HALF and high.income_yen == 1_500_000

    _income(stack, ref, 4_000_000)
    assert _apply(stack, number, "APP-NONE").level == ppb.EXEMPTION_LEVEL_NONE

    # A retried application gets the recorded decision, not a new one.
    assert _apply(stack, number, "APP-LOW").level == ppb.EXEMPTION_LEVEL_FULL

    entries = _log_entries(stack, number)
    queries = {
        (e.requester, e.provider, e.item, e.procedure, e.request_id)
        for e in entries
        if e.outcome == rpb.OUTCOME_PROVIDED
    }
    assert ("pension", "tax", "income", "pension.exemption", "APP-LOW:income") in queries
    assert (
        "pension",
        "municipality",
        "household",
        "pension.exemption",
        "APP-LOW:household",
    ) in queries
    assert sum(1 for q in queries if q[4].startswith("APP-LOW:")) == 2  # the retry asked nothing

    record = _pension(stack).GetRecord(ppb.GetRecordRequest(basic_pension_number=bpn))
    assert [e.application_id for e in record.exemptions] == ["APP-LOW", "APP-HIGH", "APP-NONE"]


def test_counter_errors_are_clear_and_change_nothing(stack: Stack) -> None:
    number, bpn, _ = _enrol_everywhere(stack)
    with pytest.raises(grpc.RpcError) as info:
        _apply(stack, number, "APP-1")  # no 2025 income at the tax office
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no income on record for 2025" in info.value.details()
    assert number not in info.value.details()
    with pytest.raises(grpc.RpcError) as info:
        _apply(stack, number, "not valid!")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    record = _pension(stack).GetRecord(ppb.GetRecordRequest(basic_pension_number=bpn))
    assert list(record.exemptions) == []
    wrong = dict(_form(number, HEAD), name="鈴木 次郎")
    with pytest.raises(grpc.RpcError) as info:
        _pension(stack).Enrol(
            ppb.EnrolRequest(identity=ppb.FormIdentity(**wrong), category=ppb.INSURED_CATEGORY_1)
        )
    assert info.value.code() != grpc.StatusCode.OK


def test_portal_application_through_the_registry(stack: Stack) -> None:
    number, bpn, ref = _enrol_everywhere(stack)
    _income(stack, ref, 1_000_000)
    facts = rpb.BasicFacts(
        name=HEAD["name"], birth_date=HEAD["birth_date"], sex=rpb.SEX_MALE, address=ADDRESS
    )
    as_portal = stack.channel("registry", as_identity="gateway")
    login = portal_login_for(
        stack.channel("registry", as_identity="municipality"), as_portal, number, facts
    )
    token = login.token
    # Delivered only under an event id the registry authorised for the resident's grant and
    # card step-up (apply_pension_exemption).
    event_id = (
        resident_grpc.ResidentAuthorityStub(as_portal)
        .AuthoriseEvent(
            resident_pb2.AuthoriseEventRequest(
                token=token,
                event_type="application.pension_exemption",
                procedure="pension.exemption",
            ),
            metadata=login.metadata("apply_pension_exemption", {"fiscal_year": "2026"}),
        )
        .event_id
    )
    delivered = rgrpc.HubStub(as_portal).Publish(
        rpb.PublishRequest(
            token=token,
            event_type="application.pension_exemption",
            event_id=event_id,
            sealed_payloads=sealed_payloads(
                stack.var,
                ["pension"],
                publisher="portal",
                event_type="application.pension_exemption",
                event_id=event_id,
                procedure="pension.exemption",
                payload={"fiscal_year": 2026, "application_id": "WEB-1"},
            ),
            audience=["pension"],
            procedure="pension.exemption",
        )
    )
    assert list(delivered.delivered_to) == ["pension"]
    deadline = time.monotonic() + 15
    record = None
    while time.monotonic() < deadline:
        record = _pension(stack).GetRecord(ppb.GetRecordRequest(basic_pension_number=bpn))
        if record.exemptions:
            break
        time.sleep(0.2)
    assert record is not None and len(record.exemptions) == 1
    decision = record.exemptions[0]
    assert (decision.application_id, decision.channel) == ("WEB-1", "portal")
    assert decision.level == ppb.EXEMPTION_LEVEL_FULL and decision.income_yen == 1_000_000


def test_only_the_registry_may_call_the_provider(stack: Stack) -> None:
    stub = exchange_pb2_grpc.ProviderStub(stack.channel("pension", as_identity="tax"))
    with pytest.raises(grpc.RpcError) as info:
        stub.Provide(exchange_pb2.ProvideRequest(token="t", item="pension_record"))
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as info:
        pgrpc.PensionStub(stack.channel("pension", as_identity="tax")).GetRecord(
            ppb.GetRecordRequest(basic_pension_number="1234-567890")
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
