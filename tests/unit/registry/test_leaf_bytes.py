"""The exchange log's leaf, spliced from a body serialised before the sequencer's turn
(``exchange_log.leaf_bytes``), is byte for byte the canonical JSON of the whole entry: the
definition every verifier (the resident's device, the witnesses) hashes."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from services.registry.domain import canonical_entry
from services.registry.exchange_log import NewEntry, leaf_bytes

# Text that could confuse a splice: quotes, backslashes, the keys themselves, any Unicode.
_tricky = st.one_of(
    st.text(),
    st.sampled_from(["item", '"item":', '","item":"', '\\"item\\":', '"time":"x"}', "\\", '"']),
    st.lists(st.sampled_from(['"', "\\", "item", ":", ",", "{", "}", "index", "time"])).map(
        "".join
    ),
)


_LEAF_KEYS = {
    "requester": "requester",
    "provider": "provider",
    "item": "item",
    "procedure": "procedure",
    "outcome": "outcome",
    "reason": "reason",
    "request_id": "request_id",
    "citizen_tag": "tag",
}
"""Each always-present NewEntry field and its key in the leaf."""


def _whole(entry: NewEntry, index: int, now: dt.datetime) -> bytes:
    """The leaf as the log defines it: every field in one sorted-key dump."""
    fields: dict[str, object] = {key: getattr(entry, name) for name, key in _LEAF_KEYS.items()}
    if entry.answer_digest:
        fields["answer_sha256"] = entry.answer_digest
    if entry.answer_position is not None:
        fields["answer_position"] = entry.answer_position
    fields |= {"index": index, "time": now.isoformat(timespec="milliseconds")}
    return canonical_entry(fields)


@given(
    fields=st.lists(_tricky, min_size=8, max_size=8),
    digest=st.one_of(st.none(), st.just(""), _tricky),
    position=st.one_of(st.none(), st.integers(min_value=0, max_value=10**6)),
    index=st.integers(min_value=0, max_value=2**62),
    now=st.datetimes(timezones=st.just(dt.UTC)),
)
def test_the_spliced_leaf_is_the_canonical_json_of_the_whole_entry(
    fields: list[str], digest: str | None, position: int | None, index: int, now: dt.datetime
) -> None:
    requester, provider, item, procedure, outcome, reason, request_id, tag = fields
    entry = NewEntry(
        requester,
        provider,
        item,
        procedure,
        outcome,
        reason,
        request_id,
        tag,
        fingerprint="f",
        answer_digest=digest,
        answer_position=position,
    )
    assert leaf_bytes(entry, index, now) == _whole(entry, index, now)
