"""``redacted_traceback`` prints what ``traceback.format_exception`` prints, less the caret
lines (whose ``ast.parse`` is what it avoids), with every My Number redacted."""

from __future__ import annotations

import re
import traceback

from mynumber_core.log import REDACTED, redacted_traceback

NUMBER = "123456789018"
_CARETS = re.compile(r"^\s*[\^~]+\s*$")


def _lookup(table: dict[str, int], key: str) -> int:
    return table[key] + 0


def _chained() -> BaseException:
    try:
        try:
            _lookup({}, NUMBER)
        except KeyError as missing:
            raise ValueError(f"no record for {NUMBER}") from missing
    except ValueError:
        try:
            {"a": 1}["b"] + 1  # an error raised while handling the first
        except KeyError as second:
            return second
    raise AssertionError("unreachable")


def test_same_text_as_the_standard_formatter_without_carets() -> None:
    exc = _chained()
    standard = "".join(traceback.format_exception(exc)).replace(NUMBER, REDACTED)
    expected = "".join(line for line in standard.splitlines(True) if not _CARETS.match(line))
    assert redacted_traceback(exc) == expected
    assert "direct cause" in expected and "During handling" in expected


def test_no_number_survives_and_no_caret_line_is_printed() -> None:
    text = redacted_traceback(_chained())
    assert NUMBER not in text
    assert REDACTED in text
    assert not any(_CARETS.match(line) for line in text.splitlines())


def test_an_exception_never_raised_has_only_its_message() -> None:
    assert redacted_traceback(RuntimeError(f"x {NUMBER}")) == f"RuntimeError: x {REDACTED}\n"
