"""Who may call what on the tax service (deny by default).

The registry hub calls the Provider interface; counter clerks and the admin CLI ("operator")
call the service's own API. No other agency calls tax directly.
"""

from __future__ import annotations

from mynumber_core.interceptors import AccessTable

_PROVIDER = "/mynumber.exchange.v1.Provider/"
_TAX = "/mynumber.tax.v1.Tax/"

ACCESS: AccessTable = {
    _PROVIDER + "Provide": frozenset({"registry"}),
    _PROVIDER + "Deliver": frozenset({"registry"}),
    **{
        _TAX + method: frozenset({"operator"})
        for method in (
            "RegisterTaxpayer",
            "RecordIncome",
            "AssessYear",
            "IssueRefund",
            "IssueWithholdingSlip",
            "ReleaseHeldRefunds",
            "ListAlerts",
            "ApproveSharedAccount",
        )
    },
}
