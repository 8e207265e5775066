"""Rules of the resident register, one module per concern (no gRPC, no SQL).

- ``identifiers``: address number and household number;
- ``inputs``: dates, idempotency keys, audit text;
- ``residents``: the registration form, kana, foreign residents, register status;
- ``households``: 続柄 and one address per household;
- ``areas``: prefecture / city / ward of an address;
- ``care``: long-term care certification;
- ``disasters``: victim support and the evacuation support list.

Every validator raises :class:`~mynumber_core.errors.InvalidInput` with a message that names
the field and the rule and never echoes the value. The names are re-exported here so callers
write ``domain.X``.
"""

from __future__ import annotations

from mynumber_core.facts import MAX_KANA, parse_name_kana
from services.municipality.domain.areas import (
    DESIGNATED_CITIES,
    PREFECTURES,
    Area,
    AreaLevel,
    address_area,
    parse_disaster_area,
)
from services.municipality.domain.care import (
    CARE_MAX_VALIDITY_MONTHS,
    CARE_MIN_AGE,
    CareCertification,
    CareLevel,
    current_certification,
)
from services.municipality.domain.disasters import (
    BASE_SUPPORT_YEN,
    ELDERLY_ALONE_AGE,
    FULL_INCOME_LIMIT_YEN,
    MIDDLE_INCOME_LIMIT_YEN,
    UPPER_INCOME_LIMIT_YEN,
    DamageLevel,
    EvacuationNeed,
    SupportDecision,
    care_flags_from,
    evacuation_need,
    income_from,
    victim_support,
)
from services.municipality.domain.households import (
    HOUSEHOLDER,
    RELATIONSHIPS,
    parse_relationship,
    same_address,
)
from services.municipality.domain.identifiers import (
    ADDRESS_NUMBER_LENGTH,
    HOUSEHOLD_ID_LENGTH,
    draw_local_id,
    luhn_check_digit,
    new_address_number,
    new_household_id,
    parse_address_number,
    parse_household_id,
)
from services.municipality.domain.inputs import (
    IDEMPOTENCY_KEY,
    parse_date,
    parse_free_text,
    parse_idempotency_key,
)
from services.municipality.domain.residents import (
    PERMANENT_STATUSES,
    RESIDENCE_STATUSES,
    ForeignDetails,
    ResidentForm,
    ResidentInput,
    ResidentStatus,
    ResidentType,
    parse_residence_card_number,
)

__all__ = [
    "ADDRESS_NUMBER_LENGTH",
    "BASE_SUPPORT_YEN",
    "CARE_MAX_VALIDITY_MONTHS",
    "CARE_MIN_AGE",
    "DESIGNATED_CITIES",
    "ELDERLY_ALONE_AGE",
    "FULL_INCOME_LIMIT_YEN",
    "HOUSEHOLDER",
    "HOUSEHOLD_ID_LENGTH",
    "IDEMPOTENCY_KEY",
    "MAX_KANA",
    "MIDDLE_INCOME_LIMIT_YEN",
    "PERMANENT_STATUSES",
    "PREFECTURES",
    "RELATIONSHIPS",
    "RESIDENCE_STATUSES",
    "UPPER_INCOME_LIMIT_YEN",
    "Area",
    "AreaLevel",
    "CareCertification",
    "CareLevel",
    "DamageLevel",
    "EvacuationNeed",
    "ForeignDetails",
    "ResidentForm",
    "ResidentInput",
    "ResidentStatus",
    "ResidentType",
    "SupportDecision",
    "address_area",
    "care_flags_from",
    "current_certification",
    "draw_local_id",
    "evacuation_need",
    "income_from",
    "luhn_check_digit",
    "new_address_number",
    "new_household_id",
    "parse_address_number",
    "parse_date",
    "parse_disaster_area",
    "parse_free_text",
    "parse_household_id",
    "parse_idempotency_key",
    "parse_name_kana",
    "parse_relationship",
    "parse_residence_card_number",
    "same_address",
    "victim_support",
]
