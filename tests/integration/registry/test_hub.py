"""The exchange hub against real test Provider servers over mTLS, on SQLite and PostgreSQL.

Invariant 3: every exchange is authorised (access-rights table, locks) and recorded, and the
record is durable before any data goes back (fail closed). Retries are idempotent by
request_id; bad requests get a clear error and reach no provider.

What gets recorded (decided here, asserted below):

* malformed requests (unknown provider, bad item/procedure/request_id, oversized params),
  unknown tokens and already-expired deadlines are refused *before* anything else: no entry;
* a request the access-rights table or a lock refuses: a DENIED entry;
* a request for a person the provider domain never linked, or one the provider answers with
  an error (e.g. NOT_FOUND for an item it does not serve, a timeout): a FAILED entry; such a
  request_id may be retried and is then answered and recorded as PROVIDED.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from mynumber.exchange.v1 import exchange_pb2, exchange_pb2_grpc
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from sqlalchemy import text

from mynumber_core import errors
from mynumber_core.channels import RETRY_POLICY
from mynumber_core.provider import box_from_proto, sealing_key_to_proto
from mynumber_core.sealing import answer_context
from mynumber_core.structs import to_struct
from mynumber_core.tls import TlsMaterial
from mynumber_dev.keys import tls_dir
from services.registry.domain import AccessRights
from services.registry.wiring import DEFAULT_ACCESS_RIGHTS, build_registry
from tests.integration.registry.conftest import RegistryEnv, Resident, identity
from tests.integration.registry.providers import income_for

ALL = ("pension", "tax", "health", "portal")


def rid(prefix: str = "q") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class Answered:
    """A Query's answer as the requester sees it: opened with its own key."""

    data: dict[str, Any]
    log_index: int
    response: Any


def query(
    env: RegistryEnv,
    resident: Resident,
    requester: str,
    provider: str,
    item: str,
    procedure: str,
    request_id: str | None = None,
    params: dict[str, Any] | None = None,
    token: str | None = None,
    **kwargs: Any,
) -> Answered:
    request_id = rid() if request_id is None else request_id
    response = env.hub(identity(requester)).Query(
        pb.QueryRequest(
            token=resident.tokens[requester] if token is None else token,
            provider=provider,
            item=item,
            procedure=procedure,
            request_id=request_id,
            params=to_struct(params or {}),
        ),
        **kwargs,
    )
    assert not response.data.fields, "the hub relays answers sealed, never in the clear"
    sealed = env.sealed(requester)
    asked = sealed.asked(provider, item, procedure, request_id, params)
    return Answered(sealed.open_answer(asked, response), response.log_index, response)


def publish_request(
    env: RegistryEnv,
    publisher: str,
    token: str,
    event_type: str,
    event_id: str,
    procedure: str,
    payload: dict[str, Any] | None = None,
    audience: tuple[str, ...] = (),
) -> pb.PublishRequest:
    """A Publish with the payload sealed to every receiving domain, as the client sends it."""
    boxes = env.sealed(publisher).seal_event(
        payload or {},
        event_type=event_type,
        event_id=event_id,
        procedure=procedure,
        audience=audience,
    )
    return pb.PublishRequest(
        token=token,
        event_type=event_type,
        event_id=event_id,
        procedure=procedure,
        audience=list(audience),
        sealed_payloads=boxes,
    )


def entries_for(env: RegistryEnv, request_id: str) -> list[dict[str, Any]]:
    return [row for row in env.log_rows() if row["request_id"] == request_id]


def error_of(call: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


# ----------------------------------------------------------------------- the table


def test_every_row_of_the_access_rights_table_is_allowed(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    rules = AccessRights.load(DEFAULT_ACCESS_RIGHTS).query_rules()
    assert len(rules) >= 20
    for rule in rules:
        hub.reset_providers()
        request_id = rid(rule.procedure)
        params = {"year": 2024} if rule.item in ("income", "medical_expenses") else {}
        response = query(
            hub,
            resident,
            rule.requester,
            rule.provider,
            rule.item,
            rule.procedure,
            request_id,
            params,
        )
        data = response.data
        assert data, f"no data for {rule}"
        seen = hub.providers[rule.provider].provides
        assert len(seen) == 1 and hub.provide_count() == 1, rule
        call = seen[0]
        # The provider sees its own token, never the requester's.
        assert call.token == resident.tokens[rule.provider]
        assert call.token != resident.tokens[rule.requester]
        assert (call.item, call.procedure, call.requester, call.request_id) == (
            rule.item,
            rule.procedure,
            rule.requester,
            request_id,
        )
        if rule.item == "income":
            assert data == {
                "year": 2024,
                "total_income": income_for(call.token, 2024),
                "currency": "JPY",
            }
        [entry] = entries_for(hub, request_id)
        assert entry["index"] == response.log_index
        assert (entry["requester"], entry["provider"], entry["outcome"]) == (
            rule.requester,
            rule.provider,
            "provided",
        )


@pytest.mark.parametrize(
    ("requester", "provider", "item", "procedure"),
    [
        ("pension", "health", "coverage", "pension.exemption"),  # item not listed for pension
        ("pension", "tax", "income", "tax.refund"),  # right item, someone else's procedure
        ("tax", "tax", "income", "tax.refund"),  # asking oneself through the hub
        ("health", "portal", "payout_account", "health.premium"),
        ("portal", "tax", "income", "portal.my_information"),
        ("municipality", "pension", "pension_record", "disaster.support_list"),
        ("pension", "tax", "salary", "pension.exemption"),  # item nobody provides
    ],
)
def test_pairs_outside_the_table_are_denied_and_recorded(
    hub: RegistryEnv, requester: str, provider: str, item: str, procedure: str
) -> None:
    resident = hub.linked(*ALL)
    request_id = rid("denied")
    error = error_of(lambda: query(hub, resident, requester, provider, item, procedure, request_id))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "access-rights table does not allow" in error.details()
    assert hub.provide_count() == 0
    [entry] = entries_for(hub, request_id)
    assert (entry["requester"], entry["provider"], entry["outcome"]) == (
        requester,
        provider,
        "denied",
    )
    # A retry is answered from the record: same refusal, no second entry.
    again = error_of(lambda: query(hub, resident, requester, provider, item, procedure, request_id))
    assert again.code() == grpc.StatusCode.PERMISSION_DENIED
    assert len(entries_for(hub, request_id)) == 1


@pytest.mark.parametrize("caller", ["pension", "municipality", "gateway", "operator"])
def test_an_agency_cannot_call_another_agencys_provider_directly(
    hub: RegistryEnv, caller: str
) -> None:
    resident = hub.linked(*ALL)
    stub = exchange_pb2_grpc.ProviderStub(hub.stack.channel("tax", as_identity=caller))
    provide = exchange_pb2.ProvideRequest(
        token=resident.tokens["tax"],
        item="income",
        procedure="pension.exemption",
        request_id=rid(),
        requester="pension",
        recipient=sealing_key_to_proto(hub.keys("pension").public_key()),
    )
    error = error_of(lambda: stub.Provide(provide))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    deliver = exchange_pb2.DeliverRequest(
        token=resident.tokens["tax"],
        event_type="address_changed",
        event_id=rid("e"),
        publisher="municipality",
    )
    assert error_of(lambda: stub.Deliver(deliver)).code() == grpc.StatusCode.PERMISSION_DENIED
    assert hub.providers["tax"].provides == [] and hub.providers["tax"].deliveries == []
    # The same request from the registry's identity reaches the provider.
    registry_stub = exchange_pb2_grpc.ProviderStub(hub.stack.channel("tax", as_identity="registry"))
    answer = registry_stub.Provide(provide)
    context = answer_context(
        request_id=provide.request_id,
        requester="pension",
        provider="tax",
        item="income",
        procedure="pension.exemption",
        params={},
    )
    assert hub.keys("pension").open_json(box_from_proto(answer.sealed), context)["total_income"]
    assert len(hub.providers["tax"].provides) == 1


# --------------------------------------------------------------------- fail closed

_PG_BLOCK = """
CREATE FUNCTION refuse_log_append() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'exchange log storage unavailable'; END; $$ LANGUAGE plpgsql;
CREATE TRIGGER refuse_log_append BEFORE INSERT ON log_entries
FOR EACH ROW EXECUTE FUNCTION refuse_log_append();
"""
_PG_UNBLOCK = """
DROP TRIGGER refuse_log_append ON log_entries; DROP FUNCTION refuse_log_append();
"""
_SQLITE_BLOCK = """
CREATE TRIGGER refuse_log_append BEFORE INSERT ON log_entries
BEGIN SELECT RAISE(ABORT, 'exchange log storage unavailable'); END;
"""
_SQLITE_UNBLOCK = "DROP TRIGGER refuse_log_append;"


def _execute(env: RegistryEnv, script: str) -> None:
    with env.engine.begin() as conn:
        if env.is_sqlite:
            conn.connection.driver_connection.executescript(script)  # type: ignore[union-attr]
        else:
            conn.execute(text(script))


def test_no_data_leaves_the_hub_when_the_log_cannot_be_written(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    request_id = rid("closed")
    size = hub.log_size()
    _execute(hub, _SQLITE_BLOCK if hub.is_sqlite else _PG_BLOCK)
    try:
        error = error_of(
            lambda: query(
                hub,
                resident,
                "pension",
                "tax",
                "income",
                "pension.exemption",
                request_id,
                {"year": 2024},
            )
        )
        denied = error_of(
            lambda: query(hub, resident, "pension", "health", "coverage", "pension.exemption")
        )
    finally:
        _execute(hub, _SQLITE_UNBLOCK if hub.is_sqlite else _PG_UNBLOCK)
    assert error.code() == grpc.StatusCode.INTERNAL
    assert "income" not in error.details() and "total_income" not in error.details()
    assert str(income_for(resident.tokens["tax"], 2024)) not in error.details()
    assert denied.code() == grpc.StatusCode.INTERNAL  # even a refusal is not given unrecorded
    assert hub.log_size() == size
    # Once the log works again, the same request is answered and recorded exactly once.
    response = query(
        hub, resident, "pension", "tax", "income", "pension.exemption", request_id, {"year": 2024}
    )
    assert response.data["total_income"] == income_for(resident.tokens["tax"], 2024)
    assert [e["outcome"] for e in entries_for(hub, request_id)] == ["provided"]


# ------------------------------------------------------------------------- retries


def test_a_retried_request_is_answered_once(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    request_id = rid("retry")
    first = query(
        hub, resident, "health", "tax", "income", "health.premium", request_id, {"year": 2023}
    )
    second = query(
        hub, resident, "health", "tax", "income", "health.premium", request_id, {"year": 2023}
    )
    assert first.data == second.data
    assert first.log_index == second.log_index
    assert len(hub.providers["tax"].provides) == 1
    assert len(entries_for(hub, request_id)) == 1

    size = hub.log_size()
    changed = error_of(
        lambda: query(
            hub, resident, "health", "tax", "income", "health.premium", request_id, {"year": 2022}
        )
    )
    assert changed.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "request_id was already used for a different query" in changed.details()
    other_item = error_of(
        lambda: query(
            hub, resident, "health", "municipality", "household", "health.premium", request_id
        )
    )
    assert other_item.code() == grpc.StatusCode.INVALID_ARGUMENT, (
        "a request_id reused for a query to another provider must be refused too"
    )
    assert hub.log_size() == size and len(hub.providers["tax"].provides) == 1


def test_a_failed_exchange_is_recorded_and_may_be_retried(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    request_id = rid("flaky")
    hub.providers["tax"].fail_with = errors.Unavailable("tax database is being restarted")
    error = error_of(
        lambda: query(hub, resident, "pension", "tax", "income", "pension.exemption", request_id)
    )
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert error.details().startswith("tax:")
    hub.providers["tax"].fail_with = None
    response = query(hub, resident, "pension", "tax", "income", "pension.exemption", request_id)
    assert response.data["total_income"] > 0
    assert [e["outcome"] for e in entries_for(hub, request_id)] == ["failed", "provided"]
    # The hub's channel retried the idempotent Provide (same request id) on UNAVAILABLE up to
    # its service config's limit, and the exchange was recorded once per Query all the same.
    seen = hub.providers["tax"].provides
    assert len(seen) == RETRY_POLICY["maxAttempts"] + 1
    assert {p.request_id for p in seen} == {request_id}


# ----------------------------------------------------------------------- bad input

BAD_QUERIES: dict[str, tuple[dict[str, Any], grpc.StatusCode, str]] = {
    "unknown token": (
        {"token": "AAEunknown-token-000000000000000000000000000"},
        grpc.StatusCode.NOT_FOUND,
        "not known to your domain",
    ),
    "another domain's token": (
        {"token": "@tax"},
        grpc.StatusCode.NOT_FOUND,
        "not known to your domain",
    ),
    "empty token": ({"token": ""}, grpc.StatusCode.INVALID_ARGUMENT, "token is required"),
    "unknown provider": (
        {"provider": "police"},
        grpc.StatusCode.INVALID_ARGUMENT,
        "unknown provider",
    ),
    "empty provider": ({"provider": ""}, grpc.StatusCode.INVALID_ARGUMENT, "unknown provider"),
    "malformed item": ({"item": "Income!"}, grpc.StatusCode.INVALID_ARGUMENT, "item must be"),
    "malformed procedure": (
        {"procedure": "Pension Exemption"},
        grpc.StatusCode.INVALID_ARGUMENT,
        "procedure must",
    ),
    "procedure without field": (
        {"procedure": "exemption"},
        grpc.StatusCode.INVALID_ARGUMENT,
        "procedure must",
    ),
    "missing request_id": (
        {"request_id": ""},
        grpc.StatusCode.INVALID_ARGUMENT,
        "request_id is required",
    ),
    "request_id with spaces": (
        {"request_id": "a b"},
        grpc.StatusCode.INVALID_ARGUMENT,
        "request_id is required",
    ),
    "oversized params": (
        {"params": {"note": "x" * 9000}},
        grpc.StatusCode.INVALID_ARGUMENT,
        "params are too large",
    ),
}


@pytest.mark.parametrize("case", list(BAD_QUERIES))
def test_bad_queries_are_refused_before_anything_happens(hub: RegistryEnv, case: str) -> None:
    resident = hub.linked(*ALL)
    changes, code, fragment = BAD_QUERIES[case]
    args: dict[str, Any] = {
        "requester": "pension",
        "provider": "tax",
        "item": "income",
        "procedure": "pension.exemption",
        "request_id": rid("bad"),
        "params": {"year": 2024},
    }
    args.update(changes)
    if str(args.get("token", "")).startswith("@"):
        args["token"] = resident.tokens[args["token"][1:]]
    size = hub.log_size()
    error = error_of(lambda: query(hub, resident, **args))
    assert error.code() == code, error.details()
    assert fragment in error.details()
    assert resident.my_number not in error.details() and resident.facts.name not in error.details()
    assert hub.log_size() == size
    assert hub.provide_count() == 0


def test_a_provider_without_the_person_is_a_recorded_failure(hub: RegistryEnv) -> None:
    resident = hub.linked("tax")  # never linked at health
    request_id = rid("unlinked")
    error = error_of(
        lambda: query(
            hub,
            resident,
            "tax",
            "health",
            "medical_expenses",
            "tax.medical_deduction",
            request_id,
            {"year": 2024},
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == "health holds no record of this person"
    assert hub.provide_count() == 0
    assert [e["outcome"] for e in entries_for(hub, request_id)] == ["failed"]


def test_an_item_the_provider_does_not_serve_is_its_not_found(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    hub.providers["tax"].items = {"tax_summary", "amounts_due"}
    try:
        request_id = rid("noitem")
        error = error_of(
            lambda: query(
                hub, resident, "pension", "tax", "income", "pension.exemption", request_id
            )
        )
    finally:
        hub.providers["tax"].items = None
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == "tax: tax provides no item 'income'"
    [entry] = entries_for(hub, request_id)
    assert entry["outcome"] == "failed" and "provides no item" in entry["message"]


# ------------------------------------------------------------------------ deadlines


def test_a_slow_provider_runs_into_the_callers_deadline(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    request_id = rid("slow")
    hub.providers["tax"].sleep_seconds = 0.8
    started = time.monotonic()
    error = error_of(
        lambda: query(
            hub, resident, "pension", "tax", "income", "pension.exemption", request_id, timeout=0.3
        )
    )
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 0.7
    # The registry's own call to tax inherited the deadline: it fails and is recorded as such.
    deadline = time.monotonic() + 3
    while not entries_for(hub, request_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [e["outcome"] for e in entries_for(hub, request_id)] == ["failed"]
    hub.providers["tax"].sleep_seconds = 0.0
    response = query(hub, resident, "pension", "tax", "income", "pension.exemption", request_id)
    assert response.data["total_income"] > 0


def test_an_already_expired_deadline_reaches_nothing(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    late = rid("late")
    raw = grpc.secure_channel(
        hub.stack.endpoints["registry"],
        TlsMaterial(tls_dir(hub.stack.var, "pension")).channel_credentials(),
        options=[("grpc.ssl_target_name_override", "registry")],
    )
    try:
        request = pb.QueryRequest(
            token=resident.tokens["pension"],
            provider="tax",
            item="income",
            procedure="pension.exemption",
            request_id=late,
        )
        for timeout in (-1.0, 0.0):
            error = error_of(lambda: pb_grpc.HubStub(raw).Query(request, timeout=timeout))  # noqa: B023
            assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    finally:
        raw.close()
    # And the hub's own check, for a request that arrives with no time left:
    inside = rid("late")
    registry = build_registry(hub.stack.settings_for("registry"))
    try:
        with pytest.raises(errors.DeadlineExceeded, match="deadline had already passed"):
            registry.query(
                "pension",
                resident.tokens["pension"],
                "tax",
                "income",
                "pension.exemption",
                inside,
                {},
                remaining=0.0,
            )
    finally:
        registry.db.dispose()
    # Nothing of this request reaches the provider or the log. The checks name this request
    # (not the log's size or every provider's count): the hub is shared by the module's tests,
    # and on a loaded machine an earlier test's abandoned call can still land while this one
    # runs (that made a size check flaky: 37, expected 36).
    for request_id in (late, inside):
        assert entries_for(hub, request_id) == []
        seen = [p for s in hub.providers.values() for p in s.provides]
        assert [p for p in seen if p.request_id == request_id] == []


# ----------------------------------------------------------------------------- locks


def test_locks_deny_what_they_lock_and_are_recorded(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    portal = hub.registry("gateway")
    assert list(
        portal.SetLocks(
            pb.SetLocksRequest(token=resident.tokens["portal"], locks=["protect_claims"])
        ).locks
    ) == ["protect_claims"]

    request_id = rid("refund")
    error = error_of(
        lambda: query(hub, resident, "tax", "portal", "payout_account", "tax.refund", request_id)
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and "protect_claims" in error.details()
    assert [e["outcome"] for e in entries_for(hub, request_id)] == ["denied"]
    claim = error_of(
        lambda: query(hub, resident, "pension", "portal", "payout_account", "pension.claim")
    )
    assert claim.code() == grpc.StatusCode.PERMISSION_DENIED
    assert hub.provide_count() == 0
    # Procedures that are not claims still work.
    assert query(hub, resident, "pension", "tax", "income", "pension.exemption").data

    portal.SetLocks(pb.SetLocksRequest(token=resident.tokens["portal"], locks=["block_exchanges"]))
    blocked = error_of(
        lambda: query(hub, resident, "pension", "tax", "income", "pension.exemption")
    )
    assert (
        blocked.code() == grpc.StatusCode.PERMISSION_DENIED
        and "block_exchanges" in blocked.details()
    )
    # The resident's own portal still sees their data.
    assert query(hub, resident, "portal", "tax", "tax_summary", "portal.my_information").data

    portal.SetLocks(pb.SetLocksRequest(token=resident.tokens["portal"], locks=[]))
    assert query(hub, resident, "tax", "portal", "payout_account", "tax.refund").data


# ----------------------------------------------------------------------------- batch


def test_batch_query_reports_each_item(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    other = hub.linked("municipality", "tax")

    def q(token: str, item: str, procedure: str, request_id: str, provider: str = "tax") -> Any:
        return pb.QueryRequest(
            token=token,
            provider=provider,
            item=item,
            procedure=procedure,
            request_id=request_id,
            params=to_struct({"year": 2024}),
        )

    ids = [rid("b") for _ in range(5)]
    request = pb.BatchQueryRequest(
        queries=[
            q(resident.tokens["municipality"], "income", "disaster.victim_support", ids[0]),
            q(other.tokens["municipality"], "income", "disaster.victim_support", ids[1]),
            q(
                resident.tokens["municipality"],
                "tax_summary",
                "disaster.victim_support",
                ids[2],
            ),
            q("no-such-token", "income", "disaster.victim_support", ids[3]),
            q(resident.tokens["municipality"], "income", "Disaster", ids[4]),
        ]
    )
    response = hub.hub("municipality").BatchQuery(request)
    sealed = hub.sealed("municipality")
    asked = [
        sealed.asked(q.provider, q.item, q.procedure, q.request_id, {"year": 2024})
        for q in request.queries
    ]
    opened = sealed.open_batch(asked, response)
    codes = [(r.request_id, r.code) for r in response.results]
    assert codes == [
        (ids[0], 0),
        (ids[1], 0),
        (ids[2], grpc.StatusCode.PERMISSION_DENIED.value[0]),
        (ids[3], grpc.StatusCode.NOT_FOUND.value[0]),
        (ids[4], grpc.StatusCode.INVALID_ARGUMENT.value[0]),
    ]
    first, second = response.results[0], response.results[1]
    assert opened[0][0] is not None and opened[1][0] is not None
    assert opened[0][0]["total_income"] == income_for(resident.tokens["tax"], 2024)
    assert opened[1][0]["total_income"] == income_for(other.tokens["tax"], 2024)
    assert first.log_index != second.log_index
    # Tax was asked once for both, and sealed one answer for the batch.
    assert hub.providers["tax"].batches == 1 and len(hub.providers["tax"].provides) == 2
    assert first.HasField("sealed") and not second.HasField("sealed")
    assert second.sealed_ref == 0 and (first.position, second.position) == (0, 1)
    assert all(not r.data.fields for r in response.results)
    assert "access-rights table" in response.results[2].message
    assert opened[2] == (None, None)
    assert [e["outcome"] for i in ids for e in entries_for(hub, i)] == [
        "provided",
        "provided",
        "denied",
    ]


def test_a_batch_decides_each_item_as_a_single_query_does(hub: RegistryEnv) -> None:
    """BatchQuery reads its people, locks, links and idempotency records for the whole batch
    at once; each item still gets the answer a Query alone would: a lock refuses, a missing
    link is NOT_FOUND, an empty token is INVALID_ARGUMENT, one person twice is answered twice,
    and a retried request id replays its record."""
    free = hub.linked("municipality", "tax")
    locked = hub.linked("municipality", "tax", "portal")
    unlinked = hub.linked("municipality")
    hub.registry("gateway").SetLocks(
        pb.SetLocksRequest(token=locked.tokens["portal"], locks=["block_exchanges"])
    )

    def q(token: str, request_id: str) -> Any:
        return pb.QueryRequest(
            token=token,
            provider="tax",
            item="income",
            procedure="disaster.victim_support",
            request_id=request_id,
            params=to_struct({"year": 2024}),
        )

    ids = [rid("m") for _ in range(5)]
    request = pb.BatchQueryRequest(
        queries=[
            q(free.tokens["municipality"], ids[0]),
            q(locked.tokens["municipality"], ids[1]),
            q(unlinked.tokens["municipality"], ids[2]),
            q("", ids[3]),
            q(free.tokens["municipality"], ids[4]),
        ]
    )
    response = hub.hub("municipality").BatchQuery(request)
    codes = [r.code for r in response.results]
    assert codes == [
        0,
        grpc.StatusCode.PERMISSION_DENIED.value[0],
        grpc.StatusCode.NOT_FOUND.value[0],
        grpc.StatusCode.INVALID_ARGUMENT.value[0],
        0,
    ]
    assert "block_exchanges" in response.results[1].message
    assert "tax holds no record" in response.results[2].message
    assert "token is required" in response.results[3].message
    first = [r.log_index for r in response.results]
    # A Query alone decides the locked one the same way.
    single = error_of(
        lambda: hub.hub("municipality").Query(q(locked.tokens["municipality"], rid("s")))
    )
    assert single.code() == grpc.StatusCode.PERMISSION_DENIED
    # The whole batch again: the answered and the denied items replay their records.
    again = hub.hub("municipality").BatchQuery(request)
    assert [r.code for r in again.results] == codes
    assert again.results[0].log_index == first[0] and again.results[4].log_index == first[4]
    assert again.results[1].log_index == first[1]


# --------------------------------------------------------------------------- publish


def test_publish_fans_out_under_each_domains_own_token_once(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    event_id = rid("move")
    payload = {"moved_on": "2025-04-01", "municipality_code": "131016"}
    request = publish_request(
        hub,
        "municipality",
        resident.tokens["municipality"],
        "address_changed",
        event_id,
        "municipality.moving_onestop",
        payload,
    )
    assert "131016" not in str(request)
    response = hub.hub("municipality").Publish(request)
    assert sorted(response.delivered_to) == sorted(ALL)
    for dom in ALL:
        [delivery] = hub.providers[dom].deliveries
        assert delivery.token == resident.tokens[dom]
        assert (delivery.event_type, delivery.event_id, delivery.publisher) == (
            "address_changed",
            event_id,
            "municipality",
        )
        assert delivery.payload == payload
    assert hub.providers["municipality"].deliveries == []
    delivered = entries_for(hub, event_id)
    assert sorted(e["provider"] for e in delivered) == sorted(ALL)
    assert {e["outcome"] for e in delivered} == {"delivered"}

    hub.hub("municipality").Publish(request)  # re-published (e.g. the outbox retried)
    assert all(len(hub.providers[d].deliveries) == 1 for d in ALL)
    assert len(entries_for(hub, event_id)) == len(ALL)

    # The same event_id about another person is a caller bug, not a retry (the hub cannot
    # compare sealed payloads; each receiver applies an event_id once).
    someone_else = hub.linked(*ALL)
    changed = pb.PublishRequest()
    changed.CopyFrom(request)
    changed.token = someone_else.tokens["municipality"]
    reused = error_of(lambda: hub.hub("municipality").Publish(changed))
    assert reused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "event_id was already used for a different event" in reused.details()
    assert all(len(hub.providers[d].deliveries) == 1 for d in ALL)


def test_publish_reaches_only_domains_that_know_the_person(hub: RegistryEnv) -> None:
    resident = hub.linked("pension")
    event_id = rid("move")
    response = hub.hub("municipality").Publish(
        publish_request(
            hub,
            "municipality",
            resident.tokens["municipality"],
            "address_changed",
            event_id,
            "municipality.moving_onestop",
        )
    )
    assert list(response.delivered_to) == ["pension"]
    assert [d.token for d in hub.providers["pension"].deliveries] == [resident.tokens["pension"]]
    assert all(not hub.providers[d].deliveries for d in ("tax", "health", "portal"))


def test_publish_outside_the_table_is_denied_and_recorded(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    event_id = rid("forged")
    error = error_of(
        lambda: hub.hub("tax").Publish(
            publish_request(
                hub,
                "tax",
                resident.tokens["tax"],
                "address_changed",
                event_id,
                "municipality.moving_onestop",
            )
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert all(not p.deliveries for p in hub.providers.values())
    assert [e["outcome"] for e in entries_for(hub, event_id)] == ["denied"]
    # An allowed event, but to an audience outside its row.
    narrowed = error_of(
        lambda: hub.hub("pension").Publish(
            publish_request(
                hub,
                "pension",
                resident.tokens["pension"],
                "inbox.document",
                rid("e"),
                "pension.exemption",
                audience=("tax",),
            )
        )
    )
    assert narrowed.code() == grpc.StatusCode.PERMISSION_DENIED
    assert all(not p.deliveries for p in hub.providers.values())


def test_a_failed_delivery_is_retried_only_where_it_failed(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    event_id = rid("move")
    request = publish_request(
        hub,
        "municipality",
        resident.tokens["municipality"],
        "address_changed",
        event_id,
        "municipality.moving_onestop",
    )
    hub.providers["health"].fail_with = errors.Unavailable("health is restarting")
    error = error_of(lambda: hub.hub("municipality").Publish(request))
    assert error.code() == grpc.StatusCode.UNAVAILABLE and "health" in error.details()
    hub.providers["health"].fail_with = None
    hub.hub("municipality").Publish(request)
    # health: the hub's channel retried the idempotent Deliver (same event id) on UNAVAILABLE
    # up to its service config's limit, then the retried Publish delivered it once more.
    attempts = RETRY_POLICY["maxAttempts"]
    assert [len(hub.providers[d].deliveries) for d in ALL] == [1, 1, attempts + 1, 1]
    outcomes = sorted((e["provider"], e["outcome"]) for e in entries_for(hub, event_id))
    assert outcomes == sorted(
        [
            ("pension", "delivered"),
            ("tax", "delivered"),
            ("portal", "delivered"),
            ("health", "failed"),
            ("health", "delivered"),
        ]
    )
