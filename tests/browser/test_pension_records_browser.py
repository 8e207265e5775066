"""Finding a lost pension record, end to end in a real browser (Debian's Chromium through
Playwright; issue 13): an orphan record written by the resident long ago → the registry finds
the candidate → a notice on the portal → the resident confirms it on /pension/records with a
card signature (the step-up code approved with ``mynumber card approve``) → the merged months
on /me → the exchanges in /log, each proof verified in the browser. The records page passes
the portal's accessibility check in Japanese and English.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mynumber.pension.v1 import pension_pb2 as ppb
from mynumber.pension.v1 import pension_pb2_grpc as pgrpc
from playwright.sync_api import expect

from mynumber_core.db import Database
from mynumber_core.japanese import format_era, prefecture_of
from services.pension.usecases.orphans import OrphanInput, OrphanPool
from tests.browser.test_portal_browser import ARGS, CHROMIUM, approve, check_page, shot
from tests.integration.gateway.portal_env import PortalEnv
from tests.support.databases import SqliteDatabases

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalEnv]:
    """The registry, the municipality, pension and the gateway, on SQLite."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    var = tmp_path_factory.mktemp("browser-records")
    with PortalEnv(var, SqliteDatabases(var), ("municipality", "pension")).running() as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


def until(
    what: str, page: object, url: str, ready: Callable[[], bool], timeout: float = 45
) -> None:
    """Reload ``url`` until ``ready()`` (the hub delivers and the log checkpoints on threads)."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)  # type: ignore[attr-defined]
        if ready():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def months_on_me(page: object) -> int:
    text = page.locator(  # type: ignore[attr-defined]
        "section[data-item='pension_record'] [data-field='contribution_months'] dd"
    ).first.inner_text()
    return int(re.sub(r"\D", "", text) or "0")


def test_orphan_record_to_merged_months_in_chromium(env: PortalEnv, browser: object) -> None:
    resident = env.make_resident(enrol=("pension",))
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 900}, locale="ja-JP"
    )
    page = context.new_page()
    page.set_default_timeout(40_000)

    # Log in with the card (the login code approved from the terminal).
    page.goto(f"{env.url}/login")
    code = page.locator("#login-code").inner_text().strip()
    approve(env, resident, code, page.locator("#match-number").inner_text().strip())
    page.wait_for_url(f"{env.url}/me")
    before = months_on_me(page)

    # Long ago the resident paid contributions at a small firm; the record lost its owner.
    record_id = f"WEB{time.time_ns() % 10**9:09d}"
    demo = resident.demo
    db = Database.from_url(env.stack.settings_for("pension").effective_database_url())
    try:
        OrphanPool(db).add(
            [
                OrphanInput(
                    record_id,
                    demo.name_kana.replace("ー", ""),
                    demo.name,
                    format_era(dt.date.fromisoformat(demo.birth_date)),
                    demo.sex,
                    prefecture_of(demo.address),
                    "合資会社ブラウザ製作所",
                    "1987-04",
                    "1990-09",
                    42,
                )
            ]
        )
    finally:
        db.dispose()
    stub = pgrpc.OrphanRecordsStub(env.stack.channel("pension", as_identity="operator"))
    assert list(stub.Reconcile(ppb.ReconcileOrphansRequest()))[-1].finished

    # The notice on the portal: the period, the employer and the months, nothing else.
    title = "あなたのものかもしれない年金記録があります"
    until("the notice", page, f"{env.url}/notices", lambda: title in page.content())
    notice = page.locator("li.item", has_text=title).first
    text = notice.inner_text()
    assert record_id in text and "1987-04" in text and "合資会社ブラウザ製作所" in text
    assert "42" in text
    assert demo.name not in text and demo.birth_date not in text and demo.name_kana not in text
    shot(page, "records-01-notice.png")

    # The records page, checked for accessibility in both languages.
    page.goto(f"{env.url}/pension/records?lang=en")
    assert page.locator("h1").inner_text() == "Pension records"
    check_page(page, "en")
    page.goto(f"{env.url}/pension/records?lang=ja")
    assert page.locator("h1").inner_text() == "年金記録の確認"
    check_page(page, "ja")
    item = page.locator(f"li[data-record='{record_id}']")
    assert item.get_attribute("data-status") == "notified"
    assert item.locator(".record-period").inner_text() == "1987-04 〜 1990-09"
    assert item.locator(".record-employer").inner_text() == "合資会社ブラウザ製作所"
    assert item.locator(".record-months").inner_text() == "42"
    assert demo.name not in item.inner_text()
    shot(page, "records-02-waiting.png")

    # Confirm with the card: the step-up code is approved from the terminal.
    item.locator("button.decide-confirm").click()
    code_box = page.locator("#stepup-code")
    expect(code_box).to_have_text(re.compile(r"\S"))
    shot(page, "records-03-step-up.png")
    # The page polls for the approval and then sends the decision itself: wait for that
    # request before navigating (leaving the page would stop its script).
    with page.expect_response(lambda r: r.url.endswith("/api/pension/records/decision")) as sent:
        output = approve(
            env,
            resident,
            code_box.inner_text().strip(),
            page.locator("#stepup-number").inner_text().strip(),
        )
    assert "pension_record_decision" in output and record_id in output and "confirm" in output
    assert sent.value.status == 202
    until(
        "the merge",
        page,
        f"{env.url}/pension/records",
        lambda: (
            page.locator(f"li[data-record='{record_id}'][data-status='confirmed']").count() == 1
        ),
    )
    assert page.locator(f"li[data-record='{record_id}'] button").count() == 0
    shot(page, "records-04-confirmed.png")

    # /me: the record's months are in the contribution months, the record is listed.
    page.goto(f"{env.url}/me")
    assert months_on_me(page) == before + 42
    assert record_id in page.locator("section[data-item='pension_record']").inner_text()
    shot(page, "records-05-my-information.png")

    # /log: the comparison, the notice, the listing and the decision, each verified here.
    wanted = {"basic_facts", "notice", "candidate_records", "pension_record.decision"}
    rows = "tr[data-procedure='pension.record_reconciliation']"

    def logged() -> bool:  # listed, and no longer pending inclusion (a checkpoint covers them)
        found = page.locator(rows).all()
        items = {r.get_attribute("data-item") for r in found}
        return wanted <= items and all(r.get_attribute("data-proof") != "pending" for r in found)

    until("the exchanges on /log", page, f"{env.url}/log", logged, timeout=60)
    assert page.locator(f"{rows} .bad").count() == 0
    assert {p.get_attribute("data-proof") for p in page.locator(rows).all()} == {"verified"}
    assert "年金記録の照合" in page.locator(rows).first.inner_text()
    shot(page, "records-06-log.png")
    context.close()
