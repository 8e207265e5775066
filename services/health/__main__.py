"""Run the health insurer: ``python -m services.health``."""

from mynumber_core.runtime import run_service
from services.health.wiring import build_app

run_service("health", build_app)
