"""Alembic environment of the municipality database."""

from mynumber_core.migrations import run_env
from services.municipality.models import Base

run_env(Base.metadata)
