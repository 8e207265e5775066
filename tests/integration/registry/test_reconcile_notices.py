"""``Reconciliation.DeliverCandidateNotice`` through a real registry and portal (SQLite and
PostgreSQL): pension seals its notice to the portal's key and names only the "notify the
resident" reference Reconcile gave it; the registry delivers it to that resident's portal,
records the exchange, and answers pension's own token for them (the one pension gets when the
resident enrols). A retry delivers once; bad requests are refused with the right status, name
what is wrong and deliver nothing."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from mynumber.exchange.v1 import exchange_pb2
from mynumber.registry.v1 import reconcile_pb2 as rpb
from mynumber.registry.v1 import reconcile_pb2_grpc as rgrpc
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from sqlalchemy import text

from mynumber_core import errors
from mynumber_core.db import Database
from mynumber_core.inbox import inbox_document
from mynumber_core.japanese import format_era, prefecture_of
from mynumber_core.registry_client import RegistryClient
from tests.integration.gateway.portal_env import PortalEnv
from tests.support.databases import database_factory, postgres_available
from tests.support.sealing import domain_keys

PROCEDURE = "pension.record_reconciliation"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PortalEnv]:
    if request.param == "postgres" and not postgres_available():
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is not reachable; .ci/run starts it")
    var = tmp_path_factory.mktemp(f"notices-{request.param}")
    with (
        database_factory(request.param, var) as databases,
        PortalEnv(var, databases, ("municipality",)).running() as running,
    ):
        yield running


def _error(call: Callable[[], Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def test_the_registry_delivers_to_a_notify_reference(env: PortalEnv) -> None:
    resident = env.make_resident()
    demo = resident.demo
    stub = rgrpc.ReconciliationStub(env.stack.channel("registry", as_identity="pension"))
    found = stub.Reconcile(
        rpb.ReconcileRequest(
            request_id=uuid.uuid4().hex,
            records=[
                rpb.OrphanRecordFacts(
                    record_id="N1",
                    name_kana="ヤマダ タロウ",
                    name_kanji=demo.name,
                    birth_date_written=format_era(dt.date.fromisoformat(demo.birth_date)),
                    sex=demo.sex,
                    prefecture=prefecture_of(demo.address),
                )
            ],
        )
    )
    (candidate,) = found.results[0].candidates
    assert candidate.WhichOneof("ref") == "notify_reference"
    reference = candidate.notify_reference

    pension = RegistryClient(env.stack.channels("pension"), domain_keys(env.var, "pension"))
    notice = inbox_document(
        "日本年金機構 (Japan Pension Service)",
        "pension.record_match",
        ("あなたのものかもしれない年金記録があります", "A pension record that may be yours"),
        ("記録番号 N1：1985-04〜1987-03、株式会社テスト、納付 24か月", "record N1"),
        "N1",
    )
    event_id = uuid.uuid4().hex
    token = pension.deliver_candidate_notice(
        reference, "notice", event_id, notice, procedure=PROCEDURE
    )
    # The token is pension's own: the one pension gets when the resident enrols (links).
    linked = pb_grpc.RegistryStub(env.stack.channel("registry", as_identity="pension")).Link(
        pb.LinkRequest(
            my_number=demo.my_number,
            facts=pb.BasicFacts(
                name=demo.name,
                birth_date=demo.birth_date,
                sex=pb.SEX_MALE if demo.sex == "male" else pb.SEX_FEMALE,
                address=demo.address,
            ),
        )
    )
    assert token == linked.token and not token.startswith("notify:")
    # A retry delivers once and answers the same token.
    again = pension.deliver_candidate_notice(
        reference, "notice", event_id, notice, procedure=PROCEDURE
    )
    assert again == token

    client = env.login(resident)
    notices = [
        n
        for n in client.get("/api/notices").json()["documents"]
        if n["category"] == "pension.record_match"
    ]
    assert len(notices) == 1 and "N1" in notices[0]["body"]
    assert notices[0]["sender"] == "日本年金機構 (Japan Pension Service)"
    deadline = time.monotonic() + 30
    while True:
        entries = client.get("/api/log", params={"include_pending": "true"}).json()["entries"]
        delivered = [
            e
            for e in entries
            if (e["requester"], e["provider"], e["item"], e["procedure"])
            == ("pension", "portal", "notice", PROCEDURE)
        ]
        if delivered or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert len(delivered) == 1 and delivered[0]["outcome"] == "delivered"

    # Refusals: each names what is wrong and delivers nothing.
    size = _log_size(env)
    box = exchange_pb2.Sealed(key_id="k", suite="s", ciphertext=b"x" * 32)

    def raw(**changes: Any) -> rpb.CandidateNoticeRequest:
        fields: dict[str, Any] = {
            "notify_reference": reference,
            "event_type": "notice",
            "event_id": uuid.uuid4().hex,
            "procedure": PROCEDURE,
            "sealed_payload": box,
        }
        fields.update(changes)
        return rpb.CandidateNoticeRequest(**{k: v for k, v in fields.items() if v is not None})

    for request, code, words in (
        (raw(notify_reference="nobody-at-all"), grpc.StatusCode.NOT_FOUND, "names nobody"),
        (raw(sealed_payload=None), grpc.StatusCode.INVALID_ARGUMENT, "sealed_payload"),
        (raw(event_id=""), grpc.StatusCode.INVALID_ARGUMENT, "event_id"),
        (raw(procedure="pension.claim"), grpc.StatusCode.PERMISSION_DENIED, "access-rights"),
        (raw(event_type="payment"), grpc.StatusCode.PERMISSION_DENIED, "access-rights"),
        (
            raw(event_id=event_id, event_type="inbox.document"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "already used",
        ),
    ):
        err = _error(lambda r=request: stub.DeliverCandidateNotice(r))  # type: ignore[misc]
        assert err.code() == code, (request, err.details())
        assert words in (err.details() or ""), err.details()
        assert demo.name not in (err.details() or "")
    for identity in ("municipality", "tax", "gateway"):
        other = rgrpc.ReconciliationStub(env.stack.channel("registry", as_identity=identity))
        err = _error(lambda o=other: o.DeliverCandidateNotice(raw()))  # type: ignore[misc]
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(errors.NotFound):
        pension.deliver_candidate_notice(
            "nobody-at-all", "notice", uuid.uuid4().hex, notice, procedure=PROCEDURE
        )
    # Only the two refusals the access-rights table decided are recorded (as denied).
    assert _log_size(env) - size == 2
    notices = [
        n
        for n in client.get("/api/notices").json()["documents"]
        if n["category"] == "pension.record_match"
    ]
    assert len(notices) == 1


def _log_size(env: PortalEnv) -> int:
    """Entries in the registry's exchange log (its own database)."""
    db = Database.from_url(env.stack.settings_for("registry").effective_database_url())
    try:
        with db.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM log_entries")).scalar_one())
    finally:
        db.dispose()
