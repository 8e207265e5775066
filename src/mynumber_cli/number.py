"""``mynumber number check``: validate numbers offline (format and check digit)."""

from __future__ import annotations

import sys

import click

from mynumber_core.mynumber import InvalidMyNumber, validate


def _check(raw: str) -> str | None:
    try:
        validate(raw)
    except InvalidMyNumber as exc:
        return exc.message
    return None


@click.group("number")
def number_group() -> None:
    """Work with My Numbers."""


@number_group.command("check")
@click.argument("number", required=False)
def check(number: str | None) -> None:
    """Print `valid` or `invalid: REASON` for NUMBER, or for each line of stdin.

    Exit status 0 only when every number is valid.
    """
    lines = [number] if number is not None else sys.stdin.read().splitlines()
    all_valid = bool(lines)
    for line in lines:
        reason = _check(line)
        if reason is None:
            click.echo("valid")
        else:
            all_valid = False
            click.echo(f"invalid: {reason}")
    sys.exit(0 if all_valid else 1)
