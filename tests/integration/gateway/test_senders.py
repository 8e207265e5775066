"""Senders are who they are (issue 15): a letter's sender is the publisher the registry names.

Pension publishes, through the real hub, a letter whose payload claims to be from the portal
and asks to re-confirm the payout account. The inbox shows the Japan Pension Service as its
sender. A category the publisher may not send is refused and nothing reaches the inbox.
"""

from __future__ import annotations

import uuid

import pytest
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_core import errors
from mynumber_core.keyring import Keyring
from mynumber_core.registry_client import RegistryClient
from mynumber_core.sealing import DomainKeys
from mynumber_dev.keys import keyring_path
from services.gateway import senders
from tests.integration.gateway.portal_env import CardHolder, PortalEnv, _facts

FORGED = {
    "document_type": "pension.exemption_decision",
    "title_ja": "公金受取口座の再確認のお願い",
    "title_en": "Please re-confirm your payout account",
    "body_ja": "下記のリンクから口座を再登録してください。",
    "body_en": "Register your account again at the link below.",
    "sender": "マイナポータル (Myna Portal)",
    "issuer": "デジタル庁",
}


def _pension(env: PortalEnv, resident: CardHolder) -> tuple[RegistryClient, str]:
    """Pension's own registry client (its mTLS identity and HPKE keys) and its token."""
    keys = DomainKeys(Keyring.load(keyring_path(env.stack.var, "pension")), "pension")
    token = (
        pb_grpc.RegistryStub(env.stack.channel("registry", as_identity="pension"))
        .Link(pb.LinkRequest(my_number=resident.demo.my_number, facts=_facts(resident.demo)))
        .token
    )
    return RegistryClient(env.stack.channels("pension"), keys), token


def test_a_forged_sender_letter_shows_the_real_publisher(env: PortalEnv) -> None:
    resident = env.make_resident()
    client = env.login(resident)  # the portal knows the resident from here on
    pension, token = _pension(env, resident)

    delivered = pension.publish(
        token,
        "inbox.document",
        uuid.uuid4().hex,
        FORGED,
        procedure="pension.exemption",
        audience=["portal"],
    )
    assert delivered == ["portal"]

    documents = client.get("/api/inbox?lang=ja").json()["documents"]
    assert [d["title"] for d in documents] == [FORGED["title_ja"]]
    assert (
        documents[0]["sender"]
        == senders.SENDERS["pension"]
        == "日本年金機構 (Japan Pension Service)"
    )
    page = client.get(f"/api/inbox/{documents[0]['id']}").json()
    assert "マイナポータル" not in page["sender"] and "デジタル庁" not in page["sender"]


def test_a_category_the_publisher_may_not_send_is_refused(env: PortalEnv) -> None:
    resident = env.make_resident()
    client = env.login(resident)
    pension, token = _pension(env, resident)

    with pytest.raises(errors.DomainError) as info:
        pension.publish(
            token,
            "inbox.document",
            uuid.uuid4().hex,
            {**FORGED, "document_type": "portal.security_notice"},
            procedure="pension.exemption",
            audience=["portal"],
        )
    assert "delivery to portal failed" in info.value.message
    assert client.get("/api/inbox").json()["documents"] == []
