"""``/api/docs`` renders in Chromium from local files only, under the portal's strict CSP.

Debian's Chromium (driven by Playwright) opens the docs page of a running portal with every
request to another origin blocked: Swagger UI must load, start without an inline script (no
CSP violation in the console), fetch the OpenAPI document and list every operation it has.
The page is screenshotted to ``test-output/screenshots/api-docs.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.gateway.portal_env import PortalEnv
from tests.support.databases import SqliteDatabases

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalEnv]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    var = tmp_path_factory.mktemp("api-docs")
    with PortalEnv(var, SqliteDatabases(var), ()).running() as running:
        yield running


def test_api_docs_render_offline_and_list_every_operation(env: PortalEnv) -> None:
    from playwright.sync_api import sync_playwright

    head = httpx.get(f"{env.url}/api/docs")
    assert head.status_code == 200
    csp = head.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    schema = httpx.get(f"{env.url}/openapi.json").json()
    expected = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in METHODS
    }
    assert len(expected) > 10

    origin = urlsplit(env.url).netloc
    foreign: list[str] = []
    console: list[str] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.route("**/*", lambda r: _route(r, origin, foreign))
            page.goto(f"{env.url}/api/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=30_000)
            shown = page.eval_on_selector_all(
                ".opblock",
                """blocks => blocks.map(b => [
                    b.querySelector('.opblock-summary-method').textContent.trim(),
                    b.querySelector('.opblock-summary-path').getAttribute('data-path'),
                ])""",
            )
            title = page.text_content(".info .title") or ""
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "api-docs.png"), full_page=True)
        finally:
            browser.close()

    assert foreign == []
    violations = [line for line in console if "Content Security Policy" in line]
    assert violations == []
    assert schema["info"]["title"] in title
    assert {(method, path) for method, path in shown} == expected
    assert len(shown) == len(expected)


def _route(route: Any, origin: str, foreign: list[str]) -> None:
    """Let requests to the portal through; refuse and record every other origin."""
    if urlsplit(route.request.url).netloc != origin:
        foreign.append(route.request.url)
        route.abort()
    else:
        route.continue_()
