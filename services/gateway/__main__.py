"""Run the gateway: ``python -m services.gateway`` (gRPC provider + HTTP portal)."""

from services.gateway.runner import run_gateway

run_gateway()
