"""Who may call what on the pension service (deny by default).

The registry hub calls the Provider interface; counter clerks and the admin CLI ("operator")
call the service's own API. Nobody else — in particular no other agency — calls pension
directly: exchanges go through the registry, where they are authorised and logged.
"""

from __future__ import annotations

from mynumber_core.interceptors import AccessTable
from mynumber_core.provider import PROVIDER_ACCESS

_PENSION = "/mynumber.pension.v1.Pension/"

ACCESS: AccessTable = {
    **PROVIDER_ACCESS,  # Provide, ProvideBatch, Deliver, GetSealingKey: registry only
    **{
        _PENSION + method: frozenset({"operator"})
        for method in (
            "Enrol",
            "GetRecord",
            "RecordContribution",
            "ApplyExemption",
            "FileClaim",
            "ReleaseHeldPayments",
            "ListAlerts",
            "ApproveSharedAccount",
        )
    },
    **{
        f"/mynumber.pension.v1.OrphanRecords/{method}": frozenset({"operator"})
        for method in ("AddRecords", "Reconcile", "ReviewQueue", "DecideReview")
    },
}
