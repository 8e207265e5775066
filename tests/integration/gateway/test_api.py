"""The portal's JSON API over the real registry, municipality and gateway.

Every endpoint is tried without a session, with bad input, and with another resident's
identifiers (object-level authorisation: someone else's object is a 404, exactly like a
missing one). Each kind of failed login is rejected.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

import grpc
import httpx
import pytest
from mynumber.exchange.v1 import exchange_pb2, exchange_pb2_grpc
from sqlalchemy import select, update

from mynumber_core.calendar import fiscal_year_of, today_jst
from mynumber_core.card import CardError, load_card, login_challenge_message, unlock_card
from mynumber_core.structs import to_struct
from services.gateway.models import PortalSession
from services.gateway.usecases import log as exchange_log_usecases
from tests.integration.gateway.portal_env import CardHolder, PortalEnv, b64
from tests.support.sealing import open_provided, recipient, sealed_payload

ENDPOINTS = [
    ("GET", "/api/session"),
    ("GET", "/api/me"),
    ("GET", "/api/log"),
    ("GET", "/api/notices"),
    ("POST", "/api/notices/N123/read"),
    ("GET", "/api/inbox"),
    ("GET", "/api/inbox/D123"),
    ("GET", "/api/payments/due"),
    ("GET", "/api/payments"),
    ("POST", "/api/payments"),
    ("GET", "/api/payout-account"),
    ("PUT", "/api/payout-account"),
    ("GET", "/api/applications"),
    ("POST", "/api/applications/pension-exemption"),
    ("POST", "/api/applications/move-out"),
    ("GET", "/api/locks"),
    ("PUT", "/api/locks"),
    ("POST", "/api/step-up"),
    ("GET", "/api/step-up/C123"),
    ("GET", "/api/businesses"),
    ("GET", "/api/business-grants"),
    ("POST", "/api/business-grants"),
    ("DELETE", "/api/business-grants/G123"),
]


def account(resident: CardHolder, **changes: str) -> dict[str, str]:
    """A valid payout account in the resident's own name."""
    values = {
        "bank_code": "0005",
        "branch_code": "123",
        "account_type": "ordinary",
        "account_number": "1234567",
        "holder_kana": resident.demo.name_kana,
    }
    values.update(changes)
    return values


# ------------------------------------------------------------------------------ login


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_a_session(env: PortalEnv, method: str, path: str) -> None:
    with env.client() as client:
        response = client.request(method, path, json={})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_login_sets_a_strict_httponly_cookie_and_stores_only_its_hash(env: PortalEnv) -> None:
    resident = env.make_resident()
    client = env.client()
    card = resident.card()
    challenge = client.post("/api/login/challenge").json()
    assert challenge["audience"] == env.origin
    message = login_challenge_message(
        challenge["nonce"], challenge["audience"], challenge["issued_at"]
    )
    response = client.post(
        "/api/login",
        json={
            "challenge_id": challenge["challenge_id"],
            "certificate_pem": card.certificate_pem.decode(),
            "signature": b64(card.sign(message)),
        },
    )
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    session_id = response.cookies["mnp_session"]
    with env.portal.db.transaction() as session:
        stored = list(session.scalars(select(PortalSession.id_hash)))
    assert session_id not in stored and len(stored) >= 1
    assert client.get("/api/session").status_code == 200
    assert client.post("/api/logout").status_code == 204
    assert client.get("/api/session").status_code == 401


def test_replayed_challenge_is_rejected(env: PortalEnv) -> None:
    resident = env.make_resident()
    card = resident.card()
    with env.client() as client:
        challenge = client.post("/api/login/challenge").json()
        message = login_challenge_message(
            challenge["nonce"], challenge["audience"], challenge["issued_at"]
        )
        body = {
            "challenge_id": challenge["challenge_id"],
            "certificate_pem": card.certificate_pem.decode(),
            "signature": b64(card.sign(message)),
        }
        assert client.post("/api/login", json=body).status_code == 200
    with env.client() as attacker:
        replay = attacker.post("/api/login", json=body)
    assert replay.status_code == 401
    assert "already used" in replay.json()["error"]["message"]


def test_revoked_card_is_rejected(env: PortalEnv) -> None:
    resident = env.make_resident()
    card = resident.card()  # unlocked before the revocation (a thief's copy of the key)
    env.revoke(resident)
    with env.client() as client:
        challenge = client.post("/api/login/challenge").json()
        message = login_challenge_message(
            challenge["nonce"], challenge["audience"], challenge["issued_at"]
        )
        response = client.post(
            "/api/login",
            json={
                "challenge_id": challenge["challenge_id"],
                "certificate_pem": card.certificate_pem.decode(),
                "signature": b64(card.sign(message)),
            },
        )
        assert response.status_code == 401
        assert "revoked" in response.json()["error"]["message"]
        assert client.get("/api/me").status_code == 401


def test_wrong_pin_does_not_open_the_card_file(env: PortalEnv) -> None:
    resident = env.make_resident(pin="2580")
    assert resident.authority is not None
    with pytest.raises(CardError, match="wrong PIN"):
        unlock_card(resident.card_path, "0000", resident.authority)
    with pytest.raises(CardError, match="opens only online"):
        load_card(resident.card_path, "2580")  # the file alone: no PIN opens it


def test_signature_over_another_message_is_rejected(env: PortalEnv) -> None:
    resident = env.make_resident()
    card = resident.card()
    with env.client() as client:
        challenge = client.post("/api/login/challenge").json()
        wrong = login_challenge_message("another-nonce", challenge["audience"], 1)
        response = client.post(
            "/api/login",
            json={
                "challenge_id": challenge["challenge_id"],
                "certificate_pem": card.certificate_pem.decode(),
                "signature": b64(card.sign(wrong)),
            },
        )
    assert response.status_code == 401
    assert "signature" in response.json()["error"]["message"]


WELL_FORMED_PEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"challenge_id": "nope", "certificate_pem": WELL_FORMED_PEM, "signature": "A" * 16}, 404),
        ({"challenge_id": "nope", "certificate_pem": "x", "signature": "x"}, 400),
        ({"challenge_id": "bad id!", "certificate_pem": "x", "signature": "x"}, 400),
        ({"challenge_id": "C1"}, 400),
    ],
)
def test_bad_login_requests(env: PortalEnv, body: dict[str, str], status: int) -> None:
    with env.client() as client:
        response = client.post("/api/login", json=body)
        assert response.status_code == status
        assert set(response.json()) == {"error"}


def test_malformed_signature_is_400_before_the_challenge_is_touched(env: PortalEnv) -> None:
    """The schema refuses a signature that is not base64 (the contract says so); a challenge is
    used up only by a well-formed attempt (test_signature_over_another_message_is_rejected)."""
    resident = env.make_resident()
    with env.client() as client:
        challenge = client.post("/api/login/challenge").json()
        body = {
            "challenge_id": challenge["challenge_id"],
            "certificate_pem": resident.card().certificate_pem.decode(),
            "signature": "%%%not base64%%%",
        }
        assert client.post("/api/login", json=body).status_code == 400
        card = resident.card()
        message = login_challenge_message(
            challenge["nonce"], challenge["audience"], challenge["issued_at"]
        )
        body["signature"] = b64(card.sign(message))
        assert client.post("/api/login", json=body).status_code == 200


def test_forged_and_expired_cookies_are_rejected(env: PortalEnv) -> None:
    resident = env.make_resident()
    client = env.login(resident)
    assert client.get("/api/me").status_code == 200
    forged = httpx.Client(base_url=env.url, cookies={"mnp_session": "forged-" + "A" * 40})
    assert forged.get("/api/me").status_code == 401
    with env.portal.db.transaction() as session:
        session.execute(
            update(PortalSession).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(1))
        )
    response = client.get("/api/me")
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_browser_login_with_a_code_approved_by_the_card(env: PortalEnv) -> None:
    resident = env.make_resident()
    browser = env.client()
    code = browser.post("/api/login/code").json()
    poll = {"challenge_id": code["challenge_id"], "poll_secret": code["poll_secret"]}
    assert browser.post("/api/login/poll", json=poll).status_code == 202
    with env.client() as phone:
        what = phone.get(f"/api/approvals/{code['code'].lower().replace('-', '')}").json()
        assert what["kind"] == "login" and what["audience"] == env.origin
        card = resident.card()
        message = login_challenge_message(what["nonce"], what["audience"], what["issued_at"])
        approved = phone.post(
            f"/api/approvals/{code['code']}",
            json={
                "certificate_pem": card.certificate_pem.decode(),
                "signature": b64(card.sign(message)),
                "match_number": code["match_number"],
            },
        )
        assert approved.status_code == 200, approved.text
        # The phone holds no poll secret, so it cannot collect the session itself.
        assert phone.get("/api/session").status_code == 401
        assert phone.get(f"/api/approvals/{code['code']}").status_code == 409
    wrong = {"challenge_id": code["challenge_id"], "poll_secret": "x" * 40}
    assert browser.post("/api/login/poll", json=wrong).status_code == 404
    assert browser.post("/api/login/poll", json=poll).status_code == 200
    assert browser.get("/api/session").status_code == 200
    assert browser.post("/api/login/poll", json=poll).status_code == 401  # single use


def test_bad_codes(env: PortalEnv) -> None:
    with env.client() as client:
        assert client.get("/api/approvals/short").status_code == 400
        assert client.get("/api/approvals/AAAA-AAAA").status_code == 404


# ---------------------------------------------------------------------------- step-up


def test_payout_account_needs_a_step_up_for_exactly_these_values(env: PortalEnv) -> None:
    resident = env.make_resident()
    client = env.login(resident)
    body = account(resident)
    assert client.put("/api/payout-account", json=body).status_code == 401
    other = env.step_up(
        client, resident, "change_payout_account", account(resident, bank_code="0009")
    )
    denied = client.put("/api/payout-account", json={**body, "step_up": other})
    assert denied.status_code == 403
    proof = env.step_up(client, resident, "change_payout_account", body)
    done = client.put("/api/payout-account", json={**body, "step_up": proof})
    assert done.status_code == 200, done.text
    assert done.json()["account_number"] == "****567"
    assert client.put("/api/payout-account", json={**body, "step_up": proof}).status_code == 401
    got = client.get("/api/payout-account").json()
    assert got["registered"] and got["bank_code"] == "0005" and not got["shared_with_others"]
    titles = [n["title"] for n in client.get("/api/notices?lang=en").json()["documents"]]
    assert any("public-funds" in t for t in titles)


def test_holder_name_must_be_the_residents(env: PortalEnv) -> None:
    resident = env.make_resident()
    client = env.login(resident)
    body = account(resident, holder_kana="ベツジン タロウ")
    proof = env.step_up(client, resident, "change_payout_account", body)
    response = client.put("/api/payout-account", json={**body, "step_up": proof})
    assert response.status_code == 400
    assert "holder" in response.json()["error"]["message"]
    assert client.get("/api/payout-account").json()["registered"] is False


@pytest.mark.parametrize(
    "change",
    [
        {"bank_code": "123"},
        {"branch_code": "12a"},
        {"account_number": "12345678"},
        {"account_type": "gold"},
        {"holder_kana": "Yamada Taro"},
        {"holder_kana": ""},
    ],
)
def test_bad_payout_account_is_400_and_changes_nothing(
    env: PortalEnv, change: dict[str, str]
) -> None:
    resident = env.make_resident()
    client = env.login(resident)
    response = client.post(
        "/api/step-up",
        json={"action": "change_payout_account", "fields": account(resident, **change)},
    )
    assert response.status_code == 400
    response = client.put("/api/payout-account", json=account(resident, **change))
    assert response.status_code == 400
    assert client.get("/api/payout-account").json()["registered"] is False


def test_shared_account_is_flagged(env: PortalEnv) -> None:
    first, second = env.make_resident(), env.make_resident()
    for r in (first, second):
        client = env.login(r)
        body = account(r, account_number="7654321")
        proof = env.step_up(client, r, "change_payout_account", body)
        assert client.put("/api/payout-account", json={**body, "step_up": proof}).status_code == 200
    assert client.get("/api/payout-account").json()["shared_with_others"] is True


def test_step_up_with_someone_elses_card_is_refused(env: PortalEnv) -> None:
    owner, stranger = env.make_resident(), env.make_resident()
    client = env.login(owner)
    body = {"locks": ["protect_claims"]}
    proof = env.step_up(client, stranger, "set_locks", body)
    response = client.put("/api/locks", json={**body, "step_up": proof})
    assert response.status_code == 403
    assert client.get("/api/locks").json()["locks"] == []


def test_bad_step_up_requests(env: PortalEnv) -> None:
    client = env.login(env.make_resident())
    assert (
        client.post("/api/step-up", json={"action": "drop_tables", "fields": {}}).status_code == 400
    )
    assert client.post("/api/step-up", json={"action": "set_locks"}).status_code == 400
    assert client.get("/api/step-up/C000").status_code == 404


# ----------------------------------------------------------------- locks, applications


def test_locks_are_mirrored_to_the_registry_and_block_online_changes(env: PortalEnv) -> None:
    resident = env.make_resident()
    client = env.login(resident)
    body = {"locks": ["block_online_changes", "protect_claims"]}
    proof = env.step_up(client, resident, "set_locks", body)
    response = client.put("/api/locks", json={**body, "step_up": proof})
    assert response.status_code == 200, response.text
    assert client.get("/api/locks").json()["locks"] == ["block_online_changes", "protect_claims"]
    refused = client.put("/api/payout-account", json=account(resident))
    assert refused.status_code == 409
    bad = client.put("/api/locks", json={"locks": ["no_such_lock"]})
    assert bad.status_code == 400


def test_move_out_notice_reaches_the_municipality(env: PortalEnv) -> None:
    resident = env.make_resident()
    client = env.login(resident)
    body = {
        "destination_address": "大阪府大阪市北区梅田1丁目1番1号",
        "planned_date": today_jst().isoformat(),
    }
    proof = env.step_up(client, resident, "apply_move_out", body)
    response = client.post("/api/applications/move-out", json={**body, "step_up": proof})
    assert response.status_code == 201, response.text
    assert client.get("/api/applications").json()["applications"][0]["kind"] == "move_out"
    # Pending entries too: on a loaded machine the next checkpoint may be later than the
    # registry's short wait for one, and what is asserted here is the delivery. A publish that
    # missed its deadline under load stays in the outbox, and the next drain sends it again
    # (as the relay's own loop would), so drain until it is delivered or 30 s have passed.
    deadline = time.monotonic() + 30
    delivered = False
    while not delivered and time.monotonic() < deadline:
        env.gateway.relay.drain()  # type: ignore[union-attr]
        log = client.get("/api/log?agency=municipality&include_pending=true").json()["entries"]
        delivered = any(
            e["item"] == "application.move_out" and e["outcome"] == "delivered" for e in log
        )
        if not delivered:
            time.sleep(0.5)
    assert delivered, "the move-out notice was never delivered to the municipality"


@pytest.mark.parametrize(
    "body",
    [
        {"destination_address": "", "planned_date": "2026-01-01"},
        {"destination_address": "東京都", "planned_date": "2026-13-40"},
        {"destination_address": "東京都", "planned_date": "1999-01-01"},
    ],
)
def test_bad_move_out_is_400(env: PortalEnv, body: dict[str, str]) -> None:
    client = env.login(env.make_resident())
    assert client.post("/api/applications/move-out", json=body).status_code == 400
    assert client.get("/api/applications").json()["applications"] == []


def test_bad_exemption_year_is_400(env: PortalEnv) -> None:
    client = env.login(env.make_resident())
    response = client.post("/api/applications/pension-exemption", json={"fiscal_year": 1990})
    assert response.status_code == 400
    assert "fiscal_year" in response.json()["error"]["message"]


def test_exemption_years_are_bounded_by_japans_date_on_the_day_of_the_request(
    env: PortalEnv,
) -> None:
    """The schema gives today's bounds (built again each day, not at the server's start), and a
    year past them is a 400 that names the accepted range."""
    current = fiscal_year_of(today_jst())
    schema = env.client().get("/openapi.json").json()
    field = schema["components"]["schemas"]["ExemptionIn"]["properties"]["fiscal_year"]
    assert (field["minimum"], field["maximum"]) == (current - 2, current)
    client = env.login(env.make_resident())
    response = client.post("/api/applications/pension-exemption", json={"fiscal_year": current + 1})
    assert response.status_code == 400
    assert f"between {current - 2} and {current}" in response.json()["error"]["message"]
    assert client.get("/api/applications").json()["applications"] == []


def test_payments_need_an_idempotency_key_and_a_real_amount_due(env: PortalEnv) -> None:
    client = env.login(env.make_resident())
    body = {"agency": "tax", "item_id": "IT-2025", "amount": 1000}
    assert client.post("/api/payments", json=body).status_code == 400
    response = client.post("/api/payments", json=body, headers={"Idempotency-Key": "pay-00000001"})
    assert response.status_code == 404
    bad = {"agency": "zoo", "item_id": "x", "amount": -1}
    assert (
        client.post(
            "/api/payments", json=bad, headers={"Idempotency-Key": "pay-00000002"}
        ).status_code
        == 400
    )
    assert client.get("/api/payments").json()["payments"] == []


def test_log_filters(env: PortalEnv) -> None:
    client = env.login(env.make_resident())
    client.get("/api/me")
    today = today_jst()
    assert client.get("/api/log?agency=municipality").json()["entries"]
    assert client.get("/api/log?agency=tax").json()["entries"] == [] or all(
        "tax" in (e["requester"], e["provider"])
        for e in client.get("/api/log?agency=tax").json()["entries"]
    )
    future = (today + dt.timedelta(days=2)).isoformat()
    assert client.get(f"/api/log?from={future}").json()["entries"] == []
    assert client.get("/api/log?agency=nasa").status_code == 400
    assert client.get("/api/log?from=2026-02-30").status_code == 400
    assert client.get("/api/log?from=2026-02-02&to=2026-02-01").status_code == 400


# ---------------------------------------------------------------- inbox and businesses


def deliver(env: PortalEnv, token: str, event_type: str, payload: dict[str, object]) -> bool:
    """Deliver an event to the gateway's Provider as the registry does."""
    stub = exchange_pb2_grpc.ProviderStub(env.stack.channel("gateway", as_identity="registry"))
    event_id = uuid.uuid4().hex
    return bool(
        stub.Deliver(
            exchange_pb2.DeliverRequest(
                token=token,
                event_type=event_type,
                event_id=event_id,
                publisher="pension",
                procedure="pension.exemption",
                sealed_payload=sealed_payload(
                    env.var,
                    publisher="pension",
                    receiver="portal",
                    event_type=event_type,
                    event_id=event_id,
                    procedure="pension.exemption",
                    payload=payload,
                ),
            )
        ).applied
    )


def portal_token(env: PortalEnv, client: httpx.Client) -> str:
    """The portal token behind a logged-in client (the test reads the gateway's database)."""
    info = env.portal.auth.authenticate(client.cookies["mnp_session"])
    return str(info.token)


def test_agency_documents_and_notices_arrive(env: PortalEnv) -> None:
    client = env.login(env.make_resident())
    token = portal_token(env, client)
    assert deliver(
        env,
        token,
        "inbox.document",
        {
            "title_ja": "免除決定通知書",
            "title_en": "Exemption decision",
            "body_ja": "承認",
            "body_en": "Approved",
            "sender": "日本年金機構",
        },
    )
    assert deliver(env, token, "notice", {"title": "予防接種のお知らせ", "body": "接種時期です"})
    inbox = client.get("/api/inbox?lang=en").json()
    assert inbox["unread"] == 1 and inbox["documents"][0]["title"] == "Exemption decision"
    doc_id = inbox["documents"][0]["id"]
    assert client.get(f"/api/inbox/{doc_id}").json()["read"] is True
    assert client.get("/api/inbox").json()["unread"] == 0
    notice = client.get("/api/notices").json()["documents"][0]
    assert notice["title"] == "予防接種のお知らせ"
    assert client.post(f"/api/notices/{notice['id']}/read").json()["read"] is True


def test_provider_rejects_bad_events_and_callers(env: PortalEnv) -> None:
    stub = exchange_pb2_grpc.ProviderStub(env.stack.channel("gateway", as_identity="registry"))
    with pytest.raises(grpc.RpcError) as info:
        stub.Deliver(
            exchange_pb2.DeliverRequest(
                token="t", event_type="inbox.document", event_id="e1", payload=to_struct({})
            )
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as info:
        stub.Provide(exchange_pb2.ProvideRequest(token="unknown", item="payout_account"))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    intruder = exchange_pb2_grpc.ProviderStub(env.stack.channel("gateway", as_identity="tax"))
    with pytest.raises(grpc.RpcError) as info:
        intruder.Provide(exchange_pb2.ProvideRequest(token="x", item="payout_account"))
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_payout_account_item_gives_the_agency_the_full_account(env: PortalEnv) -> None:
    resident = env.make_resident()
    client = env.login(resident)
    body = account(resident)
    proof = env.step_up(client, resident, "change_payout_account", body)
    assert client.put("/api/payout-account", json={**body, "step_up": proof}).status_code == 200
    stub = exchange_pb2_grpc.ProviderStub(env.stack.channel("gateway", as_identity="registry"))
    request = exchange_pb2.ProvideRequest(
        token=portal_token(env, client),
        item="payout_account",
        procedure="tax.refund",
        requester="tax",
        request_id="payout-1",
        recipient=recipient(env.var, "tax"),
    )
    data = open_provided(env.var, "portal", request, stub.Provide(request))
    assert data["account_number"] == "1234567" and data["confirmed_with_card"] is True


def test_business_delivery_by_a_resident_granted_token(env: PortalEnv) -> None:
    business_id, api_key = env.portal.businesses.register_business("株式会社みらい保険")
    _, other_key = env.portal.businesses.register_business("合同会社ほかの会社")
    resident = env.make_resident()
    client = env.login(resident)
    assert any(b["id"] == business_id for b in client.get("/api/businesses").json()["businesses"])
    assert client.post("/api/business-grants", json={"business_id": business_id}).status_code == 401
    proof = env.step_up(client, resident, "grant_business", {"business_id": business_id})
    grant = client.post("/api/business-grants", json={"business_id": business_id, "step_up": proof})
    assert grant.status_code == 201, grant.text
    token = grant.json()["delivery_token"]
    doc = {
        "delivery_token": token,
        "reference": "policy-2026-0001",
        "title": "保険料控除証明書",
        "body": "2026年分",
    }
    with env.client() as business:
        assert business.post("/api/business/inbox", json=doc).status_code == 401
        first = business.post("/api/business/inbox", json=doc, headers={"X-API-Key": api_key})
        assert first.status_code == 201, first.text
        again = business.post("/api/business/inbox", json=doc, headers={"X-API-Key": api_key})
        assert again.status_code == 200 and again.json() == {**first.json(), "created": False}
        stolen = business.post(
            "/api/business/inbox",
            json={**doc, "reference": "policy-2026-0002"},
            headers={"X-API-Key": other_key},
        )
        assert stolen.status_code == 404
        bad = business.post(
            "/api/business/inbox", json={**doc, "reference": "x"}, headers={"X-API-Key": api_key}
        )
        assert bad.status_code == 400
    documents = client.get("/api/inbox").json()["documents"]
    assert [d["sender"] for d in documents] == ["株式会社みらい保険"]
    grant_id = grant.json()["id"]
    assert client.delete(f"/api/business-grants/{grant_id}").json()["revoked"] is True
    with env.client() as business:
        late = business.post(
            "/api/business/inbox",
            json={**doc, "reference": "policy-2026-0003"},
            headers={"X-API-Key": api_key},
        )
    assert late.status_code == 404


# ------------------------------------------------------------ object-level authorisation


def test_another_residents_objects_are_not_found(env: PortalEnv) -> None:
    business_id, _ = env.portal.businesses.register_business("株式会社テスト送達")
    alice, bob = env.make_resident(), env.make_resident()
    a = env.login(alice)
    b = env.login(bob)
    token_a = portal_token(env, a)
    deliver(env, token_a, "inbox.document", {"title": "Aさんへの通知", "body": "..."})
    deliver(env, token_a, "notice", {"title": "Aさんへのお知らせ", "body": "..."})
    doc_id = a.get("/api/inbox").json()["documents"][0]["id"]
    notice_id = a.get("/api/notices").json()["documents"][0]["id"]
    proof = env.step_up(a, alice, "grant_business", {"business_id": business_id})
    grant_id = a.post(
        "/api/business-grants", json={"business_id": business_id, "step_up": proof}
    ).json()["id"]
    pending = a.post("/api/step-up", json={"action": "set_locks", "fields": {"locks": []}}).json()

    assert b.get(f"/api/inbox/{doc_id}").status_code == 404
    assert b.post(f"/api/notices/{notice_id}/read").status_code == 404
    assert b.delete(f"/api/business-grants/{grant_id}").status_code == 404
    assert b.get(f"/api/step-up/{pending['challenge_id']}").status_code == 404
    stolen = b.put(
        "/api/locks", json={"locks": [], "step_up": {"challenge_id": pending["challenge_id"]}}
    )
    assert stolen.status_code == 404
    assert b.get("/api/inbox").json()["documents"] == []
    assert b.get("/api/notices").json()["documents"] == []
    assert b.get("/api/business-grants").json()["grants"] == []
    # Alice's objects are untouched.
    assert a.get(f"/api/inbox/{doc_id}").status_code == 200
    assert a.get("/api/business-grants").json()["grants"][0]["revoked"] is False
    # Bob's my-information and log are his own: none of Alice's log entries show up.
    a.get("/api/me")
    b_entries = {e["index"] for e in b.get("/api/log").json()["entries"]}
    a_entries = {e["index"] for e in a.get("/api/log").json()["entries"]}
    assert a_entries and not (a_entries & b_entries)


def test_log_pages_newest_first_with_an_older_cursor(
    env: PortalEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exchange_log_usecases, "LOG_PAGE", 2)
    alice, bob = env.make_resident(), env.make_resident()
    a, b = env.login(alice), env.login(bob)
    a.get("/api/me")
    b.get("/api/me")  # Bob's entries lie between Alice's
    a.get("/api/me")
    a.get("/api/me")
    monkeypatch.setattr(exchange_log_usecases, "LOG_PAGE", 1000)
    everything = [e["index"] for e in a.get("/api/log").json()["entries"]]
    assert len(everything) >= 5 and everything == sorted(everything, reverse=True)
    monkeypatch.setattr(exchange_log_usecases, "LOG_PAGE", 2)

    seen: list[int] = []
    url = "/api/log"
    while True:
        page = a.get(url).json()
        assert page["checkpoint_verified"] and page["all_verified"]
        assert all(e["proof"] == "verified" for e in page["entries"])
        seen.extend(e["index"] for e in page["entries"])
        if page["older"] is None:
            break
        assert len(page["entries"]) == 2 and page["older"] == page["entries"][-1]["index"]
        url = f"/api/log?before={page['older']}"
    assert seen == everything

    # Filters apply to every page.
    first = a.get("/api/log?agency=municipality").json()
    assert all("municipality" in (e["requester"], e["provider"]) for e in first["entries"])
    older = a.get(f"/api/log?agency=municipality&before={first['older']}").json()
    assert older["entries"] and max(e["index"] for e in older["entries"]) < first["older"]
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert len(a.get(f"/api/log?from={today}&to={today}").json()["entries"]) == 2
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    assert a.get(f"/api/log?from={tomorrow}&before={everything[0]}").json()["entries"] == []

    # The page links to the next, older page and back to the newest.
    html = a.get("/log?agency=municipality").text
    assert f'href="/log?agency=municipality&amp;before={first["older"]}"' in html
    assert 'id="log-newest"' not in html
    older_html = a.get(f"/log?before={first['older']}").text
    assert 'id="log-newest"' in older_html

    # Alice's cursor and indexes give Bob only his own entries, never hers.
    b_older = {e["index"] for e in b.get(f"/api/log?before={everything[0]}").json()["entries"]}
    assert b_older and not (b_older & set(everything))
    for index in everything:
        assert not {e["index"] for e in b.get(f"/api/log?before={index}").json()["entries"]} & set(
            everything
        )


@pytest.mark.parametrize("before", ["-1", "abc", "1.5", "９", "1" * 19])
def test_bad_log_cursor_is_400(env: PortalEnv, before: str) -> None:
    client = env.login(env.make_resident())
    response = client.get("/api/log", params={"before": before})
    assert response.status_code == 400
    assert "before" in response.json()["error"]["message"]
