"""Alembic environment of the health service."""

from mynumber_core.migrations import run_env
from services.health.models import Base

run_env(Base.metadata)
