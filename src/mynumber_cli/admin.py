"""Operator commands: register a resident at the counter, reissue a number, rotate keys,
import and reconcile orphaned pension records and decide their review queue."""

from __future__ import annotations

import json
import uuid
from typing import TextIO

import click
import grpc
from google.protobuf import json_format
from mynumber.pension.v1 import pension_pb2, pension_pb2_grpc
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


IMPORT_CHUNK = 500
"""Records one ``AddRecords`` call files (each call is all or nothing)."""


def _ledger_lines(source: TextIO) -> list[tuple[int, pension_pb2.OrphanRecordEntry]]:
    entries = []
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            fields = json.loads(line)
            if not isinstance(fields, dict):
                raise ValueError("not a JSON object")
            entries.append((number, json_format.ParseDict(fields, pension_pb2.OrphanRecordEntry())))
        except (ValueError, json_format.ParseError) as exc:
            raise click.ClickException(
                f"line {number}: {type(exc).__name__}: {exc}. Each line is one JSON object with "
                "the fields of OrphanRecordEntry (see docs/pension-reconciliation.md)"
            ) from None
    if not entries:
        raise click.ClickException("the file holds no records; nothing was filed")
    return entries


@admin_group.command("import-orphans")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@pass_ctx
def import_orphans(ctx: CliContext, source: TextIO) -> None:
    """File old ledger records from SOURCE (JSON Lines, one record a line) in pension's orphan
    pool; records already filed are left as they are, so an import can be run again."""
    entries = _ledger_lines(source)
    stub = pension_pb2_grpc.OrphanRecordsStub(ctx.channels("operator").channel("pension"))
    added = already = 0
    for start in range(0, len(entries), IMPORT_CHUNK):
        chunk = entries[start : start + IMPORT_CHUNK]
        try:
            response = stub.AddRecords(
                pension_pb2.AddOrphanRecordsRequest(records=[e for _, e in chunk])
            )
        except grpc.RpcError as exc:
            raise click.ClickException(
                f"{exc.code().name}: {exc.details()} (records[n] counts from line "
                f"{chunk[0][0]}; lines {chunk[0][0]} to {chunk[-1][0]} were not filed, "
                f"the {added + already} before them were)"
            ) from None
        added += response.added
        already += response.already_filed
    click.echo(f"filed {added} records; {already} were already in the pool")
    click.echo("Next: `mynumber admin reconcile` sends the pool to the registry.")


@admin_group.command("reconcile")
@click.option("--batch-size", default=500, show_default=True, help="records a registry call")
@pass_ctx
def reconcile(ctx: CliContext, batch_size: int) -> None:
    """Send pension's orphaned records to the registry and report what it found."""
    stub = pension_pb2_grpc.OrphanRecordsStub(ctx.channels("operator").channel("pension"))
    last = None
    try:
        stream = stub.Reconcile(pension_pb2.ReconcileOrphansRequest(batch_size=batch_size))
        first = next(iter(stream), None)
        if first is None:
            raise click.ClickException("pension sent no progress; try again")
        with click.progressbar(length=max(first.total, 1), label="reconciling") as bar:
            bar.update(first.done)
            last = first
            for step in stream:
                bar.update(step.done - last.done)
                last = step
    except grpc.RpcError as exc:
        raise _fail(exc) from None
    click.echo(f"records: {last.total}")
    for band in sorted(last.bands, reverse=True):
        click.echo(f"  best candidate {band}: {last.bands[band]}")
    click.echo(f"  several candidates: {last.several} (review queue: {last.review})")
    click.echo(f"  no candidate: {last.none}")


@admin_group.command("review")
@click.option("--assign", "assign_to", type=int, default=0, help="give RECORD_ID to candidate N")
@click.option("--dismiss", is_flag=True, help="dismiss RECORD_ID's candidates (back to the pool)")
@click.option("--operator-id", default="operator", show_default=True, help="who decides")
@click.argument("record_id", required=False)
@pass_ctx
def review(
    ctx: CliContext, assign_to: int, dismiss: bool, operator_id: str, record_id: str | None
) -> None:
    """The review queue of orphaned pension records with several close candidates; with
    RECORD_ID and --assign N or --dismiss, decide one (see docs/pension-reconciliation.md)."""
    stub = pension_pb2_grpc.OrphanRecordsStub(ctx.channels("operator").channel("pension"))
    try:
        if record_id is None:
            if assign_to or dismiss:
                raise click.ClickException("--assign and --dismiss need the RECORD_ID to decide")
            items = stub.ReviewQueue(pension_pb2.ReviewQueueRequest()).items
            if not items:
                click.echo("The review queue is empty.")
            for item in items:
                click.echo(
                    f"{item.record_id}  {item.period_start} to {item.period_end}  "
                    f"{item.employer}  {item.months} months"
                )
                for c in item.candidates:
                    agreeing = ", ".join(c.agreeing) or "—"
                    click.echo(
                        f"  candidate {c.number}: probability {c.match_probability:.4f}; "
                        f"agreeing: {agreeing}"
                    )
            return
        response = stub.DecideReview(
            pension_pb2.DecideReviewRequest(
                record_id=record_id,
                assign_to=assign_to,
                dismiss=dismiss,
                operator_id=operator_id,
            )
        )
    except grpc.RpcError as exc:
        raise _fail(exc) from None
    if dismiss:
        click.echo(f"{record_id}: dismissed; back in the pool ({response.status})")
    else:
        click.echo(
            f"{record_id}: assigned to candidate {assign_to}, who is notified ({response.status})"
        )
