"""Provider.ProvideBatch at the tax office: a whole batch of ``income`` items is answered with
one SELECT on the tax database, sealed once to the requester, with each item's own status.
Runs on SQLite and PostgreSQL against the real tax service.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mynumber.exchange.v1 import exchange_pb2, exchange_pb2_grpc
from mynumber.registry.v1 import registry_pb2 as rpb
from mynumber.registry.v1 import registry_pb2_grpc as rgrpc
from mynumber.tax.v1 import tax_pb2 as tpb
from mynumber.tax.v1 import tax_pb2_grpc as tgrpc
from sqlalchemy import event
from sqlalchemy.engine import Engine

from mynumber_core.errors import NotFound
from mynumber_core.interceptors import status_code
from mynumber_core.provider import box_from_proto
from mynumber_core.sealing import batch_context, params_digest
from mynumber_core.structs import to_struct
from tests.support.sealing import domain_keys, recipient
from tests.support.stack import DatabaseFactory, Stack

PEOPLE = [
    ("高木 聡", "1975-01-20", rpb.SEX_MALE, "male", 3_100_000),
    ("森本 薫", "1982-07-07", rpb.SEX_FEMALE, "female", 4_250_000),
    ("三浦 健", "1969-12-01", rpb.SEX_MALE, "male", 1_980_000),
]
ADDRESS = "宮城県仙台市青葉区本町3-8-1"


@pytest.fixture
def stack(tmp_path: Path, backend: DatabaseFactory) -> Iterator[Stack]:
    with Stack(tmp_path, ["registry", "tax"], database=backend) as s:
        yield s


def _taxpayer(stack: Stack, name: str, born: str, sex: Any, sex_name: str, income: int) -> str:
    """A registered resident with a tax record and that year's income; tax's token."""
    facts = rpb.BasicFacts(name=name, birth_date=born, sex=sex, address=ADDRESS)
    registry = rgrpc.RegistryStub(stack.channel("registry", as_identity="municipality"))
    number = registry.RegisterResident(
        rpb.RegisterResidentRequest(facts=facts, idempotency_key=uuid.uuid4().hex)
    ).my_number
    tax = tgrpc.TaxStub(stack.channel("tax", as_identity="operator"))
    identity = tpb.FormIdentity(
        my_number=number, name=name, birth_date=born, sex=sex_name, address=ADDRESS
    )
    ref = tax.RegisterTaxpayer(tpb.RegisterTaxpayerRequest(identity=identity)).reference_number
    tax.RecordIncome(
        tpb.RecordIncomeRequest(reference_number=ref, year=2025, business_income_yen=income)
    )
    as_tax = rgrpc.RegistryStub(stack.channel("registry", as_identity="tax"))
    return str(as_tax.Link(rpb.LinkRequest(my_number=number, facts=facts)).token)


def test_a_batch_of_income_items_is_one_select(stack: Stack) -> None:
    tokens = [_taxpayer(stack, *person) for person in PEOPLE]
    unknown = [f"unknown-{n}" for n in range(40)]
    items = [
        exchange_pb2.BatchItem(
            token=token,
            item="income",
            procedure="disaster.victim_support",
            request_id=f"r{n}",
            params=to_struct({"year": 2025 if n != 2 else 2019}),
        )
        for n, token in enumerate([*tokens, *unknown])
    ]
    request = exchange_pb2.ProvideBatchRequest(
        requester="municipality", recipient=recipient(stack.var, "municipality"), items=items
    )
    statements: list[str] = []

    def count(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        # The tax service's own reads of its records (its outbox relay polls on its own).
        if "tax" in str(conn.engine.url) and "taxpayers" in sql:
            statements.append(sql)

    provider = exchange_pb2_grpc.ProviderStub(stack.channel("tax", as_identity="registry"))
    event.listen(Engine, "before_cursor_execute", count)
    try:
        response = provider.ProvideBatch(request)
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements

    codes = [a.code for a in response.answers]
    not_found = status_code(NotFound("x"))
    assert codes[:2] == [0, 0] and codes[2] == not_found  # no 2019 income on record
    assert codes[3:] == [not_found] * len(unknown)
    assert "no income on record for 2019" in response.answers[2].message
    assert not response.answers[0].message

    members = [
        (i.request_id, i.item, i.procedure, params_digest({"year": 2025 if n != 2 else 2019}))
        for n, i in enumerate(items)
    ]
    context = batch_context(requester="municipality", provider="tax", members=members)
    opened = domain_keys(stack.var, "municipality").open_json(
        box_from_proto(response.sealed), context
    )
    answers = opened["answers"]
    assert [a["total_income"] for a in answers[:2]] == [PEOPLE[0][4], PEOPLE[1][4]]
    assert answers[2:] == [None] * (1 + len(unknown))
