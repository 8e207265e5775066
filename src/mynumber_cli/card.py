"""``mynumber card``: issue a My Number Card at the counter, revoke it, inspect and check it.

``card issue`` is the municipality counter's step: the card's key pair is generated here, only
its CSR (which carries no personal data) goes to the registry, and the issued card is written
to a file sealed with the resident's 4-digit PIN. The PIN is asked for with hidden input unless
``--pin`` or ``MYNUMBER_CARD_PIN`` gives it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
import grpc
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_cli.config import CliContext, pass_ctx
from mynumber_core.card import (
    Card,
    CardError,
    CardRejected,
    load_card,
    make_csr,
    new_card_key,
    parse_serial,
    serial_hex,
    validate_pin,
    verify_card_signature,
    write_card_file,
)
from mynumber_core.errors import InvalidInput

PIN_ENV = "MYNUMBER_CARD_PIN"
RPC_TIMEOUT = 10.0


def _fail(exc: grpc.RpcError) -> click.ClickException:
    return click.ClickException(f"{exc.code().name}: {exc.details()}")


def _pin(given: str | None, *, confirm: bool = False) -> str:
    pin = given
    if pin is None:
        pin = click.prompt(
            "Card PIN (4 digits)", hide_input=True, confirmation_prompt=confirm, type=str
        )
    try:
        return validate_pin(pin or "")
    except CardError as exc:
        raise click.ClickException(exc.message) from None


def _open(path: Path, pin: str | None) -> Card:
    try:
        return load_card(path, _pin(pin))
    except CardError as exc:
        raise click.ClickException(exc.message) from None


def _cards(ctx: CliContext, identity: str) -> Any:
    return pb_grpc.CardsStub(ctx.channels(identity).channel("registry"))


def _day(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


_pin_option = click.option(
    "--pin",
    envvar=PIN_ENV,
    default=None,
    help=f"the card's 4-digit PIN (default: ${PIN_ENV}, else asked for with hidden input)",
)


@click.group("card")
def card_group() -> None:
    """My Number Card (user-authentication certificate): issue, revoke, show, check."""


@card_group.command("issue")
@click.option("--token", required=True, help="the municipality's token for the resident")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="where to write the card file",
)
@_pin_option
@click.option("--force", is_flag=True, help="overwrite an existing card file")
@pass_ctx
def issue(ctx: CliContext, token: str, out: Path, pin: str | None, force: bool) -> None:
    """Issue a card at the municipality counter (replaces the resident's previous card)."""
    if out.exists() and not force:
        raise click.ClickException(f"{out} exists; pass --force to replace it")
    pin = _pin(pin, confirm=True)
    key = new_card_key()
    try:
        response = _cards(ctx, "municipality").IssueCard(
            pb.IssueCardRequest(token=token, csr_pem=make_csr(key)), timeout=RPC_TIMEOUT
        )
    except grpc.RpcError as exc:
        raise _fail(exc) from None
    write_card_file(out, key, response.certificate_pem, response.ca_certificate_pem, pin)
    card = load_card(out, pin)
    click.echo(f"serial: {card.serial}")
    click.echo(f"valid: {_day(card.not_before)} to {_day(card.not_after)}")
    click.echo(f"card file: {out} (keep it like the card; the PIN opens it)")
    click.echo("Any earlier card of this resident has been revoked.")


@card_group.command("revoke")
@click.argument("serial")
@click.option("--token", required=True, help="the municipality's token for the card holder")
@pass_ctx
def revoke(ctx: CliContext, serial: str, token: str) -> None:
    """Revoke card SERIAL (lost or stolen), at the municipality counter."""
    try:
        normal = serial_hex(parse_serial(serial))
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from None
    try:
        _cards(ctx, "municipality").RevokeCard(
            pb.RevokeCardRequest(token=token, serial=normal), timeout=RPC_TIMEOUT
        )
    except grpc.RpcError as exc:
        raise _fail(exc) from None
    click.echo(f"card {normal} is revoked; it stops working once verifiers fetch the new CRL")


@card_group.command("show")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_pin_option
def show(file: Path, pin: str | None) -> None:
    """Show a card file's serial, validity and issuer (needs the PIN)."""
    card = _open(file, pin)
    now = dt.datetime.now(dt.UTC)
    state = "valid" if card.not_before <= now <= card.not_after else "outside its validity"
    click.echo(f"serial: {card.serial}")
    click.echo(f"subject: {card.certificate.subject.rfc4514_string()}")
    click.echo(f"issuer: {card.certificate.issuer.rfc4514_string()}")
    click.echo(f"not before: {_day(card.not_before)}")
    click.echo(f"not after: {_day(card.not_after)}")
    click.echo(f"status: {state} (revocation is checked by `mynumber card check`)")


@card_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_pin_option
@pass_ctx
def check(ctx: CliContext, file: Path, pin: str | None) -> None:
    """Check a card against the registry's current CRL by signing a local test message."""
    card = _open(file, pin)
    try:
        response = _cards(ctx, "operator").GetRevocationList(
            pb.GetRevocationListRequest(), timeout=RPC_TIMEOUT
        )
    except grpc.RpcError as exc:
        raise _fail(exc) from None
    message = b"mynumber-card-check\n" + card.serial.encode()
    try:
        verify_card_signature(
            card.certificate_pem,
            response.ca_certificate_pem,
            response.crl_pem,
            message,
            card.sign(message),
        )
    except CardRejected as exc:
        click.echo(f"rejected ({exc.reason}): {exc.message}")
        raise SystemExit(1) from None
    click.echo(f"ok: card {card.serial} is valid and not revoked")
