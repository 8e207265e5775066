"""The portal's check of the checkpoints it is served, and the log page's kept entries.

Concurrent pages may be served checkpoints in any order (one page's registry answer is newer
than another's). The portal must prove each one consistent with the newest it has seen, in
either direction, once per checkpoint; a fork (same size, another root) still fails.

The log page keeps the entries it verified and asks the registry only for newer ones: after
any sequence of appends, checkpoints and visits it shows exactly what the full path shows,
and a proof that fails is shown as failed and nothing is kept.

The registry here is a small stand-in over a real list of leaves, real RFC 9162 proofs and real
Ed25519-signed checkpoints; :class:`ExchangeLog` is the real one.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from mynumber_core.checkpoint import Checkpoint, sign_checkpoint
from mynumber_core.merkle import consistency_proof, inclusion_proof, leaf_hash, root_hash
from mynumber_core.registry_records import LogEntry, LogPage, SignedCheckpoint
from services.gateway.usecases.challenges import SessionInfo
from services.gateway.usecases.context import PortalContext
from services.gateway.usecases.log import LOG_PAGE, ExchangeLog, LogView

ORIGIN = "mynumber.local/exchange-log"


def _leaf(index: int) -> bytes:
    fields = {
        "index": index,
        "time": f"2026-11-27T0{index % 10}:00:00+00:00",
        "requester": "portal",
        "provider": ("tax", "pension", "health")[index % 3],
        "item": "income",
        "procedure": "portal.my_information",
        "outcome": "provided",
        "reason": "",
    }
    return json.dumps(fields, sort_keys=True).encode()


class _Log:
    """What ExchangeLog asks of the registry, over a list of leaves (counts its proofs)."""

    def __init__(self, size: int) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.raw = [_leaf(i) for i in range(size)]
        self.leaves = [leaf_hash(r) for r in self.raw]
        self.first = 5
        self.covered = size
        """The newest checkpoint's size (entries at or beyond it are pending)."""
        self.proofs: list[tuple[int, int]] = []
        self.listed: list[int | None] = []
        """The after_index of each ListEntries."""
        self.audit_paths = 0
        self.tamper: int | None = None
        """An entry whose leaf bytes are sent altered."""

    def append(self, count: int) -> None:
        for _ in range(count):
            self.raw.append(_leaf(len(self.raw)))
            self.leaves.append(leaf_hash(self.raw[-1]))

    def log_entries(
        self,
        token: str,
        *,
        page_size: int,
        newest_first: bool = False,
        after_index: int | None = None,
        include_pending: bool = False,
        acting: Any = None,
        **filters: Any,
    ) -> LogPage:
        assert newest_first and include_pending and not any(filters.values())
        self.listed.append(after_index)
        low = -1 if after_index is None else after_index
        chosen = [i for i in reversed(range(len(self.raw))) if i > low][: page_size + 1]
        entries = []
        for i in chosen[:page_size]:
            pending = i >= self.covered
            proof = [] if pending else inclusion_proof(self.leaves[: self.covered], i)
            self.audit_paths += not pending
            leaf = self.raw[i].replace(b"income", b"incomf") if i == self.tamper else self.raw[i]
            entries.append(
                LogEntry(i, dt.datetime.now(dt.UTC), "", "", "", "", "", "", leaf, proof, pending)
            )
        return LogPage(entries, self.note(self.covered), len(chosen) > page_size)

    def note(self, size: int, leaves: list[bytes] | None = None) -> str:
        root = root_hash((leaves or self.leaves)[:size])
        return sign_checkpoint(Checkpoint(ORIGIN, size, root), ORIGIN, self.key)

    def log_checkpoint(self) -> SignedCheckpoint:
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return SignedCheckpoint(self.note(self.first), ORIGIN, raw)

    def log_consistency_proof(self, first_size: int, second_size: int) -> list[bytes]:
        self.proofs.append((first_size, second_size))
        return consistency_proof(self.leaves[:second_size], first_size)


def _exchange_log(registry: _Log) -> ExchangeLog:
    return ExchangeLog(cast(PortalContext, cast(Any, type("Ctx", (), {"registry": registry}))))


def test_an_older_checkpoint_after_a_newer_one_still_verifies() -> None:
    registry = _Log(20)
    log = _exchange_log(registry)
    newer = log._verified_checkpoint(registry.note(15))
    assert newer is not None and newer.size == 15
    # Another page was served size 10 by the registry before the one above was: a prefix.
    older = log._verified_checkpoint(registry.note(10))
    assert older is not None and older.size == 10
    assert registry.proofs == [(5, 15), (10, 15)]


def test_a_checkpoint_already_proven_costs_no_proof() -> None:
    registry = _Log(20)
    log = _exchange_log(registry)
    for _ in range(5):
        assert log._verified_checkpoint(registry.note(12)) is not None
        assert log._verified_checkpoint(registry.note(5)) is not None
    assert registry.proofs == [(5, 12)]


def test_a_fork_fails_in_either_direction() -> None:
    registry = _Log(20)
    log = _exchange_log(registry)
    assert log._verified_checkpoint(registry.note(15)) is not None
    forked = [leaf_hash(b"rewritten"), *registry.leaves[1:]]
    assert log._verified_checkpoint(registry.note(15, forked)) is None  # same size, other root
    assert log._verified_checkpoint(registry.note(10, forked)) is None  # older, not a prefix
    assert log._verified_checkpoint(registry.note(18, forked)) is None  # newer, not an extension
    assert log._verified_checkpoint(registry.note(18)) is not None


SESSION = SessionInfo("R1", "token-1", "hash", dt.datetime.now(dt.UTC), "grant")


def _shown(view: LogView) -> tuple[list[tuple[int, str]], int | None, int, bool]:
    return (
        [(x.index, x.proof) for x in view.entries],
        view.older,
        view.checkpoint_size,
        view.all_verified,
    )


def test_a_later_visit_asks_only_for_newer_entries() -> None:
    registry = _Log(30)
    log = _exchange_log(registry)
    first = log.newest_page(SESSION)
    assert {x.proof for x in first.entries} == {"verified"} and len(first.entries) == 30
    registry.append(4)  # not yet covered: pending
    registry.audit_paths = 0
    second = log.newest_page(SESSION)
    assert registry.listed == [None, 29]
    assert registry.audit_paths == 0
    assert [x.proof for x in second.entries[:4]] == ["pending"] * 4
    registry.covered = 34
    third = log.newest_page(SESSION)
    assert registry.listed == [None, 29, 29] and registry.audit_paths == 4
    assert _shown(third) == _shown(log.exchange_log(SESSION, include_pending=True))


def test_a_failed_proof_is_shown_and_nothing_is_kept() -> None:
    registry = _Log(12)
    log = _exchange_log(registry)
    log.newest_page(SESSION)
    registry.append(3)
    registry.covered = 15
    registry.tamper = 13
    view = log.newest_page(SESSION)
    assert [x.proof for x in view.entries[:3]] == ["verified", "failed", "verified"]
    assert not view.all_verified
    registry.tamper = None
    log.newest_page(SESSION)
    assert registry.listed[-1] is None  # the full path again


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=0, max_value=LOG_PAGE + 20),
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=LOG_PAGE + 5), st.booleans()), max_size=6
    ),
)
def test_the_kept_page_shows_what_the_full_path_shows(
    start: int, steps: list[tuple[int, bool]]
) -> None:
    """After any appends, checkpoints and visits, the page equals the full path's view."""
    registry = _Log(start)
    registry.first = min(start, 5)
    log = _exchange_log(registry)
    for appended, checkpoint in steps:
        registry.append(appended)
        if checkpoint:
            registry.covered = len(registry.raw)
        kept = _shown(log.newest_page(SESSION))
        assert kept == _shown(log.exchange_log(SESSION, include_pending=True))


@pytest.mark.parametrize("extra", [LOG_PAGE, LOG_PAGE + 1])
def test_a_page_overflowing_with_new_entries_matches_the_full_path(extra: int) -> None:
    registry = _Log(10)
    log = _exchange_log(registry)
    log.newest_page(SESSION)
    registry.append(extra)
    registry.covered = 10 + extra
    view = log.newest_page(SESSION)
    assert len(view.entries) == LOG_PAGE and view.older == 10 + extra - LOG_PAGE
    assert _shown(view) == _shown(log.exchange_log(SESSION, include_pending=True))
