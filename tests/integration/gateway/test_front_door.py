"""The portal's smaller gaps (issue 15, item 7), against the real running portal.

- cross-site unsafe requests (with or without a body) are refused and change nothing;
- revoking the card ends the sessions it opened, at once;
- an approval refused because another resident's card signed it burns the code;
- the cleanup job deletes expired challenges and sessions, and a code is unique only among
  pending codes (a partial unique index, on SQLite and PostgreSQL);
- the rate limits (per IP, tighter for logins and codes, per session) answer 429 before any
  work, tested on the guard itself with small limits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import MutableMapping
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from mynumber_core.card import action_message, login_challenge_message
from services.gateway import domain
from services.gateway.models import Challenge, PortalSession
from services.gateway.web.guard import GuardLimits, RequestGuard, cross_site_reason
from tests.integration.gateway.portal_env import PortalEnv, b64


def test_cross_site_unsafe_requests_are_refused_and_change_nothing(env: PortalEnv) -> None:
    resident = env.make_resident()
    client = env.login(resident)
    hostile = [
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://sub.example"},
        {"Origin": "null"},
    ]
    for headers in hostile:
        # Body-less: logout, mark a notice read; and one with a body.
        for method, path, body in (
            ("POST", "/api/logout", None),
            ("POST", "/api/notices/N0000000000000000000000001/read", None),
            ("PUT", "/api/locks", {"locks": []}),
        ):
            response = client.request(method, path, headers=headers, json=body)
            assert response.status_code == 403, (headers, path, response.text)
            assert "refused" in response.json()["error"]["message"]
    assert client.get("/api/session").status_code == 200  # still logged in: nothing happened
    # The portal's own pages (same origin) and non-browser clients (no header) go through.
    same = client.post(
        "/api/logout", headers={"Origin": env.origin, "Sec-Fetch-Site": "same-origin"}
    )
    assert same.status_code in (200, 204), same.text
    assert client.get("/api/session").status_code == 401


def test_cross_site_rule() -> None:
    own = "https://portal.example"
    assert cross_site_reason("GET", "https://evil.example", "cross-site", own) == ""
    assert cross_site_reason("POST", None, None, own) == ""
    assert cross_site_reason("POST", own, "same-origin", own) == ""
    assert cross_site_reason("POST", None, "none", own) == ""
    assert cross_site_reason("DELETE", own + "/", None, own) == ""
    assert cross_site_reason("PATCH", None, "same-site", own)
    assert cross_site_reason("post", "https://portal.example.evil", None, own)


def test_revoking_the_card_ends_its_sessions(env: PortalEnv) -> None:
    resident = env.make_resident()
    first, second = env.login(resident), env.login(resident)
    assert first.get("/api/session").status_code == 200
    env.revoke(resident)
    for client in (first, second):
        response = client.get("/api/session")
        assert response.status_code == 401
        assert "revoked" in response.json()["error"]["message"]
        assert client.get("/api/me").status_code == 401


def test_a_rejected_approval_burns_the_code(env: PortalEnv) -> None:
    owner, stranger = env.make_resident(), env.make_resident()
    client = env.login(owner)
    started = client.post(
        "/api/step-up", json={"action": "set_locks", "fields": {"locks": ["protect_claims"]}}
    ).json()
    code = started["code"]
    with env.client() as phone:
        what = phone.get(f"/api/approvals/{code}").json()
        message = action_message(what["action"], what["fields"], what["nonce"])
        card = stranger.card()
        body = {
            "certificate_pem": card.certificate_pem.decode(),
            "signature": b64(card.sign(message)),
        }
        refused = phone.post(f"/api/approvals/{code}", json=body)
        assert refused.status_code == 403, refused.text
        # The code is dead: the owner's own card cannot approve it any more.
        own = owner.card()
        body = {
            "certificate_pem": own.certificate_pem.decode(),
            "signature": b64(own.sign(message)),
        }
        again = phone.post(f"/api/approvals/{code}", json=body)
        assert again.status_code == 401, again.text
    with env.portal.db.transaction() as session:
        row = session.get(Challenge, started["challenge_id"])
        assert row is not None and row.status == "rejected" and row.used_at is not None


def _granting_resident(env: PortalEnv, business_id: str) -> tuple[Any, str]:
    resident = env.make_resident()
    client = env.login(resident)
    proof = env.step_up(client, resident, "grant_business", {"business_id": business_id})
    body = {"business_id": business_id, "step_up": proof}
    grant = client.post("/api/business-grants", json=body)
    assert grant.status_code == 201, grant.text
    return client, str(grant.json()["delivery_token"])


def test_a_business_reference_is_scoped_to_the_residents_grant(env: PortalEnv) -> None:
    business_id, api_key = env.portal.businesses.register_business("株式会社れいわ生命")
    first_client, first_token = _granting_resident(env, business_id)
    second_client, second_token = _granting_resident(env, business_id)
    doc = {"reference": "cert-2026-000001", "title": "保険料控除証明書", "body": "2026年分"}
    with env.client() as business:
        key = {"X-API-Key": api_key}
        one = business.post(
            "/api/business/inbox", json={**doc, "delivery_token": first_token}, headers=key
        )
        two = business.post(
            "/api/business/inbox", json={**doc, "delivery_token": second_token}, headers=key
        )
        again = business.post(
            "/api/business/inbox", json={**doc, "delivery_token": second_token}, headers=key
        )
    assert one.status_code == 201 and two.status_code == 201, (one.text, two.text)
    # The second resident gets their own document, not the first one's id.
    assert two.json()["document_id"] != one.json()["document_id"]
    assert again.status_code == 200 and again.json()["document_id"] == two.json()["document_id"]
    for client, doc_id in (
        (first_client, one.json()["document_id"]),
        (second_client, two.json()["document_id"]),
    ):
        ids = [d["id"] for d in client.get("/api/inbox").json()["documents"]]
        assert ids == [doc_id]


def test_cleanup_deletes_expired_challenges_and_sessions(env: PortalEnv) -> None:
    resident = env.make_resident()
    client = env.login(resident)
    started = client.post("/api/login/code").json()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    challenges, sessions = env.portal.auth.purge_expired(later)
    assert challenges >= 2 and sessions >= 1  # the login challenge, the code; the session
    with env.portal.db.transaction() as session:
        assert session.get(Challenge, started["challenge_id"]) is None
        remaining = session.query(PortalSession).filter(PortalSession.expires_at < later).count()
        assert remaining == 0
    assert env.portal.auth.purge_expired(later) == (0, 0)


def test_codes_are_unique_only_among_pending_codes(env: PortalEnv) -> None:
    client = env.login(env.make_resident())
    started = [
        client.post("/api/step-up", json={"action": "set_locks", "fields": {"locks": locks}}).json()
        for locks in ([], ["protect_claims"], ["block_online_changes"])
    ]
    first, second, third = started
    reused = domain.secret_hash(first["code"])
    with env.portal.db.transaction() as session:
        old = session.get(Challenge, first["challenge_id"])
        assert old is not None
        old.status, old.used_at = "used", dt.datetime.now(dt.UTC)
    # The first code is used (its row waits for the cleanup): a new pending code may have its
    # hash, and the code then names the pending challenge, not the used one.
    with env.portal.db.transaction() as session:
        row = session.get(Challenge, second["challenge_id"])
        assert row is not None
        row.code_hash = reused
    with env.client() as phone:
        shown = phone.get(f"/api/approvals/{first['code']}")
        assert shown.status_code == 200, shown.text
        assert shown.json()["fields"] == {"locks": "protect_claims"}
    # Two pending codes with one hash: refused by the database itself.
    with pytest.raises(IntegrityError), env.portal.db.transaction() as session:
        row = session.get(Challenge, third["challenge_id"])
        assert row is not None
        row.code_hash = reused
        session.flush()


# ------------------------------------------------------------------ rate limits (the guard)


def _scope(method: str, path: str, ip: str, cookie: str | None = None) -> dict[str, Any]:
    headers = [(b"host", b"portal.test")]
    if cookie:
        headers.append((b"cookie", f"mnp_session={cookie}".encode()))
    return {
        "type": "http",
        "method": method,
        "path": path,
        "headers": headers,
        "client": (ip, 40000),
        "query_string": b"",
    }


def _call(guard: RequestGuard, scope: dict[str, Any]) -> tuple[int, dict[str, str]]:
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    start = sent[0]
    return int(start["status"]), {k.decode(): v.decode() for k, v in start.get("headers", [])}


@pytest.fixture
def guarded() -> tuple[RequestGuard, list[str]]:
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    limits = GuardLimits(
        per_ip="5 per minute", login_per_ip="2 per minute", per_session="3 per minute"
    )
    return RequestGuard(app, origin="https://portal.test", limits=limits), reached


def test_login_codes_are_limited_per_address(guarded: tuple[RequestGuard, list[str]]) -> None:
    guard, reached = guarded
    codes = [_call(guard, _scope("POST", "/api/login/code", "10.0.0.1")) for _ in range(4)]
    assert [status for status, _ in codes] == [200, 200, 429, 429]
    assert codes[2][1]["retry-after"] == "60"
    assert reached == ["/api/login/code"] * 2  # refused requests never reach the portal
    # Another address is not affected.
    assert _call(guard, _scope("POST", "/api/login/code", "10.0.0.2"))[0] == 200


def test_requests_are_limited_per_address_and_per_session(
    guarded: tuple[RequestGuard, list[str]],
) -> None:
    guard, reached = guarded
    statuses = [_call(guard, _scope("GET", "/api/inbox", "10.0.1.1"))[0] for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    # One session spread over many addresses is still one session.
    spread = [
        _call(guard, _scope("GET", "/api/inbox", f"10.0.2.{i}", cookie="s3cr3t"))[0]
        for i in range(5)
    ]
    assert spread == [200, 200, 200, 429, 429]
    assert len(reached) == 5 + 3


def _approve(
    phone: Any, code: str, resident: Any, match_number: str | None, what: Any = None
) -> Any:
    what = what or phone.get(f"/api/approvals/{code}").json()
    message = login_challenge_message(what["nonce"], what["audience"], what["issued_at"])
    card = resident.card()
    body: dict[str, Any] = {
        "certificate_pem": card.certificate_pem.decode(),
        "signature": b64(card.sign(message)),
    }
    if match_number is not None:
        body["match_number"] = match_number
    return phone.post(f"/api/approvals/{code}", json=body)


def test_a_phished_code_shows_the_requesting_device_and_needs_the_number(env: PortalEnv) -> None:
    victim = env.make_resident()
    with env.client() as attacker, env.client() as phone:
        attacker.headers["User-Agent"] = "PhishKit/6.6 (X11; Linux x86_64)"
        started = attacker.post("/api/login/code").json()
        assert re.fullmatch(r"[0-9]{2}", started["match_number"])
        code = started["code"]
        # The approving device is shown who asked, from where and when, but never the number.
        what = phone.get(f"/api/approvals/{code}").json()
        assert what["device"] == "PhishKit/6.6 (X11; Linux x86_64)"
        assert what["requested_from"] == "127.0.0.1"
        requested = dt.datetime.fromisoformat(what["requested_at"])
        assert abs(requested - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
        # Not as a field, and not as any field's whole value (a digit pair may occur by chance
        # inside a longer number such as a timestamp, which shows nothing).
        assert "match_number" not in what
        assert started["match_number"] not in {str(value) for value in what.values()}
        # The victim does not see the attacker's screen: a guessed number burns the code.
        wrong = "10" if started["match_number"] != "10" else "11"
        refused = _approve(phone, code, victim, wrong)
        assert refused.status_code == 403 and "does not match" in refused.text
        assert phone.get(f"/api/approvals/{code}").status_code == 401  # burned
        right = _approve(phone, code, victim, started["match_number"], what)
        assert right.status_code == 401
        poll = {"challenge_id": started["challenge_id"], "poll_secret": started["poll_secret"]}
        assert attacker.post("/api/login/poll", json=poll).status_code == 401
        assert attacker.get("/api/session").status_code == 401
    # The resident's own screen: the right number logs the browser in.
    with env.client() as browser, env.client() as phone:
        started = browser.post("/api/login/code").json()
        missing = _approve(phone, started["code"], victim, None)
        assert missing.status_code == 403  # no number, no approval (and the code is burned)
        started = browser.post("/api/login/code").json()
        ok = _approve(phone, started["code"], victim, started["match_number"])
        assert ok.status_code == 200, ok.text
        poll = {"challenge_id": started["challenge_id"], "poll_secret": started["poll_secret"]}
        assert browser.post("/api/login/poll", json=poll).status_code == 200
        assert browser.get("/api/session").status_code == 200
