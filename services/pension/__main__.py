"""Run the pension service: ``python -m services.pension``."""

from mynumber_core.runtime import run_service
from services.pension.wiring import build_app

run_service("pension", build_app)
