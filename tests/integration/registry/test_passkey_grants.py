"""Passkeys at the registry (issue 15): registration under a card grant and step-up, and a
grant opened from a WebAuthn assertion the registry verifies itself — so a compromised
gateway, with its certificate and a resident's portal token, registers no passkey of its own
and opens no grant with one.

A software authenticator (tests/support/webauthn_device.py) plays the browser; the registry's
real ``webauthn`` checks run against it. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from mynumber.registry.v1 import resident_pb2 as rpb
from mynumber.registry.v1 import resident_pb2_grpc as rpb_grpc
from webauthn.helpers import bytes_to_base64url

from mynumber_core.resident_grants import Acting
from mynumber_core.structs import to_struct
from tests.integration.registry.conftest import RegistryEnv
from tests.support.resident_device import AUDIENCE, PortalLogin, portal_login
from tests.support.webauthn_device import SoftAuthenticator

RP_ID = "portal.test"  # the host of AUDIENCE


def _code(call: Callable[[], Any]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code()


def _gateway(env: RegistryEnv) -> rpb_grpc.ResidentAuthorityStub:
    return rpb_grpc.ResidentAuthorityStub(env.stack.channel("registry", as_identity="gateway"))


def _login(env: RegistryEnv) -> tuple[PortalLogin, str]:
    """A resident logged in with their card, and the municipality's token for them."""
    resident = env.linked("tax")
    login = portal_login(
        env.stack.channel("registry", as_identity="municipality"),
        env.stack.channel("registry", as_identity="gateway"),
        resident.tokens["municipality"],
    )
    return login, resident.tokens["municipality"]


def _register(
    env: RegistryEnv, login: PortalLogin, device: SoftAuthenticator, origin: str = AUDIENCE
) -> rpb.RegisterPasskeyRequest:
    challenge = os.urandom(32)
    return rpb.RegisterPasskeyRequest(
        token=login.token,
        credential_json=device.register(challenge, origin),
        challenge=challenge,
        origin=origin,
    )


def _approval(login: PortalLogin, request: rpb.RegisterPasskeyRequest) -> Any:
    return login.metadata("register_passkey", {"challenge": bytes_to_base64url(request.challenge)})


def _assertion(
    env: RegistryEnv, device: SoftAuthenticator, origin: str = AUDIENCE, *, count: bool = True
) -> rpb.OpenPasskeyGrantRequest:
    nonce = _gateway(env).IssueChallenge(rpb.IssueChallengeRequest(audience=AUDIENCE)).nonce
    return rpb.OpenPasskeyGrantRequest(
        nonce=nonce,
        audience=AUDIENCE,
        credential_json=device.assert_(nonce.encode(), origin, count=count),
    )


def _query(token: str) -> pb.QueryRequest:
    return pb.QueryRequest(
        token=token,
        provider="tax",
        item="tax_summary",
        procedure="portal.my_information",
        request_id=uuid.uuid4().hex,
        params=to_struct({}),
    )


def test_only_the_card_registers_a_passkey(hub: RegistryEnv) -> None:
    login, _ = _login(hub)
    gateway = _gateway(hub)
    device = SoftAuthenticator(RP_ID)
    request = _register(hub, login, device)
    # The gateway's own key, with the resident's token: no grant, the grant alone, or a
    # step-up the card signed for another registration — refused.
    assert _code(lambda: gateway.RegisterPasskey(request)) == grpc.StatusCode.UNAUTHENTICATED
    assert _code(lambda: gateway.RegisterPasskey(request, metadata=login.metadata())) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    other = login.metadata("register_passkey", {"challenge": bytes_to_base64url(os.urandom(32))})
    assert _code(lambda: gateway.RegisterPasskey(request, metadata=other)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    # Nor can it open a grant with that unregistered key.
    assert _code(lambda: gateway.OpenPasskeyGrant(_assertion(hub, device))) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    # A registration made for another origin than it claims is refused by the registry's own
    # WebAuthn check, even with the card's approval.
    elsewhere = _register(hub, login, SoftAuthenticator(RP_ID), origin="https://evil.test")
    elsewhere.origin = AUDIENCE
    approved_elsewhere = _approval(login, elsewhere)
    assert _code(lambda: gateway.RegisterPasskey(elsewhere, metadata=approved_elsewhere)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )

    # Positive control: with the card's approval of exactly this registration, the registry
    # keeps the key; the same approval does not work twice.
    approval = _approval(login, request)
    registered = gateway.RegisterPasskey(request, metadata=approval)
    assert registered.credential_id == device.id
    assert _code(lambda: gateway.RegisterPasskey(request, metadata=approval)) == (
        grpc.StatusCode.UNAUTHENTICATED
    )


def test_a_passkey_opens_a_grant_only_through_the_registry(hub: RegistryEnv) -> None:
    login, counter_token = _login(hub)
    gateway = _gateway(hub)
    hub_stub = pb_grpc.HubStub(hub.stack.channel("registry", as_identity="gateway"))
    device = SoftAuthenticator(RP_ID)
    request = _register(hub, login, device)
    gateway.RegisterPasskey(request, metadata=_approval(login, request))

    # A challenge the registry never issued, an assertion made for another origin, a stranger's
    # key claiming this credential id: no grant.
    made_up = device.assert_(b"x" * 32, AUDIENCE)
    forged_nonce = rpb.OpenPasskeyGrantRequest(
        nonce="n" * 32, audience=AUDIENCE, credential_json=made_up
    )
    assert _code(lambda: gateway.OpenPasskeyGrant(forged_nonce)) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    phished = _assertion(hub, device, origin="https://evil.test")
    assert _code(lambda: gateway.OpenPasskeyGrant(phished)) == grpc.StatusCode.UNAUTHENTICATED
    impostor = SoftAuthenticator(RP_ID, credential_id=device.credential_id)
    stolen_id = _assertion(hub, impostor)
    assert _code(lambda: gateway.OpenPasskeyGrant(stolen_id)) == (grpc.StatusCode.UNAUTHENTICATED)

    # The resident's passkey opens a grant that reads their data through the hub.
    good = _assertion(hub, device)
    opened = gateway.OpenPasskeyGrant(good)
    assert opened.token == login.token and opened.grant
    metadata = Acting(opened.grant).metadata()
    assert hub_stub.Query(_query(opened.token), metadata=metadata).sealed.ciphertext
    # Replayed: the challenge is used up. A sign count that did not grow (a clone): refused.
    assert _code(lambda: gateway.OpenPasskeyGrant(good)) == grpc.StatusCode.UNAUTHENTICATED
    clone = _assertion(hub, device, count=False)
    assert _code(lambda: gateway.OpenPasskeyGrant(clone)) == grpc.StatusCode.UNAUTHENTICATED

    # Revoking the card that registered the passkey ends its grants and its logins.
    cards = pb_grpc.CardsStub(hub.stack.channel("registry", as_identity="municipality"))
    cards.RevokeCard(pb.RevokeCardRequest(token=counter_token, serial=opened.serial))
    assert _code(lambda: hub_stub.Query(_query(opened.token), metadata=metadata)) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    assert _code(lambda: gateway.OpenPasskeyGrant(_assertion(hub, device))) == (
        grpc.StatusCode.UNAUTHENTICATED
    )


def test_bad_passkey_requests_are_refused_clearly(hub: RegistryEnv) -> None:
    login, _ = _login(hub)
    gateway = _gateway(hub)
    request = _register(hub, login, SoftAuthenticator(RP_ID))
    request.origin = "not a url"
    with pytest.raises(grpc.RpcError) as info:
        gateway.RegisterPasskey(request, metadata=_approval(login, request))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "origin" in (info.value.details() or "")
    empty = rpb.OpenPasskeyGrantRequest(nonce="n" * 32, audience=AUDIENCE, credential_json="")
    with pytest.raises(grpc.RpcError) as info:
        gateway.OpenPasskeyGrant(empty)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "credential_json" in (info.value.details() or "")
    # A registered credential id with a malformed assertion: refused, never an internal error.
    device = SoftAuthenticator(RP_ID)
    registration = _register(hub, login, device)
    gateway.RegisterPasskey(registration, metadata=_approval(login, registration))
    nonce = gateway.IssueChallenge(rpb.IssueChallengeRequest(audience=AUDIENCE)).nonce
    garbage = json.dumps(
        {
            "id": device.id,
            "rawId": device.id,
            "type": "public-key",
            "response": {"clientDataJSON": "!!", "authenticatorData": "", "signature": 7},
        }
    )
    malformed = rpb.OpenPasskeyGrantRequest(nonce=nonce, audience=AUDIENCE, credential_json=garbage)
    assert _code(lambda: gateway.OpenPasskeyGrant(malformed)) == grpc.StatusCode.UNAUTHENTICATED
    # Only the portal may ask.
    pension = rpb_grpc.ResidentAuthorityStub(hub.stack.channel("registry", as_identity="pension"))
    assert _code(lambda: pension.OpenPasskeyGrant(empty)) == grpc.StatusCode.PERMISSION_DENIED
