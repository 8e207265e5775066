"""Tax flows with the registry, municipality and health in-process (SQLite and PostgreSQL).

The medical-expense deduction uses the expenses the insurer recorded, fetched through the
registry; the ``income`` item reaches the agencies the access-rights table allows, and a
payment published by the portal is recorded once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from mynumber.healthinsurance.v1 import health_insurance_pb2 as hpb
from mynumber.healthinsurance.v1 import health_insurance_pb2_grpc as hgrpc
from mynumber.municipality.v1 import municipality_pb2 as mpb
from mynumber.municipality.v1 import municipality_pb2_grpc as mgrpc
from mynumber.registry.v1 import registry_pb2 as rpb
from mynumber.registry.v1 import registry_pb2_grpc as rgrpc
from mynumber.registry.v1 import resident_pb2
from mynumber.registry.v1 import resident_pb2_grpc as resident_grpc
from mynumber.tax.v1 import tax_pb2 as tpb
from mynumber.tax.v1 import tax_pb2_grpc as tgrpc

from mynumber_core.structs import to_struct
from tests.support.resident_device import portal_login_for
from tests.support.sealing import open_query, recipient, sealed_payloads
from tests.support.stack import DatabaseFactory, Stack

PERSON = dict(
    name="高橋 美咲", birth_date="1979-03-08", sex="female", address="大阪府大阪市北区梅田1-1-1"
)
FACTS = rpb.BasicFacts(
    name=PERSON["name"],
    birth_date=PERSON["birth_date"],
    sex=rpb.SEX_FEMALE,
    address=PERSON["address"],
)


@pytest.fixture
def stack(tmp_path: Path, backend: DatabaseFactory) -> Iterator[Stack]:
    services = ["registry", "municipality", "tax", "health"]
    with Stack(tmp_path, services, database=backend) as s:
        yield s


def _register(stack: Stack) -> str:
    stub = mgrpc.MunicipalityStub(stack.channel("municipality", as_identity="operator"))
    return str(
        stub.RegisterResident(
            mpb.RegisterResidentRequest(
                resident=mpb.ResidentFacts(
                    name=PERSON["name"],
                    name_kana="タカハシ ミサキ",
                    birth_date=PERSON["birth_date"],
                    sex=mpb.SEX_FEMALE,
                    address=PERSON["address"],
                    resident_type=mpb.RESIDENT_TYPE_CITIZEN,
                ),
                idempotency_key=uuid.uuid4().hex,
            )
        ).my_number
    )


def _tax(stack: Stack) -> Any:
    return tgrpc.TaxStub(stack.channel("tax", as_identity="operator"))


def _taxpayer(stack: Stack, number: str) -> str:
    response = _tax(stack).RegisterTaxpayer(
        tpb.RegisterTaxpayerRequest(identity=tpb.FormIdentity(my_number=number, **PERSON))
    )
    return str(response.reference_number)


def _insure_with_expenses(stack: Stack, number: str, amounts: list[int]) -> None:
    from services.health.domain import make_insurer_number

    stub = hgrpc.HealthInsuranceStub(stack.channel("health", as_identity="operator"))
    enrolled = stub.Enrol(
        hpb.EnrolRequest(
            my_number=number,
            facts=FACTS,
            insurer_number=make_insurer_number("27100"),
            plan=hpb.PLAN_TYPE_NATIONAL_HEALTH_INSURANCE,
            insured=hpb.InsuredNumber(symbol="12", number="3456", branch="00"),
            valid_from="2020-04-01",
            idempotency_key=uuid.uuid4().hex,
        )
    )
    for i, amount in enumerate(amounts):
        stub.RecordMedicalExpense(
            hpb.RecordMedicalExpenseRequest(
                token=enrolled.token,
                date=f"2025-0{i + 1}-10",
                provider="梅田クリニック",
                amount_yen=amount,
                category=hpb.EXPENSE_CATEGORY_OUTPATIENT,
                idempotency_key=uuid.uuid4().hex,
            )
        )


def _assess(stack: Stack, ref: str) -> Any:
    return _tax(stack).AssessYear(tpb.AssessYearRequest(reference_number=ref, year=2025))


def test_medical_deduction_comes_from_the_insurer(stack: Stack) -> None:
    number = _register(stack)
    ref = _taxpayer(stack, number)
    _tax(stack).RecordIncome(
        tpb.RecordIncomeRequest(
            reference_number=ref,
            year=2025,
            salary_income_yen=6_000_000,
            withholding_yen=250_000,
            social_insurance_yen=850_000,
        )
    )
    uninsured = _assess(stack, ref)
    assert not uninsured.medical_data_found and uninsured.medical_deduction_yen == 0

    _insure_with_expenses(stack, number, [120_000, 180_000, 60_000])
    insured = _assess(stack, ref)
    assert insured.medical_data_found
    assert insured.medical_expenses_yen == 360_000
    assert insured.medical_deduction_yen == 260_000
    assert insured.taxable_income_yen == uninsured.taxable_income_yen - 260_000
    assert insured.refund_yen > uninsured.refund_yen

    slip = _tax(stack).IssueWithholdingSlip(
        tpb.IssueWithholdingSlipRequest(reference_number=ref, year=2025)
    )
    assert slip.employment_income_yen == 6_000_000 - 1_640_000 and slip.document_id


def test_income_item_through_the_hub(stack: Stack) -> None:
    number = _register(stack)
    ref = _taxpayer(stack, number)
    _tax(stack).RecordIncome(
        tpb.RecordIncomeRequest(reference_number=ref, year=2025, business_income_yen=2_400_000)
    )
    as_health = stack.channel("registry", as_identity="health")
    token = rgrpc.RegistryStub(as_health).Link(rpb.LinkRequest(my_number=number, facts=FACTS)).token
    hub = rgrpc.HubStub(as_health)

    def ask(year: int) -> dict[str, Any]:
        request = rpb.QueryRequest(
            token=token,
            provider="tax",
            item="income",
            procedure="health.premium",
            request_id=uuid.uuid4().hex,
            params=to_struct({"year": year}),
        )
        return open_query(stack.var, "health", request, hub.Query(request))

    assert ask(2025)["total_income"] == 2_400_000
    with pytest.raises(grpc.RpcError) as info:
        ask(2023)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no income on record for 2023" in info.value.details()
    with pytest.raises(grpc.RpcError) as info:  # not in the access-rights table
        hub.Query(
            rpb.QueryRequest(
                token=token,
                provider="tax",
                item="tax_summary",
                procedure="health.premium",
                request_id=uuid.uuid4().hex,
            )
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_portal_sees_amounts_due_and_pays_once(stack: Stack) -> None:
    number = _register(stack)
    ref = _taxpayer(stack, number)
    _tax(stack).RecordIncome(
        tpb.RecordIncomeRequest(reference_number=ref, year=2025, business_income_yen=5_000_000)
    )
    due = _assess(stack, ref).due_yen
    assert due > 0
    as_portal = stack.channel("registry", as_identity="gateway")
    login = portal_login_for(
        stack.channel("registry", as_identity="municipality"), as_portal, number, FACTS
    )
    token = login.token
    hub = rgrpc.HubStub(as_portal)

    def portal_query(item: str, procedure: str) -> dict[str, Any]:
        # The gateway does not run here: the portal names its own key (reply_to).
        request = rpb.QueryRequest(
            token=token,
            provider="tax",
            item=item,
            procedure=procedure,
            request_id=uuid.uuid4().hex,
            reply_to=recipient(stack.var, "portal"),
        )
        return open_query(
            stack.var, "portal", request, hub.Query(request, metadata=login.metadata())
        )

    def amounts() -> dict[str, Any]:
        return portal_query("amounts_due", "portal.payments")

    items = amounts()["items"]
    assert [(i["item_id"], i["amount"]) for i in items] == [("IT-2025", due)]
    # The registry delivers a payment in the resident's name only under an event id it
    # authorised for the resident's grant and card step-up (make_payment).
    event_id = (
        resident_grpc.ResidentAuthorityStub(as_portal)
        .AuthoriseEvent(
            resident_pb2.AuthoriseEventRequest(
                token=token, event_type="payment", procedure="portal.payments"
            ),
            metadata=login.metadata(
                "make_payment", {"agency": "tax", "item_id": "IT-2025", "amount": str(due)}
            ),
        )
        .event_id
    )
    for _ in range(2):  # a redelivered payment is applied once
        hub.Publish(
            rpb.PublishRequest(
                token=token,
                event_type="payment",
                event_id=event_id,
                sealed_payloads=sealed_payloads(
                    stack.var,
                    ["tax"],
                    publisher="portal",
                    event_type="payment",
                    event_id=event_id,
                    procedure="portal.payments",
                    payload={"item_id": "IT-2025", "amount": due},
                ),
                audience=["tax"],
                procedure="portal.payments",
            )
        )
    assert amounts()["items"] == []
    summary = portal_query("tax_summary", "portal.my_information")
    assert summary["years"][0]["paid"] == due


# Refunds (payout account from the portal, holds, notices) are proven end to end with the
# real portal in tests/integration/fraud/test_ssn_attacks.py.
