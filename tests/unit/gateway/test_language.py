"""Accept-Language negotiation (RFC 9110 weights, Babel matching, Japanese by default)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.gateway.web.i18n import DEFAULT_LANG, LANGS, negotiate, pick_lang

TAGS = ["ja", "ja-JP", "JA", "en", "en-US", "EN-gb", "fr", "fr-CA", "de-CH", "zh-Hant-TW", "*"]
WEIGHTS = [None, "1", "1.0", "0.9", "0.8", "0.50", "0.5", "0.001", "0", "0.0"]


def model(elements: list[tuple[str, str | None]]) -> str:
    """What the header asks for, worked out independently: the highest weight wins, the
    header's order breaks ties, a range matches by its primary subtag, ``*`` matches any
    language the header does not name, nothing acceptable → Japanese."""
    named = {tag.split("-")[0].lower() for tag, _ in elements}
    weighted = [(float(q) if q is not None else 1.0, i, tag) for i, (tag, q) in enumerate(elements)]
    for weight, _, tag in sorted(weighted, key=lambda w: (-w[0], w[1])):
        if weight == 0:
            break
        if tag == "*":
            free = [lang for lang in ("ja", "en") if lang not in named]
            if free:
                return free[0]
            continue
        if tag.split("-")[0].lower() in LANGS:
            return tag.split("-")[0].lower()
    return "ja"


def render(elements: list[tuple[str, str | None]], spaces: bool) -> str:
    sep = ", " if spaces else ","
    return sep.join(tag if q is None else f"{tag};q={q}" for tag, q in elements)


@given(
    st.lists(st.tuples(st.sampled_from(TAGS), st.sampled_from(WEIGHTS)), max_size=6),
    st.booleans(),
)
def test_negotiation_follows_the_weights(
    elements: list[tuple[str, str | None]], spaces: bool
) -> None:
    assert negotiate(render(elements, spaces)) == model(elements)


@given(st.text(max_size=120))
def test_any_header_gives_a_supported_language(header: str) -> None:
    assert negotiate(header) in LANGS


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr,en;q=0.8", "en"),  # the example: French is not offered, English is
        ("en-US,en;q=0.9,ja;q=0.8", "en"),
        ("ja,en;q=0.9", "ja"),
        ("en;q=0.5,ja;q=0.6", "ja"),
        ("en;q=0", "ja"),
        ("de,fr", "ja"),
        ("*", "ja"),
        ("ja;q=0,*", "en"),
        ("", "ja"),
        ("en;q=2", "ja"),  # a weight above 1 is malformed: the element is ignored
    ],
)
def test_examples(header: str, expected: str) -> None:
    assert negotiate(header) == expected


def test_query_and_cookie_come_before_the_header() -> None:
    assert pick_lang("en", "ja", "ja") == "en"
    assert pick_lang(None, "en", "ja") == "en"
    assert pick_lang("xx", None, "fr,en;q=0.8") == "en"
    assert pick_lang(None, None, None) == DEFAULT_LANG
