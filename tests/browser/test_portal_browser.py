"""The portal in a real browser (Playwright driving Debian's Chromium, never a downloaded one).

A resident registered at the municipality and enrolled at pension, tax and health opens the
login page, approves its one-time code with ``mynumber card approve``, sees data from all four
agencies, finds the exchange-log entries their visit created (proofs verified), applies for a
pension exemption (approving the step-up code with the CLI again) and reads the decision in the
inbox. Every page is screenshotted under ``test-output/screenshots/``.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mynumber_cli.__main__ import cli
from tests.integration.gateway.portal_env import AGENCIES, CardHolder, PortalEnv
from tests.support.databases import SqliteDatabases

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalEnv]:
    """Every agency that has landed, the registry and the gateway, on SQLite."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    var = tmp_path_factory.mktemp("browser")
    with PortalEnv(var, SqliteDatabases(var), AGENCIES).running() as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


def approve(env: PortalEnv, resident: CardHolder, code: str) -> str:
    """What the resident types in a terminal: ``mynumber card approve CODE``."""
    result = CliRunner().invoke(
        cli,
        [
            "--var",
            str(env.var),
            "card",
            "approve",
            code,
            "--card",
            str(resident.card_path),
            "--pin",
            resident.pin,
            "--portal",
            env.url,
            "--yes",
        ],
    )
    assert result.exit_code == 0, result.output
    return result.output


def shot(page: object, name: str) -> None:
    """Save a full-page screenshot."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)  # type: ignore[attr-defined]


def test_resident_journey(env: PortalEnv, browser: object) -> None:
    resident = env.make_resident(enrol=("pension", "tax", "health"))
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 900}, locale="ja-JP"
    )
    page = context.new_page()
    page.set_default_timeout(40_000)

    # Login: the page shows a one-time code; the card approves it from the terminal.
    page.goto(f"{env.url}/login")
    code = page.locator("#login-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    shot(page, "01-login.png")
    output = approve(env, resident, code)
    assert "approved (login)" in output
    page.wait_for_url(f"{env.url}/me")

    # My information: something from each of the four agencies.
    assert page.locator("h1").inner_text() == "わたしの情報"
    for agency in env.agencies:
        ok = page.locator(f"section[data-provider='{agency}'][data-status='ok']")
        assert ok.count() >= 1, f"no data from {agency}"
    assert resident.demo.name_kana in page.content()
    shot(page, "02-my-information.png")

    # The exchange log shows the visit's queries, each proof verified.
    page.get_by_role("link", name="やりとり履歴").click()
    page.wait_for_url(f"{env.url}/log")
    rows = page.locator("tr[data-procedure='portal.my_information']")
    assert rows.count() >= len(env.agencies)
    assert page.locator("tr[data-procedure='portal.my_information'] .bad").count() == 0
    assert "検証済み" in rows.first.inner_text()
    shot(page, "03-exchange-log.png")
    page.select_option("#agency", "tax")
    page.get_by_role("button", name="絞り込む").click()
    page.wait_for_url(re.compile(r".*/log\?agency=tax.*"))
    for row in page.locator("tbody tr").all():
        assert "税務署" in row.inner_text()

    # English, remembered across pages.
    page.goto(f"{env.url}/me?lang=en")
    assert page.locator("h1").inner_text() == "My information"
    page.goto(f"{env.url}/notices")
    assert page.locator("h1").inner_text() == "Notices"
    shot(page, "04-notices-en.png")
    page.goto(f"{env.url}/payments")
    shot(page, "05-payments-en.png")
    page.goto(f"{env.url}/payout-account")
    shot(page, "06-payout-account-en.png")
    page.goto(f"{env.url}/locks")
    shot(page, "07-locks-en.png")
    page.goto(f"{env.url}/businesses")
    shot(page, "08-businesses-en.png")
    page.goto(f"{env.url}/applications?lang=ja")

    # Apply for a pension exemption: the step-up code is approved with the card again.
    shot(page, "09-applications.png")
    page.locator("#apply-exemption").click()
    code_box = page.locator("#stepup-code")
    page.wait_for_function("document.getElementById('stepup-code').textContent.length > 0")
    step_code = code_box.inner_text().strip()
    shot(page, "10-step-up.png")
    output = approve(env, resident, step_code)
    assert "apply_pension_exemption" in output
    page.wait_for_selector("li[data-kind='pension_exemption']")

    # The decision arrives in the inbox (pension decides asynchronously).
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        env.gateway.relay.drain()  # type: ignore[union-attr]
        page.goto(f"{env.url}/inbox")
        if page.locator("a.item-link").count():
            break
        time.sleep(0.5)
    links = page.locator("a.item-link")
    assert links.count() >= 1, "no decision in the inbox"
    shot(page, "11-inbox.png")
    links.first.click()
    page.wait_for_url(re.compile(r".*/inbox/D.*"))
    assert "免除" in page.locator("#doc-title").inner_text()
    shot(page, "12-decision.png")

    # A phone-sized screen keeps every page usable.
    phone = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 390, "height": 844}, storage_state=context.storage_state()
    )
    small = phone.new_page()
    small.goto(f"{env.url}/log")
    assert small.locator("h1").is_visible()
    shot(small, "13-log-phone.png")
    small.goto(f"{env.url}/me")
    shot(small, "14-my-information-phone.png")
    phone.close()
    context.close()


def test_chromium_is_the_system_one() -> None:
    assert shutil.which("chromium") == CHROMIUM or Path(CHROMIUM).exists()
