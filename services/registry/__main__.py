"""Run the registry: ``python -m services.registry``."""

from mynumber_core.runtime import run_service
from services.registry.wiring import build_app

run_service("registry", build_app)
