"""The service config every platform channel carries (mynumber_core.channels): which methods
the channel resends on UNAVAILABLE, and which wait for a connection instead."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mynumber_core.channels import RETRY_POLICY, service_config


def _config() -> tuple[set[tuple[str, str]], set[tuple[str, str]], list[dict[str, Any]]]:
    blocks: list[dict[str, Any]] = json.loads(service_config())["methodConfig"]
    retried = {(n["service"], n["method"]) for n in blocks[0]["name"]}
    waiting = {(n["service"], n.get("method", "")) for n in blocks[1]["name"] if n}
    return retried, waiting, blocks


@pytest.mark.parametrize(
    ("service", "method"),
    [
        ("mynumber.registry.v1.Hub", "Query"),  # request_id
        ("mynumber.municipality.v1.Municipality", "RecordMove"),  # idempotency_key
        ("mynumber.exchange.v1.Provider", "Deliver"),  # event_id
        ("mynumber.pension.v1.Pension", "ApplyExemption"),  # application_id
        ("mynumber.pension.v1.Pension", "RecordContribution"),  # receipt_id
        ("mynumber.pension.v1.Pension", "GetRecord"),  # only reads
        ("mynumber.registry.v1.Registry", "Link"),  # the same token for the same facts
        ("mynumber.registry.v1.Registry", "LinkBatch"),
    ],
)
def test_idempotent_methods_are_retried_with_backoff(service: str, method: str) -> None:
    retried, waiting, blocks = _config()
    assert (service, method) in retried
    assert (service, method) not in waiting
    assert blocks[0]["retryPolicy"] == RETRY_POLICY
    assert RETRY_POLICY["retryableStatusCodes"] == ["UNAVAILABLE"]


@pytest.mark.parametrize(
    ("service", "method"),
    [
        ("mynumber.pension.v1.Pension", "FileClaim"),  # claim_id spends a card nonce first
        ("mynumber.tax.v1.Tax", "IssueRefund"),  # no key on the request
    ],
)
def test_other_methods_wait_for_ready_and_are_never_resent(service: str, method: str) -> None:
    retried, waiting, blocks = _config()
    assert (service, method) in waiting
    assert (service, method) not in retried
    assert blocks[1]["waitForReady"] is True
    assert "retryPolicy" not in blocks[1]
