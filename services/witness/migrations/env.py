"""Alembic environment of the witness."""

from mynumber_core.migrations import run_env
from services.witness.models import Base

run_env(Base.metadata)
