"""``GET /api/log`` sends evidence, ``/.well-known/mynumber-log-keys`` publishes the keys, and
``mynumber log`` verifies the real portal's answer on the resident's side (SQLite and PostgreSQL).

The registry, the municipality, the gateway and two real witnesses run in-process; a resident
logs in with their card and visits "my information" (which logs exchanges). The evidence is
checked here with the CLI's own verifier; then the real ``mynumber log`` command runs twice
against the portal (first run keeps the checkpoint, the second proves consistency from it).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mynumber_cli.__main__ import cli
from mynumber_cli.logcheck import Trust, verify_log_response
from mynumber_dev.keys import ensure_dev_keys
from mynumber_dev.witnesses import log_vkey, witness_vkey
from services.gateway.web.routers.common import SESSION_COOKIE
from services.registry.checkpoints import Checkpointer
from tests.integration.gateway.portal_env import PortalEnv
from tests.support.witnesses import running_witnesses

NAMES = ["witness-1", "witness-2"]


def _env(tmp_path: Path, backend: Any) -> Iterator[PortalEnv]:
    ensure_dev_keys(tmp_path)
    with running_witnesses(tmp_path, backend, NAMES, [log_vkey(tmp_path)]) as witnesses:
        portal = PortalEnv(tmp_path, backend, ("municipality",))
        portal.stack.endpoints.update(witnesses.endpoints)
        portal.stack.overrides["registry"] = {"witnesses": NAMES, "checkpoint_interval_ms": 50}
        portal.stack.overrides["gateway"]["witnesses"] = NAMES
        with portal.running() as running:
            yield running


@pytest.fixture
def env(tmp_path: Path, backend: Any) -> Iterator[PortalEnv]:
    yield from _env(tmp_path, backend)


@pytest.fixture
def env_without_checkpoints(
    tmp_path: Path, backend: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PortalEnv]:
    """The same, with the registry's background checkpointer off: new entries stay pending."""
    monkeypatch.setattr(Checkpointer, "start", lambda self: None)
    yield from _env(tmp_path, backend)


@pytest.fixture
def env_with_manual_checkpoints(
    tmp_path: Path, backend: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[PortalEnv, list[Checkpointer]]]:
    """The same, with checkpoints signed only when the test calls ``tick()``."""
    made: list[Checkpointer] = []
    monkeypatch.setattr(Checkpointer, "start", lambda self: made.append(self))
    for env in _env(tmp_path, backend):
        yield env, made


def _trust_file(env: PortalEnv) -> dict[str, Any]:
    published = env.client().get("/.well-known/mynumber-log-keys")
    assert published.status_code == 200, published.text
    keys: dict[str, Any] = published.json()
    assert keys["log"] == log_vkey(env.var)  # what the registry's own key says
    assert keys["witnesses"] == [witness_vkey(env.var, name) for name in NAMES]
    assert keys["quorum"] == 2 and keys["origin"] == "mynumber.local/exchange-log"
    (env.var / "log-trust.json").write_text(json.dumps(keys))
    return keys


def _log_when_cosigned(client: Any, **params: Any) -> dict[str, Any]:
    """/api/log once its checkpoint carries both cosignatures (witnessing is asynchronous)."""
    deadline = time.monotonic() + 15
    while True:
        body: dict[str, Any] = client.get("/api/log", params=params).json()
        if body["checkpoint"].count("\u2014 witness-") == 2 or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_the_api_sends_evidence_that_verifies_on_the_client(env: PortalEnv) -> None:
    keys = _trust_file(env)
    resident = env.make_resident()
    client = env.login(resident)
    assert client.get("/api/me").status_code == 200  # logs exchanges about the resident
    body = _log_when_cosigned(client)
    assert body["entries"], body
    entry = body["entries"][0]
    leaf = json.loads(base64.b64decode(entry["leaf"]))
    assert leaf["index"] == entry["index"] and leaf["requester"] == entry["requester"]
    trust = Trust.load(env.var / "log-trust.json")
    checked = verify_log_response(trust, body, None)
    assert all(not e.pending for e in checked.entries)
    assert sorted(c.witness for c in checked.cosignatures) == [
        "witness-1.mynumber.local",
        "witness-2.mynumber.local",
    ]
    # A consistency proof from an earlier size the client names.
    kept = checked.checkpoint
    client.get("/api/me")
    later = _log_when_cosigned(client, since_size=kept.size)
    assert later["consistency"]["from_size"] == kept.size
    assert verify_log_response(trust, later, kept).extended_from == kept.size
    assert client.get("/api/log", params={"since_size": -1}).status_code in (400, 422)
    too_big = client.get("/api/log", params={"since_size": 10**9}).json()
    assert too_big["consistency"] is None
    schema = env.client().get("/openapi.json").json()
    described = schema["components"]["schemas"]["LogOut"]["properties"]
    assert "C2SP signed note" in described["checkpoint"]["description"]
    assert "/.well-known/mynumber-log-keys" in schema["paths"]
    assert keys["log"].startswith("mynumber.local/exchange-log+")


def test_mynumber_log_verifies_the_real_portal(env: PortalEnv) -> None:
    _trust_file(env)
    resident = env.make_resident()
    client = env.login(resident)
    client.get("/api/me")
    _log_when_cosigned(client)
    session = {
        "portal": env.url,
        SESSION_COOKIE: client.cookies.get(SESSION_COOKIE),
        "card": "test-card",
    }
    (env.var / "portal-session.json").write_text(json.dumps(session))
    first = CliRunner().invoke(cli, ["--var", str(env.var), "log"])
    assert first.exit_code == 0, first.output
    assert "signature verified with the pinned key; cosigned by 2 witnesses" in first.output
    assert "verified here" in first.output and "first run" in first.output
    client.get("/api/me")
    _log_when_cosigned(client)
    time.sleep(0.3)
    second = CliRunner().invoke(cli, ["--var", str(env.var), "log"])
    assert second.exit_code == 0, second.output
    assert "history: consistent with the checkpoint of size" in second.output


def test_entries_newer_than_the_checkpoint_are_pending_inclusion(
    env_without_checkpoints: PortalEnv,
) -> None:
    env = env_without_checkpoints
    _trust_file(env)
    resident = env.make_resident()
    client = env.login(resident)
    client.get("/api/me")
    body = client.get("/api/log", params={"include_pending": "true"}).json()
    assert body["entries"] and all(e["pending"] for e in body["entries"]), body
    assert all(e["audit_path"] == [] and e["proof"] == "pending" for e in body["entries"])
    checked = verify_log_response(Trust.load(env.var / "log-trust.json"), body, None)
    assert all(e.pending for e in checked.entries)
    session = {"portal": env.url, SESSION_COOKIE: client.cookies.get(SESSION_COOKIE), "card": "c"}
    (env.var / "portal-session.json").write_text(json.dumps(session))
    result = CliRunner().invoke(cli, ["--var", str(env.var), "log"])
    assert result.exit_code == 0, result.output
    assert "pending inclusion" in result.output and "verified here" not in result.output


def _rows(html: str) -> list[tuple[str, str]]:
    """(index, proof) of every row of the server-rendered exchange log."""
    return re.findall(r'<tr id="entry-(\d+)"[^>]* data-proof="(\w+)"', html)


def test_the_log_page_shows_pending_entries_then_verified(
    env_with_manual_checkpoints: tuple[PortalEnv, list[Checkpointer]],
) -> None:
    """Issue 10: the page does not wait for a checkpoint; entries newer than the newest one
    are listed as pending inclusion, and as verified once a checkpoint covers them."""
    env, checkpointers = env_with_manual_checkpoints
    resident = env.make_resident()
    client = env.login(resident)
    assert client.get("/me").status_code == 200  # exchanges about the resident
    # Without pending rows the page would list nothing here (no checkpoint covers them).
    page = client.get("/log?lang=en")
    assert page.status_code == 200
    rows = _rows(page.text)
    assert rows and {proof for _, proof in rows} == {"pending"}, rows
    assert "Pending inclusion" in page.text and "Proof failed" not in page.text
    assert 'id="pending-help"' in page.text
    assert "取り込み待ち" in client.get("/log?lang=ja").text
    (checkpointer,) = checkpointers
    assert checkpointer.tick() is not None  # a checkpoint now covers every entry
    after = client.get("/log?lang=en")
    covered = _rows(after.text)
    assert [i for i, _ in covered] == [i for i, _ in rows]
    assert {proof for _, proof in covered} == {"verified"}, covered
    assert "Pending inclusion" not in after.text and 'id="pending-help"' not in after.text
    # A later visit reuses the entries verified above and asks only for newer ones: the new
    # ones pending, then verified, and the page lists what the API's full page lists.
    assert client.get("/me").status_code == 200
    later = _rows(client.get("/log?lang=en").text)
    assert later[len(later) - len(covered) :] == covered
    assert {proof for _, proof in later[: len(later) - len(covered)]} == {"pending"}
    assert checkpointer.tick() is not None
    final = _rows(client.get("/log?lang=en").text)
    assert {proof for _, proof in final} == {"verified"}, final
    api = client.get("/api/log", params={"include_pending": "true"}).json()["entries"]
    assert [int(i) for i, _ in final] == [e["index"] for e in api]
