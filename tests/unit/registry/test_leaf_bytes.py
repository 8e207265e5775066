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


def _whole(entry: NewEntry, index: int, now: dt.datetime) -> bytes:
    """The leaf as the log defines it: every field in one sorted-key dump."""
    return canonical_entry(
        {
            "index": index,
            "time": now.isoformat(timespec="milliseconds"),
            "requester": entry.requester,
            "provider": entry.provider,
            "item": entry.item,
            "procedure": entry.procedure,
            "outcome": entry.outcome,
            "reason": entry.reason,
            "request_id": entry.request_id,
            "tag": entry.citizen_tag,
            **({"answer_sha256": entry.answer_digest} if entry.answer_digest else {}),
            **(
                {"answer_position": entry.answer_position}
                if entry.answer_position is not None
                else {}
            ),
        }
    )


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
