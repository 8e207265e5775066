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
            # Not the portal: it learns its token from a card login (ResidentAuthority.OpenGrant).
            "Link": _AGENCIES,
            "LinkBatch": _AGENCIES,
            "ResolveToken": _AGENCIES,
            "UpdateFacts": frozenset({"municipality"}),
            "ReissueNumber": frozenset({"municipality", "gateway"}),
            "RotateTokenKey": frozenset({"operator"}),
            "SetLocks": frozenset({"gateway"}),
            "IssueClaimPin": frozenset({"gateway"}),
            "VerifyClaimPin": frozenset({"gateway", "tax", "pension"}),
        },
    ),
    **_methods(
        "Hub",
        {
            "Query": _DOMAINS,
            "BatchQuery": _DOMAINS,
            "Publish": _DOMAINS,
            "GetKeyDirectory": _DOMAINS,
            "ReportUnopenable": _DOMAINS,
        },
    ),
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
            "RevokeCard": frozenset({"municipality"}),
            "GetRevocationList": frozenset({ANY_PEER}),
            "IdentifyCard": frozenset({"gateway", "pension"}),
            # The card PIN's online step: the counter at issue, the portal for the resident.
            "EvaluateCardPin": frozenset({"municipality", "gateway"}),
            "ConfirmCardPin": frozenset({"municipality", "gateway"}),
            "UnlockCard": frozenset({"municipality"}),
            "IssueCardAccessChallenge": frozenset({"municipality", "gateway"}),
        },
    ),
    # The resident's authority (services/registry/resident_authority.py): card-signed grants
    # and step-ups the portal must show before acting in a resident's name.
    **_methods(
        "ResidentAuthority",
        {
            "IssueChallenge": frozenset({"gateway"}),
            "OpenGrant": frozenset({"gateway"}),
            "EndGrant": frozenset({"gateway"}),
            "RecordPayoutAccount": frozenset({"gateway"}),
            "GetPayoutAttestation": frozenset({"tax", "pension"}),
            "AuthoriseEvent": frozenset({"gateway"}),
            "RegisterPasskey": frozenset({"gateway"}),
            "OpenPasskeyGrant": frozenset({"gateway"}),
        },
    ),
    **_methods("Security", {"ListSecurityEvents": frozenset({"operator"})}),
    # Finding lost pension records (services/registry/reconcile.py): pension asks.
    **_methods(
        "Reconciliation",
        {"Reconcile": frozenset({"pension"}), "DeliverCandidateNotice": frozenset({"pension"})},
    ),
    # The whole log's leaves, for the auditor's monitor (mynumber log monitor).
    **_methods("LogAudit", {"GetLeaves": frozenset({"auditor"})}),
}
