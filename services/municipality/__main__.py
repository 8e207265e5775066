"""Run the municipality service: ``python -m services.municipality``."""

from mynumber_core.runtime import run_service
from services.municipality.wiring import build_app

run_service("municipality", build_app)
