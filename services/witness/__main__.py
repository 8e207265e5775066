"""Run a log witness: ``python -m services.witness``."""

from mynumber_core.runtime import run_service
from services.witness.wiring import build_app

run_service("witness", build_app)
