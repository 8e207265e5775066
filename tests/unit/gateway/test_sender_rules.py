"""The sender of an agency letter is fixed by its publisher; the payload cannot choose it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core import errors
from services.gateway import senders

publishers = st.sampled_from(sorted(senders.SENDERS))
claimed = st.text(min_size=1, max_size=200)


@given(publisher=publishers, sender=claimed, issuer=claimed)
def test_payload_sender_and_issuer_are_ignored(publisher: str, sender: str, issuer: str) -> None:
    doc = senders.agency_document(
        publisher, {"title": "お知らせ", "body": "本文", "sender": sender, "issuer": issuer}
    )
    assert doc.sender == senders.SENDERS[publisher]
    assert doc.category == senders.GENERAL


@given(publisher=publishers, category=st.from_regex(r"[a-z][a-z_.]{0,40}", fullmatch=True))
def test_only_the_publishers_categories_are_accepted(publisher: str, category: str) -> None:
    payload = {"title": "t", "document_type": category}
    if category in senders.CATEGORIES[publisher]:
        assert senders.agency_document(publisher, payload).category == category
    else:
        with pytest.raises(errors.InvalidInput, match="may not send documents of category"):
            senders.agency_document(publisher, payload)


@pytest.mark.parametrize("publisher", ["portal", "registry", "", "business"])
def test_unknown_publishers_send_no_letters(publisher: str) -> None:
    with pytest.raises(errors.InvalidInput, match="shows no letters from"):
        senders.agency_document(publisher, {"title": "t"})


def test_every_agency_category_in_use_is_allowed() -> None:
    # The document types the agencies send today (services/*/usecases) must stay accepted.
    in_use = {
        "pension": [
            "pension.exemption_decision",
            "pension.claim_decision",
            "pension.claim_refused",
        ],
        "tax": ["tax.withholding_slip", "tax.refund_notice", "tax.refund_stopped"],
        "health": ["vaccination"],
    }
    for publisher, categories in in_use.items():
        for category in categories:
            doc = senders.agency_document(publisher, {"title": "t", "category": category})
            assert doc.category == category
