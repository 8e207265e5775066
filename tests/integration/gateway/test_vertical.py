"""Smoke: login → my information → exchange log → inbox."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from mynumber_cli.__main__ import cli
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


def test_cli_login_me_log_inbox(env: PortalEnv, tmp_path: Path) -> None:
    resident = env.make_resident()
    session = tmp_path / "session.json"
    common = ["--var", str(env.var)]
    runner = CliRunner()
    login = runner.invoke(
        cli,
        [
            *common,
            "card",
            "login",
            "--card",
            str(resident.card_path),
            "--pin",
            resident.pin,
            "--portal",
            env.url,
            "--session-file",
            str(session),
        ],
    )
    assert login.exit_code == 0, login.output
    me = runner.invoke(cli, [*common, "me", "--session-file", str(session), "--lang", "en"])
    assert me.exit_code == 0, me.output
    assert "Resident record (municipality) [ok]" in me.output
    log = runner.invoke(
        cli, [*common, "log", "--session-file", str(session), "--agency", "municipality"]
    )
    assert log.exit_code == 0 and "portal.my_information" in log.output
    assert "signature verified" in log.output and "proof failed" not in log.output
    inbox = runner.invoke(cli, [*common, "inbox", "--session-file", str(session)])
    assert inbox.exit_code == 0 and "0 documents" in inbox.output
