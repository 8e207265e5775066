"""The exchange log's ``before`` cursor parser (an entry index, digits only)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core.errors import InvalidInput
from services.gateway.usecases.log import _parse_log_cursor


@given(st.integers(min_value=0, max_value=10**18 - 1))
def test_every_entry_index_round_trips(index: int) -> None:
    assert _parse_log_cursor(str(index)) == index


@given(st.text(max_size=25))
def test_anything_else_is_invalid_input(text: str) -> None:
    if text == "" or (text.isascii() and text.isdigit() and len(text) <= 18):
        assert _parse_log_cursor(text) == (int(text) if text else None)
    else:
        with pytest.raises(InvalidInput, match="before"):
            _parse_log_cursor(text)


def test_absent_cursor_is_none() -> None:
    assert _parse_log_cursor(None) is None
    assert _parse_log_cursor("") is None
