"""Who may call what on the pension service (deny by default).

The registry hub calls the Provider interface; counter clerks and the admin CLI ("operator")
call the service's own API. Nobody else — in particular no other agency — calls pension
directly: exchanges go through the registry, where they are authorised and logged.
"""

from __future__ import annotations

from mynumber_core.interceptors import AccessTable

_PROVIDER = "/mynumber.exchange.v1.Provider/"
_PENSION = "/mynumber.pension.v1.Pension/"

ACCESS: AccessTable = {
    _PROVIDER + "Provide": frozenset({"registry"}),
    _PROVIDER + "Deliver": frozenset({"registry"}),
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
}
