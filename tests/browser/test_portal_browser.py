"""The portal in a real browser (Playwright driving Debian's Chromium, never a downloaded one).

A resident registered at the municipality and enrolled at pension, tax and health opens the
login page, approves its one-time code with ``mynumber card approve``, sees data from all four
agencies, finds the exchange-log entries their visit created (proofs verified), applies for a
pension exemption (approving the step-up code with the CLI again) and reads the decision in the
inbox. Every page is screenshotted under ``test-output/screenshots/``.

Then every page, in Japanese and English, on a laptop and on a 390 px phone: the ``lang``
attribute follows the language switch, nothing scrolls sideways, "My information" shows no raw
snake_case key, and a basic accessibility check (what axe would flag first, without
downloading axe) passes: one h1 and no skipped heading level, every form control labelled,
every image with alt text, every button and link named, tables with captions and scoped
headers, unique ids, a skip link that works, a visible keyboard focus, and WCAG AA text
contrast computed from the rendered colours.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from playwright.sync_api import expect

from mynumber_cli.__main__ import cli
from services.gateway.web.routers.common import SESSION_COOKIE
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
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PAGES = {
    "me": "/me",
    "log": "/log",
    "notices": "/notices",
    "inbox": "/inbox",
    "payments": "/payments",
    "payout-account": "/payout-account",
    "applications": "/applications",
    "locks": "/locks",
    "businesses": "/businesses",
}
H1 = {
    "me": ("わたしの情報", "My information"),
    "log": ("やりとり履歴", "Exchange log"),
    "notices": ("お知らせ", "Notices"),
    "inbox": ("受信箱", "Inbox"),
    "payments": ("お支払い", "Payments"),
    "payout-account": ("公金受取口座", "Payout account"),
    "applications": ("申請", "Applications"),
    "locks": ("ロック", "Locks"),
    "businesses": ("民間送達サービス", "Business delivery"),
    "login": ("マイナンバーカードでログイン", "Log in with your My Number Card"),
}
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


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


def approve(env: PortalEnv, resident: CardHolder, code: str, number: str) -> str:
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
            "--number",
            number,
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
    number = page.locator("#match-number").inner_text().strip()
    assert re.fullmatch(r"[0-9]{2}", number)
    output = approve(env, resident, code, number)
    assert "approved (login)" in output
    page.wait_for_url(f"{env.url}/me")

    # My information: something from each of the four agencies, in words.
    assert page.locator("h1").inner_text() == "わたしの情報"
    for agency in env.agencies:
        ok = page.locator(f"section[data-provider='{agency}'][data-status='ok']")
        assert ok.count() >= 1, f"no data from {agency}"
    assert resident.demo.name_kana in page.content()
    facts = page.locator("section[data-item='basic_facts']")
    assert facts.locator("[data-field='name_kana'] dt").inner_text() == "フリガナ"
    assert facts.locator("[data-field='sex'] dd").inner_text() == (
        "男" if resident.demo.sex == "male" else "女"
    )
    year, month, day = (int(x) for x in resident.demo.birth_date.split("-"))
    assert facts.locator("[data-field='birth_date'] dd").inner_text() == f"{year}年{month}月{day}日"
    shot(page, "02-my-information.png")

    # The exchange log shows the visit's queries in words, each proof verified.
    page.get_by_role("link", name="やりとり履歴").click()
    page.wait_for_url(f"{env.url}/log")
    rows = page.locator("tr[data-procedure='portal.my_information']")
    # Entries newer than the newest checkpoint show as pending inclusion until one covers
    # them (within the registry's interval): reload until none is pending.
    deadline = time.monotonic() + 20
    while page.locator("tr[data-proof='pending']").count() and time.monotonic() < deadline:
        time.sleep(0.3)
        page.reload()
    assert rows.count() >= len(env.agencies)
    assert page.locator("tr[data-procedure='portal.my_information'] .bad").count() == 0
    first = rows.first
    assert "マイナポータルでの閲覧" in first.inner_text()
    assert "portal.my_information" not in first.inner_text()
    assert first.locator("td.proof").inner_text().strip() == "✔ 検証済み"
    assert first.locator("td.outcome").inner_text().strip() == "提供済み"
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
    # A locator wait, not wait_for_function: the portal's CSP forbids the eval that needs.
    expect(code_box).to_have_text(re.compile(r"\S"))
    step_code = code_box.inner_text().strip()
    shot(page, "10-step-up.png")
    output = approve(env, resident, step_code, page.locator("#stepup-number").inner_text().strip())
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


# --------------------------------------------------------------------- every page, both ways


@pytest.fixture(scope="module")
def session_cookie(env: PortalEnv) -> dict[str, str]:
    """A resident known to every agency, logged in with their card through the API."""
    resident = env.make_resident(enrol=("pension", "tax", "health"))
    client = env.login(resident)
    client.get("/me")  # one visit, so the exchange log has the portal's own entries
    value = client.cookies.get(SESSION_COOKIE)
    assert value
    client.close()
    return {"name": SESSION_COOKIE, "value": value, "url": env.url}


def open_page(browser: object, cookie: dict[str, str], viewport: dict[str, int]) -> object:
    """A fresh tab with the resident's session at this screen size."""
    context = browser.new_context(viewport=viewport)  # type: ignore[attr-defined]
    if cookie:
        context.add_cookies([cookie])
    page = context.new_page()
    page.set_default_timeout(40_000)
    return page


ACCESSIBILITY = (Path(__file__).with_name("accessibility_check.js")).read_text()


def check_page(page: object, lang: str) -> None:
    """``lang`` attribute, no sideways scrolling, the basic accessibility check."""
    assert page.get_attribute("html", "lang") == lang  # type: ignore[attr-defined]
    width = page.evaluate(  # type: ignore[attr-defined]
        "[document.scrollingElement.scrollWidth, window.innerWidth]"
    )
    assert width[0] <= width[1], f"{page.url} scrolls sideways: {width}"  # type: ignore[attr-defined]
    problems = page.evaluate(ACCESSIBILITY)  # type: ignore[attr-defined]
    assert problems == [], f"{page.url}: {problems}"  # type: ignore[attr-defined]


@pytest.mark.parametrize("device", ["laptop", "phone"])
def test_every_page_in_both_languages(
    env: PortalEnv, browser: object, session_cookie: dict[str, str], device: str
) -> None:
    page = open_page(browser, session_cookie, LAPTOP if device == "laptop" else PHONE)
    for name, path in PAGES.items():
        for lang in ("ja", "en"):
            page.goto(f"{env.url}{path}?lang={lang}")  # type: ignore[attr-defined]
            assert page.locator("h1").inner_text() == H1[name][lang == "en"]  # type: ignore[attr-defined]
            check_page(page, lang)
            shot(page, f"portal-{name}-{lang}-{device}.png")
        # The switch in the banner flips the language of this very page, and it sticks.
        page.locator("#lang-switch").click()  # type: ignore[attr-defined]
        expect(page.locator("html")).to_have_attribute("lang", "ja")  # type: ignore[attr-defined]
        assert page.url.split("?")[0] == f"{env.url}{path}"  # type: ignore[attr-defined]
        assert page.locator("h1").inner_text() == H1[name][0]  # type: ignore[attr-defined]
        page.goto(f"{env.url}{path}")  # type: ignore[attr-defined]
        assert page.get_attribute("html", "lang") == "ja"  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]


def test_login_page_in_both_languages(env: PortalEnv, browser: object) -> None:
    for device, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page = open_page(browser, {}, viewport)
        for lang in ("ja", "en"):
            page.goto(f"{env.url}/login?lang={lang}")  # type: ignore[attr-defined]
            assert page.locator("h1").inner_text() == H1["login"][lang == "en"]  # type: ignore[attr-defined]
            check_page(page, lang)
            shot(page, f"portal-login-{lang}-{device}.png")
        page.context.close()  # type: ignore[attr-defined]


def test_my_information_has_no_raw_keys(
    env: PortalEnv, browser: object, session_cookie: dict[str, str]
) -> None:
    page = open_page(browser, session_cookie, LAPTOP)
    for lang in ("ja", "en"):
        page.goto(f"{env.url}/me?lang={lang}")  # type: ignore[attr-defined]
        text = page.locator("main").inner_text()  # type: ignore[attr-defined]
        assert SNAKE.findall(text) == [], f"raw keys on /me ({lang})"
        labels = page.locator("main dt, main th").all_inner_texts()  # type: ignore[attr-defined]
        assert labels and all(label.strip() for label in labels)
        assert not [x for x in labels if re.fullmatch(r"[a-z_]+", x.strip())], labels
        # Amounts read as money, dates as dates, in the page's language.
        money = page.locator("main dd.kind-yen, main td.kind-yen").all_inner_texts()  # type: ignore[attr-defined]
        assert money, "no amount of money on /me"
        pattern = r"-?¥\d{1,3}(,\d{3})*" if lang == "en" else r"-?\d{1,3}(,\d{3})*円"
        assert all(re.fullmatch(pattern, m.strip()) or m.strip() == "—" for m in money), money
        assert any(m.strip() != "—" for m in money), money
        dates = page.locator("main dd.kind-date, main td.kind-date").all_inner_texts()  # type: ignore[attr-defined]
        date = r"\d{1,2} [A-Z][a-z]{2} \d{4}" if lang == "en" else r"\d{4}年\d{1,2}月\d{1,2}日"
        assert dates and all(re.fullmatch(date, d.strip()) or d.strip() == "—" for d in dates)
        # The exchange log: no procedure code or outcome code, the proof in its own column.
        page.goto(f"{env.url}/log?lang={lang}")  # type: ignore[attr-defined]
        body = page.locator("table.log tbody").inner_text()  # type: ignore[attr-defined]
        assert SNAKE.findall(body) == [] and "portal." not in body
        viewed = "Viewed on the portal" if lang == "en" else "マイナポータルでの閲覧"
        assert viewed in body
    page.context.close()  # type: ignore[attr-defined]


def test_keyboard_focus_is_visible_and_skip_link_works(
    env: PortalEnv, browser: object, session_cookie: dict[str, str]
) -> None:
    page = open_page(browser, session_cookie, LAPTOP)
    page.goto(f"{env.url}/me")  # type: ignore[attr-defined]
    page.keyboard.press("Tab")  # type: ignore[attr-defined]
    focused = page.evaluate(  # type: ignore[attr-defined]
        """() => { const el = document.activeElement, r = el.getBoundingClientRect(),
                  s = getComputedStyle(el);
          return [el.className, r.left >= 0 && r.top >= 0 && r.width > 0, s.outlineStyle]; }"""
    )
    assert focused == ["skip", True, "solid"], focused
    shot(page, "portal-focus-skip-link.png")
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    assert page.evaluate("document.activeElement.id") == "main"  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]


def test_chromium_is_the_system_one() -> None:
    assert shutil.which("chromium") == CHROMIUM or Path(CHROMIUM).exists()
