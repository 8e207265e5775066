"""Alembic environment for the registry database."""

from mynumber_core.migrations import run_env
from services.registry import (
    abuse_models,  # noqa: F401  (abuse tables are in Base.metadata)
    card_models,  # noqa: F401  (the cards table is in Base.metadata)
    claim_pins,  # noqa: F401  (claim PIN tables are in Base.metadata)
    grant_models,  # noqa: F401  (resident grants and challenges are in Base.metadata)
)
from services.registry.models import Base

run_env(Base.metadata)
