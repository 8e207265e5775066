"""Alembic migrations for every service, run as their own step (a Kubernetes Job in prod).

Usage: ``python -m mynumber_core.migrations <service> upgrade [--url URL]``. Each service has
``services/<name>/migrations/`` with a three-line ``env.py`` that calls :func:`run_env`.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any, Literal

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.types import TypeDecorator

from mynumber_core.db import make_engine


def script_location(service: str) -> Path:
    """The folder of a service's migration scripts (works from a checkout or an install)."""
    try:
        package = importlib.import_module(f"services.{service}")
    except ModuleNotFoundError:
        raise SystemExit(f"unknown service {service!r}") from None
    return Path(next(iter(package.__path__))) / "migrations"


def alembic_config(service: str, url: str) -> Config:
    """An Alembic config pointing at one service's migration scripts and database."""
    location = script_location(service)
    if not location.is_dir():
        raise SystemExit(f"service {service!r} has no migrations folder at {location}")
    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(service: str, url: str, revision: str = "head") -> None:
    """Bring one service's database to ``revision``."""
    command.upgrade(alembic_config(service, url), revision)


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render encrypted columns as their storage type so migrations need no keyring."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{type(obj.impl_instance).__name__}()"
    return False


def run_env(metadata: MetaData) -> None:
    """The body of every service's ``env.py``: online migrations on the configured URL."""
    url = context.config.attributes.get("database_url")
    if not url:
        raise RuntimeError("run migrations through mynumber_core.migrations, which sets the URL")
    engine = make_engine(url)
    if engine.dialect.name != "sqlite":
        engine.dispose()
        from sqlalchemy import create_engine

        engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=_render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from mynumber_core.settings import ServiceSettings

    parser = argparse.ArgumentParser(prog="python -m mynumber_core.migrations")
    parser.add_argument("service")
    parser.add_argument("action", choices=["upgrade"])
    parser.add_argument("--revision", default="head")
    parser.add_argument("--url", help="database URL (default: MYNUMBER_DATABASE_URL or SQLite)")
    args = parser.parse_args(argv)
    url = args.url or ServiceSettings(service_name=args.service).effective_database_url()
    upgrade(args.service, url, args.revision)


if __name__ == "__main__":
    main()
