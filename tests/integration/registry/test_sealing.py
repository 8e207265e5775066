"""Tamper tests for sealed answers, through the real hub and real test providers over mTLS,
on SQLite and PostgreSQL.

The hub relays each answer as HPKE ciphertext sealed to the requester, and its log leaf
commits to the ciphertext's SHA-256. An answer sealed to a wrong key, a ciphertext changed in
the hub's store, a ciphertext moved to another exchange, or batch metadata the hub changed
each fail to open at the requester with a clear error — and the failure is recorded in the
exchange log (Hub.ReportUnopenable), beside the exchange.
"""

from __future__ import annotations

import hashlib
import json

import grpc
import pytest
from mynumber.registry.v1 import registry_pb2 as pb
from sqlalchemy import text

from mynumber_core.keyring import Keyring
from mynumber_core.sealing import SealingError
from mynumber_core.structs import to_struct
from mynumber_dev.keys import keyring_path
from tests.integration.registry.conftest import RegistryEnv, Resident
from tests.integration.registry.providers import income_for
from tests.integration.registry.test_hub import (
    ALL,
    Answered,
    entries_for,
    error_of,
    publish_request,
    query,
    rid,
)

PARAMS = {"year": 2024}


def _income(hub: RegistryEnv, resident: Resident, request_id: str) -> Answered:
    return query(hub, resident, "pension", "tax", "income", "pension.exemption", request_id, PARAMS)


def _leaf(hub: RegistryEnv, index: int) -> dict[str, object]:
    with hub.engine.connect() as conn:
        raw = conn.execute(
            text('SELECT leaf FROM log_entries WHERE "index" = :i'), {"i": index}
        ).scalar_one()
    return dict(json.loads(bytes(raw)))


def _failures(hub: RegistryEnv, request_id: str) -> list[dict[str, object]]:
    return [e for e in entries_for(hub, request_id) if e["outcome"] == "failed"]


def test_the_leaf_commits_to_the_ciphertext_relayed(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    answered = _income(hub, resident, rid("leaf"))
    ciphertext = answered.response.sealed.ciphertext
    leaf = _leaf(hub, answered.log_index)
    assert leaf["answer_sha256"] == hashlib.sha256(ciphertext).hexdigest()
    assert "total_income" not in json.dumps(leaf)
    assert answered.data["total_income"] == income_for(resident.tokens["tax"], 2024)


def test_the_registry_keyring_holds_no_domain_key(hub: RegistryEnv) -> None:
    names = Keyring.load(keyring_path(hub.stack.var, "registry")).names()
    assert "hpke" not in names
    assert "directory-signing" in names


def test_an_answer_sealed_to_a_wrong_key_fails_and_is_recorded(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    request_id = rid("wrongkey")
    # Tax seals to health's key instead of the requester's (a misrouted or substituted key).
    hub.providers["tax"].seal_to = hub.keys("health").public_key()
    with pytest.raises(SealingError) as info:
        _income(hub, resident, request_id)
    assert "failed to open with pension's key" in info.value.message
    assert info.value.grpc_status == grpc.StatusCode.DATA_LOSS
    [failed] = _failures(hub, request_id)
    assert failed["provider"] == "tax" and failed["status_code"] == 15
    assert "could not open the sealed answer" in str(failed["message"])
    # The resident sees the failure in their log, beside the exchange it is about.
    outcomes = [e["outcome"] for e in entries_for(hub, request_id)]
    assert outcomes == ["provided", "failed"]


def test_a_ciphertext_changed_in_the_hub_fails_and_is_recorded(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    request_id = rid("flip")
    first = _income(hub, resident, request_id)
    with hub.engine.begin() as conn:
        stored = bytes(
            conn.execute(
                text('SELECT answer FROM log_entries WHERE "index" = :i'),
                {"i": first.log_index},
            ).scalar_one()
        )
        flipped = stored[:-1] + bytes([stored[-1] ^ 0x01])
        conn.execute(
            text('UPDATE log_entries SET answer = :a WHERE "index" = :i'),
            {"a": flipped, "i": first.log_index},
        )
    with pytest.raises(SealingError, match="its ciphertext was changed"):
        _income(hub, resident, request_id)  # the retry is answered from the hub's store
    [failed] = _failures(hub, request_id)
    assert "could not open the sealed answer of entry" in str(failed["message"])
    # The leaf still commits to what was first relayed, so the change is visible there too.
    leaf = _leaf(hub, first.log_index)
    assert leaf["answer_sha256"] != hashlib.sha256(flipped).hexdigest()


def test_a_ciphertext_moved_to_another_exchange_fails_and_is_recorded(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    ids = [rid("a"), rid("b")]
    first = _income(hub, resident, ids[0])
    second = _income(hub, resident, ids[1])
    with hub.engine.begin() as conn:
        conn.execute(
            text(
                'UPDATE log_entries SET answer = (SELECT answer FROM log_entries WHERE "index" = '
                ':src) WHERE "index" = :dst'
            ),
            {"src": first.log_index, "dst": second.log_index},
        )
    with pytest.raises(SealingError, match="belongs to another exchange"):
        _income(hub, resident, ids[1])
    assert len(_failures(hub, ids[1])) == 1 and _failures(hub, ids[0]) == []


def test_batch_metadata_changed_by_the_hub_is_refused_and_recorded(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    ids = [rid("m1"), rid("m2")]
    sealed = hub.sealed("municipality")
    request = pb.BatchQueryRequest(
        queries=[
            pb.QueryRequest(
                token=resident.tokens["municipality"],
                provider="tax",
                item="income",
                procedure="disaster.victim_support",
                request_id=i,
            )
            for i in ids
        ]
    )
    asked = [sealed.asked("tax", "income", "disaster.victim_support", i, {}) for i in ids]
    first = hub.hub("municipality").BatchQuery(request)
    assert all(error is None for _, error in sealed.open_batch(asked, first))
    with hub.engine.begin() as conn:
        digest = conn.execute(
            text("SELECT answer_digest FROM log_entries WHERE request_id = :r"), {"r": ids[0]}
        ).scalar_one()
        members = json.loads(
            conn.execute(
                text("SELECT members FROM sealed_answers WHERE digest = :d"), {"d": digest}
            ).scalar_one()
        )
        members[1][2] = "disaster.other"  # the hub claims another procedure for item two
        conn.execute(
            text("UPDATE sealed_answers SET members = :m WHERE digest = :d"),
            {"m": json.dumps(members), "d": digest},
        )
    replay = hub.hub("municipality").BatchQuery(request)
    opened = sealed.open_batch(asked, replay)
    assert all(data is None for data, _ in opened)
    assert all(
        error is not None and "differs from what was asked" in error.message for _, error in opened
    )
    assert len(_failures(hub, ids[0])) == 1 and len(_failures(hub, ids[1])) == 1


def test_an_event_payload_changed_in_transit_is_refused_by_the_receiver(
    hub: RegistryEnv,
) -> None:
    resident = hub.linked(*ALL)
    event_id = rid("ev")
    request = publish_request(
        hub,
        "municipality",
        resident.tokens["municipality"],
        "address_changed",
        event_id,
        "municipality.moving_onestop",
        {"moved_on": "2025-04-01"},
    )
    box = request.sealed_payloads["health"]
    box.ciphertext = box.ciphertext[:-1] + bytes([box.ciphertext[-1] ^ 0x80])
    # And a box sealed for tax, handed to pension: bound to its receiver, it does not open.
    request.sealed_payloads["pension"].CopyFrom(request.sealed_payloads["tax"])
    error = error_of(lambda: hub.hub("municipality").Publish(request))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "health" in error.details() and "pension" in error.details()
    assert [d.event_id for d in hub.providers["tax"].deliveries] == [event_id]
    assert hub.providers["health"].deliveries == [] and hub.providers["pension"].deliveries == []
    failed = {e["provider"]: e for e in entries_for(hub, event_id) if e["outcome"] == "failed"}
    assert set(failed) == {"health", "pension"}
    assert all("failed to open" in str(e["message"]) for e in failed.values())


def test_a_plaintext_publish_payload_is_refused(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    size = hub.log_size()
    request = publish_request(
        hub,
        "municipality",
        resident.tokens["municipality"],
        "address_changed",
        rid("plain"),
        "municipality.moving_onestop",
    )
    request.payload.update({"moved_on": "2025-04-01"})
    error = error_of(lambda: hub.hub("municipality").Publish(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "seal it to each receiving domain's key" in error.details()
    assert hub.log_size() == size and all(not p.deliveries for p in hub.providers.values())


def test_reply_to_must_be_the_requesters_own_domain(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    size = hub.log_size()
    request = pb.QueryRequest(
        token=resident.tokens["pension"],
        provider="tax",
        item="income",
        procedure="pension.exemption",
        request_id=rid("reply"),
        reply_to=hub.sealed("health").reply_to(),
    )
    error = error_of(lambda: hub.hub("pension").Query(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "its own domain's key" in error.details()
    assert hub.provide_count() == 0 and hub.log_size() == size


def test_the_signed_key_directory_lists_every_domains_key(hub: RegistryEnv) -> None:
    directory = hub.sealed("pension").directory()
    assert sorted(directory) == sorted(["municipality", *ALL])
    for domain, key in directory.items():
        assert hub.keys(domain).holds(key)


def test_a_rotated_key_takes_over_and_older_answers_still_open(hub: RegistryEnv) -> None:
    resident = hub.linked(*ALL)
    old_request = rid("rot-old")
    before = _income(hub, resident, old_request)
    old_kid = before.response.sealed.key_id
    path = keyring_path(hub.stack.var, "pension")
    keyring = Keyring.load(path)
    new_kid = keyring.rotate("hpke")
    keyring.save(path)  # the running domain picks the new version up from the file
    sealed = hub.sealed("pension")
    assert sealed.reply_to().key_id == new_kid != old_kid
    request_id = rid("rot-new")
    request = pb.QueryRequest(
        token=resident.tokens["pension"],
        provider="tax",
        item="income",
        procedure="pension.exemption",
        request_id=request_id,
        params=to_struct(PARAMS),
        reply_to=sealed.reply_to(),
    )
    response = hub.hub("pension").Query(request)
    assert response.sealed.key_id == new_kid
    asked = sealed.asked("tax", "income", "pension.exemption", request_id, PARAMS)
    assert sealed.open_answer(asked, response)["total_income"] == income_for(
        resident.tokens["tax"], 2024
    )
    # The retry of the older exchange is the ciphertext sealed to the previous version.
    again = _income(hub, resident, old_request)
    assert again.response.sealed.key_id == old_kid and again.data == before.data
