"""``mynumber me``, ``mynumber log`` and ``mynumber inbox``: the portal from a terminal.

They use the session that ``mynumber card login`` keeps in ``<var>/portal-session.json``
(owner-only) and call the portal's JSON API. ``mynumber log`` does not take the portal's word:
it verifies the log's evidence itself (:mod:`mynumber_cli.logcheck`) with the pinned keys.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import click
import httpx

from mynumber_cli.config import CliContext, pass_ctx
from mynumber_cli.logcheck import LogFault, Trust, load_state, save_state, verify_log_response
from mynumber_cli.monitor import monitor
from mynumber_core.card_pin_client import portal_refusal

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
    refused = portal_refusal(response)
    if refused is not None:
        raise click.ClickException(refused)
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


@click.group("log", invoke_without_command=True)
@_session_option
@click.option("--agency", default=None, help="only entries where this agency asked or answered")
@click.option("--from", "date_from", default=None, help="YYYY-MM-DD")
@click.option("--to", "date_to", default=None, help="YYYY-MM-DD")
@click.option(
    "--trust",
    "trust_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="pinned log and witness keys (default: <var>/log-trust.json, written by `make run`)",
)
@click.option(
    "--quorum",
    type=click.IntRange(min=0),
    default=None,
    help="witness cosignatures required (default: the trust file's, i.e. all its witnesses)",
)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="where the last verified checkpoint is kept (default: <var>/log-state/<resident>.json)",
)
@pass_ctx
def log(
    ctx: CliContext,
    session_file: Path | None,
    agency: str | None,
    date_from: str | None,
    date_to: str | None,
    trust_file: Path | None,
    quorum: int | None,
    state_file: Path | None,
) -> None:
    """Your exchange log, verified on this computer: who asked whom for what, when and why.

    Every entry's leaf hash and audit path, the checkpoint's signature, the witnesses'
    cosignatures and the consistency with the checkpoint kept from the last run are checked
    here, with the pinned keys; a failure prints a loud warning and exits with status 2.
    ``mynumber log monitor`` replays the whole log instead (for auditors).
    """
    if click.get_current_context().invoked_subcommand is not None:
        return
    trust_path = trust_file or ctx.var / "log-trust.json"
    if trust_file is None and not trust_path.exists():
        _pin_published_keys(ctx, session_file, trust_path)
    try:
        trust = Trust.load(trust_path, quorum)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    state = state_file or _state_path(ctx, session_file)
    try:
        kept = load_state(state)
        data = _get(
            ctx,
            session_file,
            "/api/log",
            agency=agency,
            since_size=kept[0].size if kept else None,
            include_pending="true",
            **{"from": date_from, "to": date_to},
        )
        checked = verify_log_response(trust, data, kept[0] if kept else None)
    except LogFault as exc:
        _alarm(str(exc), state)
        raise SystemExit(2) from None
    save_state(state, checked.checkpoint, checked.note)
    witnesses = ", ".join(sorted(c.witness for c in checked.cosignatures)) or "none"
    click.echo(
        f"checkpoint: {checked.checkpoint.size} entries, signature verified with the pinned "
        f"key; cosigned by {len(checked.cosignatures)} witnesses ({witnesses}), "
        f"{trust.quorum} required"
    )
    if checked.extended_from is not None:
        click.echo(f"history: consistent with the checkpoint of size {checked.extended_from} kept")
    else:
        click.echo(f"history: first run; checkpoint kept in {state}")
    for entry in checked.entries:
        f = entry.fields
        status = "pending inclusion" if entry.pending else "verified here"
        click.echo(
            f"#{entry.index:>6} {str(f['time'])[:19]} {f['requester']:>12} → "
            f"{f['provider']:<12} {f['item']:<20} {f['procedure']:<28} {f['outcome']:<9} "
            f"{status}"
        )


log.add_command(monitor)


def _pin_published_keys(ctx: CliContext, session_file: Path | None, path: Path) -> None:
    """First use: pin the keys the portal publishes (check them out of band)."""
    keys = _get(ctx, session_file, "/.well-known/mynumber-log-keys")
    pinned = {k: keys[k] for k in ("origin", "log", "witnesses", "quorum") if k in keys}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(pinned, fh, indent=2)
    click.echo(
        f"first use: pinned the log key and {len(pinned.get('witnesses', []))} witness keys "
        f"the portal publishes in {path}; compare them with the published fingerprints:",
        err=True,
    )
    for vkey in [pinned.get("log"), *pinned.get("witnesses", [])]:
        click.echo(f"  {vkey}", err=True)


def _state_path(ctx: CliContext, session_file: Path | None) -> Path:
    """One kept checkpoint per resident: keyed by the portal and the card logged in."""
    path = session_file or ctx.var / "portal-session.json"
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        data = {}
    who = f"{data.get('portal', '')}|{data.get('card', path.resolve())}"
    return ctx.var / "log-state" / f"{hashlib.sha256(who.encode()).hexdigest()[:24]}.json"


def _alarm(message: str, state: Path) -> None:
    """The loud warning: red, on stderr, and what the resident should do."""
    bar = "!" * 78
    click.secho(bar, fg="red", bold=True, err=True)
    click.secho(
        "WARNING: THE EXCHANGE LOG DID NOT VERIFY ON THIS COMPUTER", fg="red", bold=True, err=True
    )
    click.secho(message, fg="red", err=True)
    click.secho(
        f"The checkpoint kept in {state} was not replaced. Keep it: with the portal's answer it "
        "is evidence. Report this to the Personal Information Protection Commission.",
        fg="red",
        err=True,
    )
    click.secho(bar, fg="red", bold=True, err=True)


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
