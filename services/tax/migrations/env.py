"""Alembic environment for the tax database."""

from mynumber_core.migrations import run_env
from services.tax.models import Base

run_env(Base.metadata)
