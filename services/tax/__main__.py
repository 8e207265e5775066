"""Run the tax service: ``python -m services.tax``."""

from mynumber_core.runtime import run_service
from services.tax.wiring import build_app

run_service("tax", build_app)
