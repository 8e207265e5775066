"""Newest-first paging and server-side filters of ExchangeLog.ListEntries.

The portal shows a resident the newest page of their log and follows a ``before_index``
cursor to older pages; the agency and time filters run in the database. Every page still
carries inclusion proofs against the checkpoint it names, and a cursor taken from someone
else's log only ever pages through the caller's own entries.
"""

from __future__ import annotations

import datetime as dt

import grpc
import pytest
from google.protobuf import timestamp_pb2
from mynumber.registry.v1 import registry_pb2 as pb

from mynumber_core.logverifier import verify_checkpoint, verify_entry_inclusion
from tests.integration.registry.conftest import RegistryEnv, Resident
from tests.integration.registry.test_exchange_log import record_some, trusted_log
from tests.integration.registry.test_hub import ALL


def stamp(moment: dt.datetime) -> timestamp_pb2.Timestamp:
    value = timestamp_pb2.Timestamp()
    value.FromDatetime(moment)
    return value


def list_entries(env: RegistryEnv, resident: Resident, **fields: object) -> pb.ListEntriesResponse:
    request = pb.ListEntriesRequest(token=resident.tokens["portal"], **fields)  # type: ignore[arg-type]
    return env.exchange_log("gateway").ListEntries(request)


def test_newest_first_pages_cover_the_log_in_reverse(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    record_some(hub, resident)
    record_some(hub, resident)
    everything = [e.index for e in list_entries(hub, resident, page_size=1000).entries]
    assert len(everything) == 2 * (3 + len(ALL))
    log, _ = trusted_log(hub)

    seen: list[int] = []
    request: dict[str, object] = {"page_size": 3, "newest_first": True}
    pages = 0
    while True:
        page = list_entries(hub, resident, **request)
        pages += 1
        checkpoint = verify_checkpoint(log, page.checkpoint)
        for entry in page.entries:
            verify_entry_inclusion(checkpoint, entry.leaf, entry.index, list(entry.inclusion_proof))
        indexes = [e.index for e in page.entries]
        assert indexes == sorted(indexes, reverse=True)
        seen.extend(indexes)
        if not page.more:
            break
        assert len(indexes) == 3
        request.update(before_index=indexes[-1], has_before=True)
    assert seen == list(reversed(everything))
    assert pages == -(-len(everything) // 3)

    # The oldest-first default and its after_index cursor are unchanged.
    first = list_entries(hub, resident, page_size=4)
    assert [e.index for e in first.entries] == everything[:4]
    assert first.more
    rest = list_entries(
        hub, resident, page_size=1000, after_index=first.entries[-1].index, has_after=True
    )
    assert [e.index for e in rest.entries] == everything[4:]
    assert not rest.more


def test_another_residents_cursor_pages_only_through_ones_own_log(hub: RegistryEnv) -> None:
    alice, bob = hub.linked(*ALL), hub.linked(*ALL)
    alice_ids = set(record_some(hub, alice))
    bob_ids = set(record_some(hub, bob))
    alice_all = [e.index for e in list_entries(hub, alice, page_size=1000).entries]
    bob_newest = list_entries(hub, bob, page_size=1000, newest_first=True).entries[0].index
    page = list_entries(
        hub, alice, page_size=1000, newest_first=True, before_index=bob_newest, has_before=True
    )
    assert [e.index for e in page.entries] == sorted(alice_all, reverse=True)
    assert {e.request_id for e in page.entries} <= alice_ids
    assert not {e.request_id for e in page.entries} & bob_ids
    # A cursor past the end of the log is capped at the checkpoint.
    huge = list_entries(
        hub, alice, newest_first=True, before_index=2**63, has_before=True, page_size=1000
    )
    assert [e.index for e in huge.entries] == sorted(alice_all, reverse=True)
    nothing = list_entries(hub, alice, newest_first=True, before_index=0, has_before=True)
    assert list(nothing.entries) == [] and not nothing.more


def test_agency_and_time_filters_run_on_the_server(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    record_some(hub, resident)
    end = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    everything = list_entries(hub, resident, page_size=1000).entries

    for agency in ("pension", "health", "municipality", "tax"):
        filtered = list_entries(hub, resident, agency=agency, newest_first=True).entries
        expected = [e.index for e in everything if agency in (e.requester, e.provider)]
        assert [e.index for e in filtered] == sorted(expected, reverse=True)
        assert filtered
    assert list(list_entries(hub, resident, agency="nobody").entries) == []
    paged = list_entries(hub, resident, agency="pension", page_size=1, newest_first=True)
    assert len(paged.entries) == 1 and paged.more

    window = list_entries(hub, resident, time_from=stamp(start), time_to=stamp(end))
    assert [e.index for e in window.entries] == [e.index for e in everything]
    later = list_entries(hub, resident, time_from=stamp(end))
    assert list(later.entries) == []
    earlier = list_entries(hub, resident, time_to=stamp(start))
    assert list(earlier.entries) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"agency": "Pension"},
        {"agency": "x" * 33},
        {"agency": "pension; drop"},
        {
            "time_from": stamp(dt.datetime(2026, 2, 2, tzinfo=dt.UTC)),
            "time_to": stamp(dt.datetime(2026, 2, 1, tzinfo=dt.UTC)),
        },
        {"page_size": 1001, "newest_first": True},
        # Timestamps a datetime cannot hold (before year 1, after 9999, bad nanos): these
        # once ended in INTERNAL.
        {"time_from": timestamp_pb2.Timestamp(seconds=-62_135_596_801)},
        {"time_to": timestamp_pb2.Timestamp(seconds=253_402_300_800)},
        {"time_from": timestamp_pb2.Timestamp(seconds=-(2**62))},
        {"time_to": timestamp_pb2.Timestamp(seconds=0, nanos=1_000_000_000)},
    ],
)
def test_bad_filters_are_invalid_argument(hub: RegistryEnv, fields: dict[str, object]) -> None:
    resident = hub.linked(*ALL)
    with pytest.raises(grpc.RpcError) as info:
        list_entries(hub, resident, **fields)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
