"""Entry point of the ``mynumber`` command: one group per area, each in its own module."""

from __future__ import annotations

from pathlib import Path

import click

from mynumber_cli.admin import admin_group, resident_group
from mynumber_cli.card import card_group
from mynumber_cli.config import DEFAULT_VAR, CliContext
from mynumber_cli.keys import keys_group
from mynumber_cli.number import number_group
from mynumber_cli.pension import pension_group
from mynumber_cli.portal import inbox as portal_inbox
from mynumber_cli.portal import log as portal_log
from mynumber_cli.portal import me as portal_me


@click.group()
@click.option(
    "--var",
    type=click.Path(path_type=Path),
    default=DEFAULT_VAR,
    show_default=True,
    help="folder with endpoints.json and the dev certificates (written by `make run`)",
)
@click.pass_context
def cli(ctx: click.Context, var: Path) -> None:
    """The My Number platform's command-line tool."""
    ctx.obj = CliContext(var=var)


cli.add_command(number_group)
cli.add_command(resident_group)
cli.add_command(admin_group)
cli.add_command(card_group)
cli.add_command(keys_group)
cli.add_command(portal_me)
cli.add_command(portal_log)
cli.add_command(portal_inbox)
cli.add_command(pension_group)


def main() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":
    main()
