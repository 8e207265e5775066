"""Smoke: login → my information → exchange log → inbox."""

from __future__ import annotations

from tests.integration.gateway.portal_env import PortalEnv


def test_login_me_log_inbox(env: PortalEnv) -> None:
    resident = env.make_resident()
    client = env.login(resident)
    me = client.get("/api/me")
    assert me.status_code == 200, me.text
    sections = {s["item"]: s for s in me.json()["sections"]}
    assert sections["basic_facts"]["status"] == "ok"
    assert sections["basic_facts"]["data"]["name_kana"] == resident.demo.name_kana
    log = client.get("/api/log")
    assert log.status_code == 200, log.text
    body = log.json()
    assert body["checkpoint_verified"] and body["all_verified"]
    mine = [e for e in body["entries"] if e["procedure"] == "portal.my_information"]
    assert {e["provider"] for e in mine} >= {"municipality"}
    assert client.get("/api/inbox").json()["documents"] == []
