"""``mynumber card``: issue a My Number Card at the counter, revoke it, inspect and check it,
log in to the portal with it and approve a portal code (a browser login or a sensitive action).

``card issue`` is the municipality counter's step: the card's key pair is generated here, only
its CSR (which carries no personal data) goes to the registry, and the issued card is written
to a file sealed with the resident's 4-digit PIN through the registry's OPRF
(``mynumber-card/2``: the file alone cannot be opened, every PIN try is counted online and the
third wrong one locks the card). ``card unlock`` is the counter's reset of a locked card. The
PIN is asked for with hidden input unless ``--pin`` or ``MYNUMBER_CARD_PIN`` gives it.

Opening a card (``show``, ``check``, ``login``, ``approve``) takes one online try through the
portal (``--portal``), which relays it to the registry; an older ``mynumber-card/1`` file is
migrated on its first successful unlock.

``card login`` and ``card approve`` talk to the portal's JSON API (``--portal``, default the
``make run`` address). Before signing anything they check that a login challenge names the
portal being talked to as its audience, so a look-alike site relaying another portal's
challenge gets no signature; ``approve`` shows what the code asks for and signs exactly that.

Why about 410 lines: every ``mynumber card`` command (unlock, show, check, login, approve) is
one click group over one card file and its online PIN step; the PIN
protocol itself is in :mod:`mynumber_core.card_pin_client`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import grpc
import httpx
from cryptography import x509
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_cli.config import CliContext, pass_ctx
from mynumber_core import errors
from mynumber_core.card import (
    Card,
    CardError,
    CardRejected,
    PinAuthority,
    action_message,
    login_challenge_message,
    make_csr,
    new_card_key,
    parse_serial,
    seal_card_file,
    serial_hex,
    unlock_card,
    validate_pin,
    verify_card_signature,
)
from mynumber_core.card_pin_client import GrpcPinAuthority, PortalPinAuthority, portal_refusal
from mynumber_core.errors import InvalidInput

PIN_ENV = "MYNUMBER_CARD_PIN"
CARD_ENV = "MYNUMBER_CARD_FILE"
PORTAL_ENV = "MYNUMBER_PORTAL_URL"
DEFAULT_PORTAL = "http://127.0.0.1:8080"
SESSION_COOKIE = "mnp_session"
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


def _open(path: Path, pin: str | None, portal: str, authority: PinAuthority | None = None) -> Card:
    """Unlock the card file: one counted online try through the portal (or ``authority``)."""
    try:
        return unlock_card(path, _pin(pin), authority or PortalPinAuthority(portal, portal_client))
    except (CardError, errors.DomainError) as exc:
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


_card_option = click.option(
    "--card",
    "card_file",
    envvar=CARD_ENV,
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"the card file (default: ${CARD_ENV})",
)
_portal_option = click.option(
    "--portal",
    envvar=PORTAL_ENV,
    default=DEFAULT_PORTAL,
    show_default=True,
    help=f"the portal's address (or ${PORTAL_ENV})",
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
    # Fail before the registry call: a card issued but never written would still revoke the
    # resident's previous card.
    out.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(out.parent, os.W_OK):
        raise click.ClickException(f"cannot write to {out.parent}")
    key = new_card_key()
    try:
        response = _cards(ctx, "municipality").IssueCard(
            pb.IssueCardRequest(token=token, csr_pem=make_csr(key)), timeout=RPC_TIMEOUT
        )
    except grpc.RpcError as exc:
        raise _fail(exc) from None
    authority = GrpcPinAuthority(_cards(ctx, "municipality"))
    try:
        seal_card_file(
            out, key, response.certificate_pem, response.ca_certificate_pem, pin, authority
        )
    except (CardError, errors.DomainError) as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"serial: {response.serial}")
    certificate = x509.load_pem_x509_certificate(response.certificate_pem)
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    click.echo(f"valid: {_day(start)} to {_day(end)}")
    click.echo(f"card file: {out} (opens only online with the PIN; 3 wrong PINs lock the card)")
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


@card_group.command("unlock")
@click.argument("serial")
@click.option("--token", required=True, help="the municipality's token for the card holder")
@pass_ctx
def unlock(ctx: CliContext, serial: str, token: str) -> None:
    """Unlock card SERIAL after 3 wrong PINs, at the municipality counter (holder present)."""
    try:
        normal = serial_hex(parse_serial(serial))
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from None
    try:
        _cards(ctx, "municipality").UnlockCard(
            pb.UnlockCardRequest(token=token, serial=normal), timeout=RPC_TIMEOUT
        )
    except grpc.RpcError as exc:
        raise _fail(exc) from None
    click.echo(f"card {normal} is unlocked: its PIN may be tried 3 times again")


_counter_option = click.option(
    "--at-counter",
    is_flag=True,
    help="unlock through the registry as the municipality counter (the counter's terminal)",
)


def _authority(ctx: CliContext, at_counter: bool) -> PinAuthority | None:
    return GrpcPinAuthority(_cards(ctx, "municipality")) if at_counter else None


@card_group.command("show")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_pin_option
@_portal_option
@_counter_option
@pass_ctx
def show(ctx: CliContext, file: Path, pin: str | None, portal: str, at_counter: bool) -> None:
    """Show a card file's serial, validity and issuer (needs the PIN, online)."""
    card = _open(file, pin, portal, _authority(ctx, at_counter))
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
@_portal_option
@_counter_option
@pass_ctx
def check(ctx: CliContext, file: Path, pin: str | None, portal: str, at_counter: bool) -> None:
    """Check a card against the registry's current CRL by signing a local test message."""
    card = _open(file, pin, portal, _authority(ctx, at_counter))
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


# ------------------------------------------------------------------------------ the portal


def _origin(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.ClickException(f"--portal must be an http(s) URL, not {url!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


def portal_client(portal: str) -> httpx.Client:
    """An HTTP client for the portal's JSON API (tests replace this)."""
    return httpx.Client(base_url=_origin(portal), timeout=RPC_TIMEOUT)


def _call(client: httpx.Client, method: str, path: str, **kw: Any) -> httpx.Response:
    try:
        response = client.request(method, path, **kw)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach the portal: {exc}") from None
    refused = portal_refusal(response)
    if refused is not None:
        raise click.ClickException(refused)
    return response


def _check_audience(audience: str, portal: str) -> None:
    if _origin(audience) != _origin(portal):
        raise click.ClickException(
            f"the challenge is for {audience!r} but you are talking to {_origin(portal)!r}; "
            "refusing to sign (check --portal, or you may be on a look-alike site)"
        )


def _signature(card: Card, message: bytes) -> str:
    return base64.b64encode(card.sign(message)).decode()


@card_group.command("login")
@_card_option
@_pin_option
@_portal_option
@click.option(
    "--session-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="where to keep the session cookie (default: <var>/portal-session.json)",
)
@pass_ctx
def login(
    ctx: CliContext, card_file: Path, pin: str | None, portal: str, session_file: Path | None
) -> None:
    """Log in to the portal with the card: sign its login challenge."""
    card = _open(card_file, pin, portal)
    with portal_client(portal) as client:
        challenge = _call(client, "POST", "/api/login/challenge").json()
        _check_audience(challenge["audience"], portal)
        message = login_challenge_message(
            challenge["nonce"], challenge["audience"], int(challenge["issued_at"])
        )
        response = _call(
            client,
            "POST",
            "/api/login",
            json={
                "challenge_id": challenge["challenge_id"],
                "certificate_pem": card.certificate_pem.decode(),
                "signature": _signature(card, message),
            },
        )
    cookie = response.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise click.ClickException("the portal accepted the login but sent no session cookie")
    expires = response.json().get("expires_at", "")
    path = session_file or ctx.var / "portal-session.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        session = {"portal": _origin(portal), SESSION_COOKIE: cookie, "expires_at": expires}
        json.dump({**session, "card": card.serial}, fh)  # the card keys the kept log checkpoint
    click.echo(f"logged in with card {card.serial} until {expires}")
    click.echo(f"session kept in {path} (owner-only); it expires on its own")


@card_group.command("approve")
@click.argument("code")
@_card_option
@_pin_option
@_portal_option
@click.option("--yes", is_flag=True, help="sign without asking for confirmation")
@click.option(
    "--number",
    "match_number",
    default=None,
    help="the two-digit number shown next to the code on the screen that asked for it",
)
def approve(
    code: str, card_file: Path, pin: str | None, portal: str, yes: bool, match_number: str | None
) -> None:
    """Approve portal code CODE (a browser login or a sensitive action) with the card.

    Shown first: the address and device of the browser that asked for the code, and when. If
    that is not your own screen, someone sent you their code: do not approve it."""
    code = code.strip().replace(" ", "")
    if not 1 <= len(code) <= 16 or not all(c.isascii() and (c.isalnum() or c == "-") for c in code):
        raise click.ClickException("CODE is the short code the portal shows, e.g. K7QX-M3PA")
    with portal_client(portal) as client:
        what = _call(client, "GET", f"/api/approvals/{code}").json()
        if what["kind"] == "action":
            fields = {str(k): str(v) for k, v in (what.get("fields") or {}).items()}
            click.echo(f"This code asks your card to approve: {what['action']}")
            for name, value in sorted(fields.items()):
                click.echo(f"  {name}: {value}")
            message = action_message(what["action"], fields, what["nonce"])
        else:
            _check_audience(what["audience"], portal)
            click.echo(f"This code logs a browser in to {what['audience']} with your card.")
            message = login_challenge_message(
                what["nonce"], what["audience"], int(what["issued_at"])
            )
        click.echo(f"The code expires at {what['expires_at']}.")
        if what.get("requested_from") or what.get("device"):
            click.echo(
                f"Requested by the browser at {what.get('requested_from') or 'unknown'} "
                f"({what.get('device') or 'unknown device'}) at {what.get('requested_at') or '?'}."
            )
            click.echo("If that is not your own screen, do not approve: someone sent you a code.")
        if not yes and not click.confirm("Sign with your card?", default=False):
            raise click.ClickException("not approved")
        if match_number is None:
            match_number = click.prompt("Number shown next to the code on that screen").strip()
        card = _open(card_file, pin, portal)
        done = _call(
            client,
            "POST",
            f"/api/approvals/{code}",
            json={
                "certificate_pem": card.certificate_pem.decode(),
                "signature": _signature(card, message),
                "match_number": match_number,
            },
        ).json()
    click.echo(f"approved ({done.get('kind', what['kind'])}) with card {card.serial}")
