"""Property tests of the portal's parsers and rules: bad input is a clear InvalidInput."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core.errors import DomainError, InvalidInput
from services.gateway import domain
from services.gateway.web.app import status_of

KANA = st.text(
    alphabet="アイウエオカキクケコサシスセソタチツテトナニヌネノヤユヨワンッャュョー",
    min_size=1,
    max_size=10,
)
DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=9)


@given(bank=DIGITS, branch=DIGITS, number=DIGITS, kana=KANA)
def test_payout_account_accepts_exactly_the_right_lengths(
    bank: str, branch: str, number: str, kana: str
) -> None:
    raw = {
        "bank_code": bank,
        "branch_code": branch,
        "account_type": "ordinary",
        "account_number": number,
        "holder_kana": kana,
    }
    if (len(bank), len(branch), len(number)) == (4, 3, 7):
        parsed = domain.parse_payout_account(raw)
        assert parsed.account_number == number
        assert domain.mask_account_number(number).endswith(number[-3:])
    else:
        with pytest.raises(InvalidInput):
            domain.parse_payout_account(raw)


@given(st.text(max_size=30))
def test_holder_kana_rejects_anything_but_katakana(text: str) -> None:
    try:
        parsed = domain.parse_holder_kana(text)
    except InvalidInput as exc:
        assert exc.message.startswith("holder_kana")
    else:
        assert parsed and all(ch in " " or "\u30a1" <= ch <= "\u30fc" for ch in parsed)


@given(first=KANA, last=KANA)
def test_holder_match_ignores_spacing_width_and_small_kana(first: str, last: str) -> None:
    registered = f"{last} {first}"
    assert domain.holder_matches(f"{last}\u3000{first}", registered)
    assert domain.holder_matches(registered.replace("ッ", "ツ"), registered)
    assert not domain.holder_matches(f"{last}{first}ア", registered + "ン")


@given(st.text(max_size=12))
def test_codes_round_trip_and_reject_garbage(text: str) -> None:
    try:
        code = domain.parse_code(text)
    except InvalidInput:
        return
    assert domain.parse_code(code.lower().replace("-", "")) == code


def test_new_codes_parse() -> None:
    for _ in range(50):
        code = domain.new_code()
        assert domain.parse_code(code) == code


@given(st.lists(st.sampled_from([*domain.LOCKS, "nope"]), max_size=5))
def test_locks(locks: list[str]) -> None:
    if "nope" in locks:
        with pytest.raises(InvalidInput):
            domain.parse_locks(locks)
    else:
        assert domain.parse_locks(locks) == sorted(set(locks))


@given(st.integers(min_value=1990, max_value=2040))
def test_exemption_year_window(year: int) -> None:
    today = dt.date(2026, 11, 26)
    if 2024 <= year <= 2026:
        assert domain.parse_exemption_year(year, today) == year
    else:
        with pytest.raises(InvalidInput):
            domain.parse_exemption_year(year, today)


@given(st.one_of(st.none(), st.text(max_size=20), st.integers()))
def test_payment_and_idempotency_inputs(value: object) -> None:
    raw = {"agency": "tax", "item_id": "IT-2025", "amount": value}
    if isinstance(value, int) and 1 <= value <= domain.MAX_PAYMENT_YEN:
        assert domain.parse_payment(raw) == ("tax", "IT-2025", value)
    else:
        with pytest.raises(InvalidInput):
            domain.parse_payment(raw)
    if not (isinstance(value, str) and domain.IDEMPOTENCY_RE.fullmatch(value)):
        with pytest.raises(InvalidInput):
            domain.parse_idempotency_key(value)


def test_documents_take_either_language() -> None:
    doc = domain.parse_document({"title_en": "Decision", "body": "本文"}, default_sender="pension")
    assert (doc.title_ja, doc.title_en, doc.body_en, doc.sender) == (
        "Decision",
        "Decision",
        "本文",
        "pension",
    )
    with pytest.raises(InvalidInput):
        domain.parse_document({"body": "no title"}, default_sender="x")


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("InvalidInput", 400),
        ("NotFound", 404),
        ("PermissionDenied", 403),
        ("Unauthenticated", 401),
        ("FailedPrecondition", 409),
        ("RateLimited", 429),
        ("Unavailable", 503),
        ("DeadlineExceeded", 504),
    ],
)
def test_error_mapping(name: str, status: int) -> None:
    import mynumber_core.errors as errors

    error: DomainError = getattr(errors, name)("x")
    assert status_of(error)[0] == status
