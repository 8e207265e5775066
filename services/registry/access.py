"""Which mTLS identity may call which registry method (deny by default)."""

from __future__ import annotations

from mynumber_core.interceptors import ANY_PEER, AccessTable

_AGENCIES = frozenset({"municipality", "pension", "tax", "health"})
_DOMAINS = _AGENCIES | {"gateway"}


def _methods(service: str, table: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    return {f"/mynumber.registry.v1.{service}/{m}": who for m, who in table.items()}


ACCESS: AccessTable = {
    **_methods(
        "Registry",
        {
            "RegisterResident": frozenset({"municipality"}),
            "BulkRegister": frozenset({"municipality"}),
            "Link": _DOMAINS,
            "ResolveToken": _DOMAINS,
            "UpdateFacts": frozenset({"municipality"}),
            "ReissueNumber": frozenset({"municipality", "gateway"}),
            "RotateTokenKey": frozenset({"operator"}),
            "SetLocks": frozenset({"gateway"}),
            "IssueClaimPin": frozenset({"gateway"}),
            "VerifyClaimPin": frozenset({"gateway", "tax", "pension"}),
        },
    ),
    **_methods("Hub", {"Query": _DOMAINS, "BatchQuery": _DOMAINS, "Publish": _DOMAINS}),
    **_methods(
        "ExchangeLog",
        {
            "ListEntries": frozenset({"gateway"}),
            "GetCheckpoint": frozenset({ANY_PEER}),
            "GetConsistencyProof": frozenset({ANY_PEER}),
        },
    ),
    **_methods(
        "Cards",
        {
            "IssueCard": frozenset({"municipality"}),
            "RevokeCard": frozenset({"municipality", "gateway"}),
            "GetRevocationList": frozenset({ANY_PEER}),
            "IdentifyCard": frozenset({"gateway", "pension"}),
        },
    ),
    **_methods("Security", {"ListSecurityEvents": frozenset({"operator"})}),
}
