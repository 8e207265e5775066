"""The payout account's registry attestation (mynumber_core.payout_attestation): an answer is
accepted only when it opens the registry's salted commitment, and then the registry's times
replace the portal's."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from mynumber_core.payout_attestation import (
    PAYOUT_ACCOUNT_FIELDS,
    SALT_BYTES,
    SALT_FIELD,
    VERIFIED_FIELD,
    PayoutAttestation,
    account_commitment,
    attested_account,
)

_accounts = st.fixed_dictionaries(
    {name: st.text(min_size=1, max_size=20) for name in PAYOUT_ACCOUNT_FIELDS}
)
_salts = st.binary(min_size=SALT_BYTES, max_size=SALT_BYTES)
_WHEN = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _attest(account: dict[str, str], salt: bytes) -> PayoutAttestation:
    return PayoutAttestation(account_commitment(account, salt), _WHEN, _WHEN)


@given(_accounts, _salts)
def test_the_recorded_account_opens_its_commitment_with_the_registrys_times(
    account: dict[str, str], salt: bytes
) -> None:
    answer = {
        **account,
        SALT_FIELD: salt.hex(),
        "changed_at": "1999-01-01T00:00:00+00:00",
        "confirmed_with_card": False,
    }
    checked = attested_account(answer, _attest(account, salt))
    assert checked[VERIFIED_FIELD] is True and SALT_FIELD not in checked
    assert checked["changed_at"] == _WHEN.isoformat() and checked["confirmed_with_card"] is True


@given(_accounts, _salts, st.sampled_from(PAYOUT_ACCOUNT_FIELDS), st.text(min_size=1, max_size=20))
def test_any_other_account_does_not(
    account: dict[str, str], salt: bytes, field: str, value: str
) -> None:
    changed = {**account, field: value}
    answer = {**changed, SALT_FIELD: salt.hex(), VERIFIED_FIELD: True}
    checked = attested_account(answer, _attest(account, salt))
    assert checked[VERIFIED_FIELD] is (value == account[field])


@given(
    _accounts,
    st.one_of(st.none(), st.text(max_size=80), st.binary(max_size=SALT_BYTES - 1).map(bytes.hex)),
)
def test_a_missing_or_malformed_salt_or_no_attestation_is_unverified(
    account: dict[str, str], salt: str | None
) -> None:
    answer = {**account, SALT_FIELD: salt, VERIFIED_FIELD: True}
    real = _attest(account, b"\x00" * SALT_BYTES)
    assert attested_account(answer, real)[VERIFIED_FIELD] is False
    good = {**account, SALT_FIELD: (b"\x00" * SALT_BYTES).hex()}
    assert attested_account(good, None)[VERIFIED_FIELD] is False
    missing = {k: v for k, v in good.items() if k != "holder_kana"}
    assert attested_account(missing, real)[VERIFIED_FIELD] is False
