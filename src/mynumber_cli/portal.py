"""``mynumber me``, ``mynumber log`` and ``mynumber inbox``: the portal from a terminal.

They use the session that ``mynumber card login`` keeps in ``<var>/portal-session.json``
(owner-only) and call the portal's JSON API; the exchange log's proofs are verified by the
portal and shown per entry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import httpx

from mynumber_cli.config import CliContext, pass_ctx

SESSION_COOKIE = "mnp_session"
TIMEOUT = 30.0


def _session(ctx: CliContext, session_file: Path | None) -> tuple[str, str]:
    path = session_file or ctx.var / "portal-session.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise click.ClickException(
            f"no portal session in {path}: log in first with `mynumber card login`"
        ) from None
    return str(data["portal"]), str(data[SESSION_COOKIE])


def _get(ctx: CliContext, session_file: Path | None, path: str, **params: Any) -> Any:
    portal, cookie = _session(ctx, session_file)
    with httpx.Client(base_url=portal, timeout=TIMEOUT, cookies={SESSION_COOKIE: cookie}) as c:
        try:
            response = c.get(path, params={k: v for k, v in params.items() if v})
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach the portal: {exc}") from None
    if response.status_code >= 400:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        raise click.ClickException(f"portal said {response.status_code}: {message}")
    return response.json()


_session_option = click.option(
    "--session-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="the session kept by `mynumber card login` (default: <var>/portal-session.json)",
)
_lang_option = click.option("--lang", type=click.Choice(["ja", "en"]), default="ja")


@click.command("me")
@_session_option
@_lang_option
@click.option("--json", "as_json", is_flag=True, help="print the raw JSON")
@pass_ctx
def me(ctx: CliContext, session_file: Path | None, lang: str, as_json: bool) -> None:
    """What each agency holds about you (the visit is recorded in your exchange log)."""
    data = _get(ctx, session_file, "/api/me", lang=lang)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for section in data["sections"]:
        click.echo(f"== {section['title']} ({section['provider']}) [{section['status']}]")
        for key, value in section["data"].items():
            shown = value if isinstance(value, str | int) else json.dumps(value, ensure_ascii=False)
            click.echo(f"   {key}: {shown}")


@click.command("log")
@_session_option
@click.option("--agency", default=None, help="only entries where this agency asked or answered")
@click.option("--from", "date_from", default=None, help="YYYY-MM-DD")
@click.option("--to", "date_to", default=None, help="YYYY-MM-DD")
@pass_ctx
def log(
    ctx: CliContext,
    session_file: Path | None,
    agency: str | None,
    date_from: str | None,
    date_to: str | None,
) -> None:
    """Your exchange log: who asked whom for what, when and why, with proof status."""
    data = _get(ctx, session_file, "/api/log", agency=agency, **{"from": date_from, "to": date_to})
    state = "verified" if data["checkpoint_verified"] else "NOT VERIFIED"
    click.echo(f"checkpoint: {data['checkpoint_size']} entries, signature {state}")
    for e in data["entries"]:
        click.echo(
            f"#{e['index']:>6} {e['time'][:19]} {e['requester']:>12} → {e['provider']:<12} "
            f"{e['item']:<20} {e['procedure']:<28} {e['outcome']:<9} proof {e['proof']}"
        )


@click.command("inbox")
@_session_option
@_lang_option
@click.option("--open", "open_id", default=None, help="show one document in full")
@pass_ctx
def inbox(ctx: CliContext, session_file: Path | None, lang: str, open_id: str | None) -> None:
    """Your inbox (e-communication box)."""
    if open_id:
        doc = _get(ctx, session_file, f"/api/inbox/{open_id}", lang=lang)
        click.echo(f"{doc['title']}\nfrom: {doc['sender']}  received: {doc['received_at']}\n")
        click.echo(doc["body"])
        return
    data = _get(ctx, session_file, "/api/inbox", lang=lang)
    click.echo(f"{len(data['documents'])} documents, {data['unread']} unread")
    for d in data["documents"]:
        mark = " " if d["read"] else "*"
        click.echo(f"{mark} {d['id']}  {d['received_at'][:16]}  {d['sender']}: {d['title']}")


COMMANDS = (me, log, inbox)
