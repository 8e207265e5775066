"""Operator commands: register a resident at the counter, reissue a number, rotate keys."""

from __future__ import annotations

import uuid

import click
import grpc
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_cli.config import CliContext, pass_ctx

_SEX = {"male": pb.SEX_MALE, "female": pb.SEX_FEMALE}


def _fail(exc: grpc.RpcError) -> click.ClickException:
    return click.ClickException(f"{exc.code().name}: {exc.details()}")


@click.group("resident")
def resident_group() -> None:
    """Resident register operations (as the municipality's counter)."""


@resident_group.command("register")
@click.option("--name", required=True, help="full name as in the resident register")
@click.option("--birth-date", required=True, help="YYYY-MM-DD")
@click.option("--sex", type=click.Choice(sorted(_SEX)), required=True)
@click.option("--address", required=True)
@click.option("--idempotency-key", default=None, help="reuse to retry safely (default: random)")
@pass_ctx
def register(
    ctx: CliContext,
    name: str,
    birth_date: str,
    sex: str,
    address: str,
    idempotency_key: str | None,
) -> None:
    """Register a resident in the registry and print the issued My Number once."""
    stub = pb_grpc.RegistryStub(ctx.channels("municipality").channel("registry"))
    try:
        response = stub.RegisterResident(
            pb.RegisterResidentRequest(
                facts=pb.BasicFacts(
                    name=name, birth_date=birth_date, sex=_SEX[sex], address=address
                ),
                idempotency_key=idempotency_key or uuid.uuid4().hex,
            )
        )
    except grpc.RpcError as exc:
        raise _fail(exc) from None
    click.echo(f"my_number: {response.my_number}")
    click.echo("Give this number to the resident on the notification card; it is not stored here.")


@click.group("admin")
def admin_group() -> None:
    """Operator administration of the registry."""


@admin_group.command("rotate-key")
@click.argument("domain")
@pass_ctx
def rotate_key(ctx: CliContext, domain: str) -> None:
    """Start a new token-key version for DOMAIN; existing tokens keep working."""
    stub = pb_grpc.RegistryStub(ctx.channels("operator").channel("registry"))
    try:
        response = stub.RotateTokenKey(pb.RotateTokenKeyRequest(domain=domain))
    except grpc.RpcError as exc:
        raise _fail(exc) from None
    click.echo(f"{domain}: new links now get key version {response.key_version}")


@admin_group.command("reissue")
@click.argument("token")
@click.option("--reason", default="number leaked", show_default=True)
@pass_ctx
def reissue(ctx: CliContext, token: str, reason: str) -> None:
    """Reissue the number of the resident with municipality TOKEN (番号法 Art. 7(2))."""
    stub = pb_grpc.RegistryStub(ctx.channels("municipality").channel("registry"))
    try:
        response = stub.ReissueNumber(
            pb.ReissueNumberRequest(token=token, reason=reason, idempotency_key=uuid.uuid4().hex)
        )
    except grpc.RpcError as exc:
        raise _fail(exc) from None
    click.echo(f"new my_number: {response.my_number}")
    click.echo("The old number is now rejected everywhere; every agency token is unchanged.")
