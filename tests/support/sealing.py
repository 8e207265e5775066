"""Tests that talk to a Provider or the hub with raw stubs act as the registry or a domain
would: they name the requester's HPKE key, open sealed answers with the requester's own dev
keyring, and seal event payloads to the receiver's key (mynumber_core.sealing, nothing fake).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mynumber.exchange.v1 import exchange_pb2
from mynumber.registry.v1 import registry_pb2

from mynumber_core.keyring import Keyring
from mynumber_core.provider import box_from_proto, box_to_proto, sealing_key_to_proto
from mynumber_core.sealing import (
    DomainKeys,
    answer_context,
    event_context,
    seal_json,
    service_of_domain,
)
from mynumber_core.structs import from_struct, to_struct
from mynumber_dev.keys import keyring_path


def domain_keys(var: Path, domain: str) -> DomainKeys:
    """A domain's HPKE keys from its dev keyring under ``var``."""
    return DomainKeys(Keyring.load(keyring_path(var, service_of_domain(domain))), domain)


def recipient(var: Path, domain: str) -> exchange_pb2.SealingKey:
    """The requester's public key, as the registry puts it in a ProvideRequest."""
    return sealing_key_to_proto(domain_keys(var, domain).public_key())


def open_provided(
    var: Path,
    provider: str,
    request: exchange_pb2.ProvideRequest,
    response: exchange_pb2.ProvideResponse,
) -> dict[str, Any]:
    """Open a Provide answer with the requester's key."""
    context = answer_context(
        request_id=request.request_id,
        requester=request.requester,
        provider=provider,
        item=request.item,
        procedure=request.procedure,
        params=from_struct(request.params),
    )
    keys = domain_keys(var, request.requester)
    return keys.open_json(box_from_proto(response.sealed), context)


def open_query(
    var: Path,
    requester: str,
    request: registry_pb2.QueryRequest,
    response: registry_pb2.QueryResponse,
) -> dict[str, Any]:
    """Open a Query answer the hub relayed, as the requester does."""
    context = answer_context(
        request_id=request.request_id,
        requester=requester,
        provider=request.provider,
        item=request.item,
        procedure=request.procedure,
        params=from_struct(to_struct(from_struct(request.params))),
    )
    return domain_keys(var, requester).open_json(box_from_proto(response.sealed), context)


def sealed_payload(
    var: Path,
    *,
    publisher: str,
    receiver: str,
    event_type: str,
    event_id: str,
    procedure: str,
    payload: Mapping[str, Any],
) -> exchange_pb2.Sealed:
    """A payload sealed to ``receiver``'s key, as the publisher seals it."""
    context = event_context(
        event_id=event_id,
        publisher=publisher,
        receiver=receiver,
        event_type=event_type,
        procedure=procedure,
    )
    return box_to_proto(seal_json(domain_keys(var, receiver).public_key(), payload, context))


def sealed_payloads(
    var: Path,
    receivers: Sequence[str],
    *,
    publisher: str,
    event_type: str,
    event_id: str,
    procedure: str,
    payload: Mapping[str, Any],
) -> dict[str, exchange_pb2.Sealed]:
    """The payload sealed to each receiver (a PublishRequest's ``sealed_payloads``)."""
    return {
        receiver: sealed_payload(
            var,
            publisher=publisher,
            receiver=receiver,
            event_type=event_type,
            event_id=event_id,
            procedure=procedure,
            payload=payload,
        )
        for receiver in receivers
        if receiver != publisher
    }
