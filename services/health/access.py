"""Deny-by-default mTLS table: who may call which method of the health service.

The registry alone calls the Provider interface; insurer clerks and clinics (identity
"operator") call the insurer's own API. Nobody else may call anything.
"""

from __future__ import annotations

from mynumber.healthinsurance.v1 import health_insurance_pb2

from mynumber_core.interceptors import AccessTable
from mynumber_core.provider import PROVIDER_ACCESS

_API = health_insurance_pb2.DESCRIPTOR.services_by_name["HealthInsurance"]
SERVICE_NAME = _API.full_name
PROVIDER_SERVICE = "mynumber.exchange.v1.Provider"

ACCESS: AccessTable = {
    **PROVIDER_ACCESS,  # Provide, ProvideBatch, Deliver, GetSealingKey: registry only
    **{f"/{SERVICE_NAME}/{method.name}": frozenset({"operator"}) for method in _API.methods},
}
