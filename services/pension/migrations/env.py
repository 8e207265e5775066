"""Alembic environment for the pension database."""

from mynumber_core.migrations import run_env
from services.pension.models import Base

run_env(Base.metadata)
