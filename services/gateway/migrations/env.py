"""Alembic environment of the gateway."""

from mynumber_core.migrations import run_env
from services.gateway.models import Base

run_env(Base.metadata)
