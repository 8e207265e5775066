"""Households: 続柄 (relationship to the householder) and one address per household."""

from __future__ import annotations

import unicodedata

from mynumber_core.errors import InvalidInput
from mynumber_core.facts import normalize_for_match

HOUSEHOLDER = "世帯主"
RELATIONSHIPS: frozenset[str] = frozenset(
    {
        HOUSEHOLDER,
        "妻",
        "夫",
        "妻(未届)",
        "夫(未届)",
        "子",
        "父",
        "母",
        "孫",
        "祖父",
        "祖母",
        "兄",
        "姉",
        "弟",
        "妹",
        "子の妻",
        "子の夫",
        "妻の父",
        "妻の母",
        "夫の父",
        "夫の母",
        "叔父",
        "叔母",
        "甥",
        "姪",
        "縁故者",
        "同居人",
    }
)
"""続柄 as written in the resident register (住民票)."""


def parse_relationship(raw: str) -> str:
    """A 続柄 from the register's list; full-width brackets are normalised."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if text not in RELATIONSHIPS:
        raise InvalidInput(
            "relationship must be a 続柄 of the resident register, e.g. 妻, 夫, 子, 父, 母, 同居人"
        )
    return text


def same_address(a: str, b: str) -> bool:
    """Addresses equal after NFKC and whitespace normalisation."""
    return normalize_for_match(a).replace(" ", "") == normalize_for_match(b).replace(" ", "")
