"""Operator commands for keys and security: rotate a service's data key (re-encrypting its
database while it serves) and list the registry's recent security events.

Both are added to ``mynumber admin`` and also grouped as ``mynumber keys``::

    mynumber admin rotate-data-key tax --url postgresql+psycopg://.../tax
    mynumber admin security-events --kind query_rate_anomaly
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
import grpc
from google.protobuf.json_format import MessageToDict
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_cli.admin import admin_group
from mynumber_cli.config import CliContext, pass_ctx
from mynumber_core.reencrypt import DEFAULT_BATCH, rotate_and_reencrypt
from mynumber_core.settings import SERVICE_NAMES


@click.command("rotate-data-key")
@click.argument("service", type=click.Choice(SERVICE_NAMES))
@click.option("--url", default=None, help="the service's database URL (default: var/data/)")
@click.option(
    "--keyring",
    "keyring_path",
    type=click.Path(path_type=Path),
    default=None,
    help="the service's keyring file (default: var/keys/<service>/keyring.json)",
)
@click.option("--batch", default=DEFAULT_BATCH, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--no-rotate", is_flag=True, help="only re-encrypt values still under an old key (resume)"
)
@pass_ctx
def rotate_data_key(
    ctx: CliContext,
    service: str,
    url: str | None,
    keyring_path: Path | None,
    batch: int,
    no_rotate: bool,
) -> None:
    """Make a new data key active for SERVICE and re-encrypt its database while it serves."""
    database = url or f"sqlite:///{ctx.var / 'data' / service}.db"
    keyring = keyring_path or ctx.var / "keys" / service / "keyring.json"
    if not keyring.exists():
        raise click.ClickException(f"keyring {keyring} not found; pass --keyring")
    report = rotate_and_reencrypt(
        service, database, keyring, batch=batch, rotate=not no_rotate, progress=click.echo
    )
    for line in report.lines():
        click.echo(line)


@click.command("security-events")
@click.option("--kind", default="", help="e.g. link_failed, rate_limited, query_rate_anomaly")
@click.option("--caller", default="", help="only events of this caller identity")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
@pass_ctx
def security_events(ctx: CliContext, kind: str, caller: str, limit: int, as_json: bool) -> None:
    """The registry's recent security events, newest first (no personal data in any)."""
    stub = pb_grpc.SecurityStub(ctx.channels("operator").channel("registry"))
    try:
        response = stub.ListSecurityEvents(
            pb.ListSecurityEventsRequest(kind=kind, caller=caller, limit=limit)
        )
    except grpc.RpcError as exc:
        raise click.ClickException(f"{exc.code().name}: {exc.details()}") from None
    for event in response.events:
        if as_json:
            click.echo(json.dumps(MessageToDict(event), ensure_ascii=False, sort_keys=True))
            continue
        at = event.at.ToDatetime(tzinfo=dt.UTC).isoformat(timespec="seconds")
        extra = f" number_index={event.number_index}" if event.number_index else ""
        detail = json.dumps(MessageToDict(event.detail), sort_keys=True) if event.detail else ""
        click.echo(
            f"{event.id:>6} {at} {event.kind:<18} {event.caller:<12} {event.status:<18} "
            f"{event.method} request_id={event.request_id}{extra} {detail}".rstrip()
        )
    if not response.events:
        click.echo("no security events")


@click.group("keys")
def keys_group() -> None:
    """Key rotation and security events (also under `mynumber admin`)."""


for _command in (rotate_data_key, security_events):
    admin_group.add_command(_command)
    keys_group.add_command(_command)
