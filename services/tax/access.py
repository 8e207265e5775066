"""Who may call what on the tax service (deny by default).

The registry hub calls the Provider interface; counter clerks and the admin CLI ("operator")
call the service's own API. No other agency calls tax directly.
"""

from __future__ import annotations

from mynumber_core.interceptors import AccessTable
from mynumber_core.provider import PROVIDER_ACCESS

_TAX = "/mynumber.tax.v1.Tax/"

ACCESS: AccessTable = {
    **PROVIDER_ACCESS,  # Provide, ProvideBatch, Deliver, GetSealingKey: registry only
    **{
        _TAX + method: frozenset({"operator"})
        for method in (
            "RegisterTaxpayer",
            "RegisterTaxpayers",
            "RecordIncome",
            "RecordIncomes",
            "AssessYear",
            "IssueRefund",
            "IssueWithholdingSlip",
            "ReleaseHeldRefunds",
            "ListAlerts",
            "ApproveSharedAccount",
        )
    },
}
