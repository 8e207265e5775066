"""Passkeys in a real Chromium with a virtual authenticator (DevTools ``WebAuthn`` domain).

A resident logs in with the card (a one-time code approved with ``mynumber card approve``),
registers a passkey from "My information" — the card approves the registration (a
``register_passkey`` step-up code) and the registry verifies and keeps the key — then logs in
again with the passkey alone. The registry verifies that assertion itself over its own
challenge and opens the resident's grant, so the passkey session reaches /me data through the
registry; sensitive actions still need the card. The same passkey does not work from another
origin, and a phished login code shows the attacker's device and is burned by a wrong number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from playwright.sync_api import expect
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from mynumber_cli.__main__ import cli
from services.gateway.web.routers.common import SESSION_COOKIE
from tests.browser.test_portal_browser import ARGS, CHROMIUM, approve
from tests.integration.gateway.portal_env import AGENCIES, PortalEnv
from tests.support.databases import SqliteDatabases

pytestmark = pytest.mark.browser

AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalEnv]:
    """The stack and the portal served on ``localhost`` (WebAuthn needs a domain RP ID)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    var = tmp_path_factory.mktemp("passkeys")
    with PortalEnv(var, SqliteDatabases(var), AGENCIES, host="localhost").running() as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


def card_login(env: PortalEnv, page: Any, resident: Any) -> None:
    """Log in as the resident with the card (the code approved from the terminal)."""
    page.goto(f"{env.url}/login")
    code = page.locator("#login-code").inner_text().strip()
    number = page.locator("#match-number").inner_text().strip()
    assert "approved (login)" in approve(env, resident, code, number)
    page.wait_for_url(f"{env.url}/me")


def register_passkey(env: PortalEnv, page: Any, resident: Any) -> None:
    """Create a passkey and approve its registration with the card (the step-up code)."""
    page.locator("#passkey-register").click()
    code_box = page.locator("#stepup-code")
    expect(code_box).to_have_text(re.compile(r"\S"))
    number = page.locator("#stepup-number").inner_text().strip()
    output = approve(env, resident, code_box.inner_text().strip(), number)
    assert "register_passkey" in output
    expect(page.locator("#passkey-status")).to_have_attribute("data-state", "registered")


def _registry_passkeys(env: PortalEnv) -> int:
    engine = create_engine(env.stack.database("registry"), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM resident_passkeys")).scalar_one())
    finally:
        engine.dispose()


def test_passkey_register_and_login(env: PortalEnv, browser: Any) -> None:
    assert env.url.startswith("http://localhost:")
    resident = env.make_resident(enrol=("pension",))
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(40_000)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    authenticator_id = authenticator["authenticatorId"]

    # Without a card session no passkey can be added.
    refused = page.request.post(
        f"{env.url}/api/passkeys/register/options", headers={"Origin": env.url}
    )
    assert refused.status == 401

    card_login(env, page, resident)
    before = _registry_passkeys(env)
    register_passkey(env, page, resident)
    assert _registry_passkeys(env) == before + 1  # the registry holds the key
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert len(stored["credentials"]) == 1
    assert stored["credentials"][0]["rpId"] == "localhost"
    assert stored["credentials"][0]["isResidentCredential"] is True

    # Log out, then back in with the passkey alone.
    context.clear_cookies()
    assert page.request.get(f"{env.url}/api/session").status == 401
    page.goto(f"{env.url}/login")
    with page.expect_response(lambda r: r.url.endswith("/api/passkeys/login")) as answer:
        page.locator("#passkey-login").click()
    assert answer.value.status == 200
    cookies = [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
    assert len(cookies) == 1 and cookies[0]["httpOnly"]
    assert page.request.get(f"{env.url}/api/session").status == 200
    after = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert after["credentials"][0]["signCount"] >= 1

    # The registry opened the passkey session's grant: /me data comes through the registry.
    me = page.request.get(f"{env.url}/api/me")
    assert me.status == 200, me.text()
    sections = me.json()
    assert "municipality" in json.dumps(sections, ensure_ascii=False)
    # The login page itself goes on to /me after a passkey login; wait for it (a goto of our
    # own would race that navigation).
    page.wait_for_url(f"{env.url}/me")
    page.wait_for_load_state()
    assert page.locator("section[data-provider='municipality'][data-status='ok']").count() >= 1
    assert resident.demo.name_kana in page.content()
    # Sensitive actions still need a fresh card signature.
    unsigned = page.request.put(
        f"{env.url}/api/locks", headers={"Origin": env.url}, data={"locks": []}
    )
    assert unsigned.status == 401
    assert "card" in unsigned.json()["error"]["message"]

    # A replayed or forged assertion opens nothing: a made-up credential is refused.
    start = page.request.post(f"{env.url}/api/passkeys/login/options", headers={"Origin": env.url})
    assert start.status == 200
    bogus = page.request.post(
        f"{env.url}/api/passkeys/login",
        headers={"Origin": env.url},
        data={
            "challenge_id": start.json()["challenge_id"],
            "credential": {"id": "AAAA", "type": "public-key"},
        },
    )
    assert bogus.status in (400, 401)
    # Each challenge answers once.
    reused = page.request.post(
        f"{env.url}/api/passkeys/login",
        headers={"Origin": env.url},
        data={"challenge_id": start.json()["challenge_id"], "credential": {"id": "AAAA"}},
    )
    assert reused.status == 401
    assert "already used" in reused.json()["error"]["message"]
    context.close()


def test_passkey_is_bound_to_the_origin(env: PortalEnv, browser: Any) -> None:
    """The same portal reached at another origin (127.0.0.1) cannot use the passkey."""
    resident = env.make_resident()
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(40_000)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    card_login(env, page, resident)
    register_passkey(env, page, resident)
    context.clear_cookies()

    other = env.url.replace("localhost", "127.0.0.1")
    page.goto(f"{other}/login")
    page.locator("#passkey-login").click()
    expect(page.locator("#passkey-login-status")).to_have_attribute("data-state", "failed")
    assert not [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
    context.close()


def test_phished_code_shows_the_device_and_needs_the_number(env: PortalEnv, browser: Any) -> None:
    resident = env.make_resident()
    attacker = browser.new_context(user_agent="PhisherBrowser/6.6 (attacker)")
    page = attacker.new_page()
    page.set_default_timeout(40_000)
    page.goto(f"{env.url}/login")
    code = page.locator("#login-code").inner_text().strip()
    number = page.locator("#match-number").inner_text().strip()
    wrong = "10" if number != "10" else "11"
    # The victim approves the code they were sent, without the attacker's screen.
    result = CliRunner().invoke(
        cli,
        [
            "--var", str(env.var), "card", "approve", code,
            "--card", str(resident.card_path), "--pin", resident.pin,
            "--portal", env.url, "--yes", "--number", wrong,
        ],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "PhisherBrowser/6.6" in result.output
    assert "does not match" in result.output
    # The code is burned: even the right number no longer approves it.
    retry = CliRunner().invoke(
        cli,
        [
            "--var", str(env.var), "card", "approve", code,
            "--card", str(resident.card_path), "--pin", resident.pin,
            "--portal", env.url, "--yes", "--number", number,
        ],
    )  # fmt: skip
    assert retry.exit_code != 0
    assert not [c for c in attacker.cookies() if c["name"] == SESSION_COOKIE]
    attacker.close()
