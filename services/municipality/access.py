"""Who may call what on the municipality (deny by default, identities from mTLS).

The registry calls the Provider interface; counter clerks and the admin CLI ("operator") call
the Municipality API. Nobody else reaches either.
"""

from __future__ import annotations

from mynumber_core.interceptors import AccessTable
from mynumber_core.provider import PROVIDER_ACCESS

_API = "/mynumber.municipality.v1.Municipality/"
API_METHODS = (
    "RegisterResident",
    "EnrolResident",
    "EnrolResidents",
    "GetResident",
    "GetHousehold",
    "RecordMove",
    "RecordMoveOut",
    "RecordDeath",
    "CertifyLongTermCare",
    "DeclareDisaster",
    "CompileSupportList",
    "ReissueNumber",
    "ListLetters",
)

ACCESS: AccessTable = {
    **PROVIDER_ACCESS,  # Provide, ProvideBatch, Deliver, GetSealingKey: registry only
    **{_API + method: frozenset({"operator"}) for method in API_METHODS},
}
