"""The exchange-log page verifies the log in the browser (Playwright driving Debian's Chromium).

A resident's log page fetches the evidence (``/api/log``) and the published keys, and checks
everything with WebCrypto in the page (``/static/logverify.js``): the honest page marks every
entry "verified on this device" and names the checkpoint and both witnesses. Four faults are
injected into ``/api/log`` by route interception — a changed leaf, a changed audit-path node, a
broken checkpoint signature, and a forked history after the checkpoint this browser kept (signed
by the real log key and cosigned by both real witness keys) — and each shows as a red failure.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mynumber_core.checkpoint import Checkpoint, parse_body, sign_checkpoint, split_note
from mynumber_core.cosignature import add_signature_lines, cosign
from mynumber_core.keyring import Keyring
from mynumber_dev.keys import ensure_dev_keys, keyring_path
from mynumber_dev.witnesses import key_name, log_vkey
from services.gateway.web.routers.common import SESSION_COOKIE
from tests.integration.gateway.portal_env import PortalEnv
from tests.support.databases import SqliteDatabases
from tests.support.witnesses import running_witnesses

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
NAMES = ["witness-1", "witness-2"]
ORIGIN = "mynumber.local/exchange-log"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalEnv]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    var = tmp_path_factory.mktemp("log-verifier")
    ensure_dev_keys(var)
    database = SqliteDatabases(var)
    with running_witnesses(var, database, NAMES, [log_vkey(var)]) as witnesses:
        portal = PortalEnv(var, database, ("municipality",))
        portal.stack.endpoints.update(witnesses.endpoints)
        portal.stack.overrides["registry"] = {"witnesses": NAMES, "checkpoint_interval_ms": 50}
        portal.stack.overrides["gateway"]["witnesses"] = NAMES
        with portal.running() as running:
            yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def cookie(env: PortalEnv) -> str:
    resident = env.make_resident()
    client = env.login(resident)
    assert client.get("/api/me").status_code == 200  # exchanges about the resident
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # witnessing is asynchronous: wait for both
        body = client.get("/api/log").json()
        if body["entries"] and body["checkpoint"].count("\u2014 witness-") == 2:
            break
        time.sleep(0.1)
    value = client.cookies.get(SESSION_COOKIE)
    assert value
    return str(value)


def _page(env: PortalEnv, browser: Any, cookie: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    host = env.url.split("//", 1)[1].split(":")[0]
    context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "domain": host, "path": "/"}])
    return context.new_page()


def _open_log(page: Any, env: PortalEnv) -> dict[str, str]:
    page.goto(f"{env.url}/log?lang=en")
    page.wait_for_selector("#device-summary[data-status]")  # set once the check has run
    statuses = page.eval_on_selector_all("td.device", "cells => cells.map(c => c.dataset.status)")
    summary = page.locator("#device-summary")
    return {
        "summary": summary.inner_text(),
        "status": summary.get_attribute("data-status") or "",
        "rows": ",".join(statuses),
    }


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _intercept(page: Any, change: Callable[[dict[str, Any]], None]) -> None:
    def handle(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        change(body)
        route.fulfill(response=response, body=json.dumps(body))

    page.route("**/api/log?*", handle)
    page.route("**/api/log", handle)


def _flip(b64: str, at: int = 0) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_the_honest_page_is_verified_on_the_device(
    env: PortalEnv, browser: Any, cookie: str
) -> None:
    page = _page(env, browser, cookie)
    seen = _open_log(page, env)
    _shot(page, "log-verified-on-device.png")
    assert seen["status"] == "verified", seen
    assert seen["rows"] and set(seen["rows"].split(",")) == {"verified"}
    assert "Checked on this device" in seen["summary"]
    assert "witness-1.mynumber.local, witness-2.mynumber.local" in seen["summary"]
    assert "first visit" in seen["summary"]
    again = _open_log(page, env)  # the kept checkpoint is used on the next visit
    assert (
        again["status"] == "verified" and "consistent with the checkpoint kept" in again["summary"]
    )
    page.context.close()


def _change_leaf(body: dict[str, Any]) -> None:
    entry = body["entries"][0]
    leaf = json.loads(base64.b64decode(entry["leaf"]))
    leaf["reason"] = leaf["reason"] + " (edited)"
    entry["leaf"] = base64.b64encode(
        json.dumps(leaf, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    ).decode()
    entry["reason"] = leaf["reason"]


def _change_node(body: dict[str, Any]) -> None:
    entry = next(e for e in body["entries"] if e["audit_path"])
    entry["audit_path"][0] = _flip(entry["audit_path"][0])


def _break_signature(body: dict[str, Any]) -> None:
    note = body["checkpoint"]
    line = note.split("\n")[4]
    name, blob = line.rsplit(" ", 1)
    body["checkpoint"] = note.replace(line, f"{name} {_flip(blob, 10)}")


@pytest.mark.parametrize(
    ("fault", "change", "row_fails", "words"),
    [
        ("leaf", _change_leaf, True, "audit path does not lead to the signed root"),
        ("audit-node", _change_node, True, "audit path does not lead to the signed root"),
        ("signature", _break_signature, False, "signature does not verify with the pinned"),
    ],
)
def test_an_injected_fault_shows_red(
    env: PortalEnv,
    browser: Any,
    cookie: str,
    fault: str,
    change: Callable[[dict[str, Any]], None],
    row_fails: bool,
    words: str,
) -> None:
    page = _page(env, browser, cookie)
    _intercept(page, change)
    seen = _open_log(page, env)
    _shot(page, f"log-fault-{fault}.png")
    assert "failed" in seen["rows"].split(","), seen
    red = page.locator("td.device .bad").first
    assert red.evaluate("e => getComputedStyle(e).color") != page.locator("h1").evaluate(
        "e => getComputedStyle(e).color"
    )
    if row_fails:
        assert words in page.locator("td.device[data-status=failed]").first.inner_text()
    else:
        assert seen["status"] == "failed" and words in seen["summary"]
        assert set(seen["rows"].split(",")) == {"failed"}
    page.context.close()


def test_a_forked_history_after_the_kept_checkpoint_shows_red(
    env: PortalEnv, browser: Any, cookie: str
) -> None:
    page = _page(env, browser, cookie)
    assert _open_log(page, env)["status"] == "verified"  # this browser keeps the checkpoint
    log_key = Ed25519PrivateKey.from_private_bytes(
        Keyring.load(keyring_path(env.var, "registry")).keyset("log-signing").active_key
    )
    witness_keys = {
        key_name(w): Ed25519PrivateKey.from_private_bytes(
            Keyring.load(keyring_path(env.var, w)).keyset("witness-signing").active_key
        )
        for w in NAMES
    }

    def fork(body: dict[str, Any]) -> None:
        # Same size, another root: signed by the real log key and cosigned by both witness
        # keys (as if all were compromised); only the browser's kept checkpoint can tell.
        served = parse_body(split_note(body["checkpoint"])[0])
        other = Checkpoint(ORIGIN, served.size, bytes(reversed(served.root_hash)))
        note = sign_checkpoint(other, ORIGIN, log_key)
        lines = [cosign(other.body(), n, k, int(time.time())) for n, k in witness_keys.items()]
        body["checkpoint"] = add_signature_lines(note, lines)
        body["consistency"] = {"from_size": served.size, "to_size": served.size, "proof": []}

    _intercept(page, fork)
    seen = _open_log(page, env)
    _shot(page, "log-fault-fork.png")
    assert seen["status"] == "failed", seen
    assert "two different trees" in seen["summary"] or "does not extend" in seen["summary"]
    assert set(seen["rows"].split(",")) == {"failed"}
    page.context.close()
