"""Where the CLI finds the platform: ``var/endpoints.json`` and the dev certificates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import click

from mynumber_core.channels import Channels
from mynumber_core.tls import TlsMaterial

DEFAULT_VAR = Path("var")


@dataclass
class CliContext:
    """Options shared by every subcommand."""

    var: Path

    def endpoints(self) -> dict[str, str]:
        """Service addresses written by ``make run``."""
        path = self.var / "endpoints.json"
        try:
            return dict(json.loads(path.read_text()))
        except FileNotFoundError:
            raise click.ClickException(
                f"{path} not found: start the platform with `make run` or pass --var"
            ) from None

    def channels(self, identity: str) -> Channels:
        """mTLS channels presenting an identity's certificate from ``var/tls/<identity>``."""
        return Channels(TlsMaterial(self.var / "tls" / identity), self.endpoints())


pass_ctx = click.make_pass_decorator(CliContext)
