"""``mynumber pension records``: pension records that may be yours, from a terminal.

It lists them (through the portal session that ``mynumber card login`` keeps), and confirms
or rejects one with the card: the portal's step-up challenge for ``pension_record_decision``
is checked here first (the action, the record and the decision are exactly what you asked
for), then signed with the card and sent with the decision, as the browser does.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import click
import httpx

from mynumber_cli.card import (
    PIN_ENV,
    _call,
    _open,
    _signature,
)
from mynumber_cli.config import CliContext, pass_ctx
from mynumber_cli.portal import SESSION_COOKIE, TIMEOUT, _session
from mynumber_core.card import action_message

ACTION = "pension_record_decision"
STATUS = {
    "notified": "waiting for your decision",
    "confirmed": "merged into your record",
    "rejected": "you said it is not yours",
    "decision_sent": "decision sent",
}


@click.group("pension")
def pension_group() -> None:
    """Your pension records on the portal."""


def _client(ctx: CliContext, session_file: Path | None) -> tuple[str, httpx.Client]:
    portal, cookie = _session(ctx, session_file)
    return portal, httpx.Client(base_url=portal, timeout=TIMEOUT, cookies={SESSION_COOKIE: cookie})


def _show(record: dict[str, Any]) -> str:
    return (
        f"{record['record_id']}  {record['period_start']} to {record['period_end']}  "
        f"{record['employer']}  {record['months']} months  "
        f"[{STATUS.get(record['status'], record['status'])}]"
    )


@pension_group.command("records")
@click.option("--confirm", "confirm_id", default=None, help="confirm that RECORD_ID is yours")
@click.option("--reject", "reject_id", default=None, help="say that RECORD_ID is not yours")
@click.option(
    "--card",
    "card_file",
    envvar="MYNUMBER_CARD_FILE",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the card file that signs a decision (default: $MYNUMBER_CARD_FILE)",
)
@click.option(
    "--pin",
    envvar=PIN_ENV,
    default=None,
    help=f"the card's 4-digit PIN (default: ${PIN_ENV}, else asked for with hidden input)",
)
@click.option("--yes", is_flag=True, help="sign without asking for confirmation")
@click.option(
    "--session-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="the session kept by `mynumber card login` (default: <var>/portal-session.json)",
)
@click.option("--json", "as_json", is_flag=True, help="print the portal's JSON")
@pass_ctx
def records(
    ctx: CliContext,
    confirm_id: str | None,
    reject_id: str | None,
    card_file: Path | None,
    pin: str | None,
    yes: bool,
    session_file: Path | None,
    as_json: bool,
) -> None:
    """List pension records that may be yours; with --confirm or --reject, decide on one
    with your card (a fresh signature over exactly that record and decision)."""
    if confirm_id and reject_id:
        raise click.ClickException("give --confirm or --reject, not both")
    portal, client = _client(ctx, session_file)
    with client:
        if not confirm_id and not reject_id:
            listed = _call(client, "GET", "/api/pension/records").json()
            if as_json:
                click.echo(json.dumps(listed, ensure_ascii=False, indent=2))
            elif not listed["records"]:
                click.echo("No pension records are waiting for you.")
            for record in [] if as_json else listed["records"]:
                click.echo(_show(record))
            return
        record_id = str(confirm_id or reject_id)
        decision = "confirm" if confirm_id else "reject"
        if card_file is None:
            raise click.ClickException(
                "a decision is signed with your card: give --card FILE (or $MYNUMBER_CARD_FILE)"
            )
        fields = {"record_id": record_id, "decision": decision}
        challenge = _call(
            client, "POST", "/api/step-up", json={"action": ACTION, "fields": fields}
        ).json()
        if challenge.get("action") != ACTION or challenge.get("fields") != fields:
            raise click.ClickException(
                "the portal asked to sign something else than this decision; refusing to sign"
            )
        message = action_message(ACTION, fields, str(challenge["nonce"]))
        if base64.b64decode(challenge["message_b64"]) != message:
            raise click.ClickException(
                "the portal's message to sign does not match this decision; refusing to sign"
            )
        what = "is yours" if decision == "confirm" else "is NOT yours"
        click.echo(f"Your card will sign that pension record {record_id} {what}.")
        if not yes and not click.confirm("Sign with your card?", default=False):
            raise click.ClickException("not signed")
        card = _open(card_file, pin, portal)
        done = _call(
            client,
            "POST",
            "/api/pension/records/decision",
            json={
                **fields,
                "step_up": {
                    "challenge_id": challenge["challenge_id"],
                    "certificate_pem": card.certificate_pem.decode(),
                    "signature": _signature(card, message),
                },
            },
        ).json()
    click.echo(_show(done))
    click.echo("Pension's answer will be in your inbox (`mynumber inbox`).")
