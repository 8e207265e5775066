"""Deny-by-default mTLS table of the gateway's gRPC side.

The gateway serves only the shared Provider interface (item ``payout_account`` and the events
for the inbox and notices), and only the registry may call it. Residents and businesses reach
the gateway over HTTP, never over gRPC.
"""

from __future__ import annotations

from mynumber_core.interceptors import AccessTable
from mynumber_core.provider import PROVIDER_ACCESS

PROVIDER_SERVICE = "mynumber.exchange.v1.Provider"

ACCESS: AccessTable = {
    **PROVIDER_ACCESS,  # Provide, ProvideBatch, Deliver, GetSealingKey: registry only
}
