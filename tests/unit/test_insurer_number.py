"""The 保険者番号 check digit: a published number checks, and every single-digit slip is caught."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core.errors import InvalidInput
from mynumber_core.insurer_number import check_digit, with_check_digit

bodies = st.sampled_from([5, 7]).flatmap(
    lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)
)


def test_a_published_insurer_number_checks() -> None:
    # 全国健康保険協会 東京支部 (協会けんぽ), as printed on its members' cards.
    assert with_check_digit("0113001") == "01130012"


@given(bodies, st.integers(0, 6), st.integers(1, 9))
def test_a_single_wrong_digit_is_caught(body: str, where: int, delta: int) -> None:
    position = where % len(body)
    slipped = body[:position] + str((int(body[position]) + delta) % 10) + body[position + 1 :]
    assert check_digit(slipped) != check_digit(body)
    assert with_check_digit(body).startswith(body) and len(with_check_digit(body)) == len(body) + 1


@pytest.mark.parametrize("body", ["", "1234", "123456", "12345678", "12a45", "１２３４５"])
def test_a_body_of_the_wrong_shape_is_refused(body: str) -> None:
    with pytest.raises(InvalidInput, match="5 or 7 digits"):
        check_digit(body)
