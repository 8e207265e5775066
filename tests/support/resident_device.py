"""The resident's side of the registry's resident authority, for tests that play the portal.

The portal (identity ``gateway``) no longer links residents by number: it learns its token
from a card login, and every call in a resident's name carries the grant that login opened
(plus, for locks, claim PINs and reissue, a fresh card-signed step-up). A test that talks to
the registry *as* the portal therefore needs a card and its signatures:

- :func:`portal_login` issues the resident a card at the municipality (a fresh key, a CSR)
  and logs in with it: a registry login challenge signed by the card → a grant;
- :class:`PortalLogin` holds the card key and the grant, and signs step-ups;
- :class:`ResidentDevice` is a client interceptor that adds the grant (and signs a step-up)
  for every portal call whose token belongs to a logged-in resident, so older tests that
  drive the registry as the portal keep working unchanged.
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from mynumber.registry.v1 import resident_pb2 as rpb
from mynumber.registry.v1 import resident_pb2_grpc as rpb_grpc

from mynumber_core.calendar import JST
from mynumber_core.card import action_message, login_challenge_message, make_csr, new_card_key
from mynumber_core.resident_grants import Acting, StepUpEvidence
from services.registry.resident_authority import ACTS_FOR_RESIDENT, tokens_of

AUDIENCE = "https://portal.test"


def sign(key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    """An ECDSA P-256 / SHA-256 signature, as the card makes."""
    return key.sign(message, ec.ECDSA(hashes.SHA256()))


@dataclass
class PortalLogin:
    """A resident logged in at the portal: their card and the registry's grant."""

    key: ec.EllipticCurvePrivateKey
    certificate_pem: str
    token: str
    grant: str
    authority: rpb_grpc.ResidentAuthorityStub

    def step_up(self, action: str, fields: Mapping[str, str]) -> StepUpEvidence:
        """The card's signature over a fresh registry challenge for this action and values."""
        challenge = self.authority.IssueChallenge(
            rpb.IssueChallengeRequest(action=action), metadata=Acting(self.grant).metadata()
        )
        message = action_message(action, fields, challenge.nonce)
        return StepUpEvidence(challenge.nonce, dict(fields), sign(self.key, message))

    def metadata(
        self, action: str | None = None, fields: Mapping[str, str] | None = None
    ) -> tuple[tuple[str, str], ...]:
        """The metadata of a call in this resident's name (with a step-up for ``action``)."""
        step_up = self.step_up(action, fields or {}) if action else None
        return Acting(self.grant, step_up).metadata()


def portal_login(
    as_municipality: grpc.Channel,
    as_gateway: grpc.Channel,
    municipality_token: str,
    *,
    audience: str = AUDIENCE,
) -> PortalLogin:
    """Issue the resident a card at the counter and log in at the portal with it."""
    key = new_card_key()
    card = pb_grpc.CardsStub(as_municipality).IssueCard(
        pb.IssueCardRequest(token=municipality_token, csr_pem=make_csr(key))
    )
    authority = rpb_grpc.ResidentAuthorityStub(as_gateway)
    challenge = authority.IssueChallenge(rpb.IssueChallengeRequest(audience=audience))
    message = login_challenge_message(challenge.nonce, audience, challenge.issued_at)
    opened = authority.OpenGrant(
        rpb.OpenGrantRequest(
            certificate_pem=card.certificate_pem.decode(),
            nonce=challenge.nonce,
            audience=audience,
            issued_at=challenge.issued_at,
            signature=sign(key, message),
        )
    )
    return PortalLogin(
        key, card.certificate_pem.decode(), str(opened.token), str(opened.grant), authority
    )


def signed_fields(method: str, request: Any) -> dict[str, str]:
    """What the resident's card approves for a sensitive portal call."""
    action = ACTS_FOR_RESIDENT[method]
    if action == "set_locks":
        return {"locks": ",".join(sorted(set(request.locks)))}
    if action == "reissue_number":
        return {"reason": request.reason}
    return {"year": str(dt.datetime.now(JST).year)}


class _Details(
    collections.namedtuple(
        "_Details",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    pass


class ResidentDevice(grpc.UnaryUnaryClientInterceptor):
    """Adds the logged-in resident's grant (and a signed step-up) to portal calls."""

    def __init__(self) -> None:
        self._logins: dict[str, PortalLogin] = {}
        self._lock = threading.Lock()

    def remember(self, login: PortalLogin) -> PortalLogin:
        """Act for this resident whenever a call names their portal token."""
        with self._lock:
            self._logins[login.token] = login
        return login

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        method = client_call_details.method
        if isinstance(method, bytes):
            method = method.decode()
        tokens = tokens_of(request) if method in ACTS_FOR_RESIDENT else []
        with self._lock:
            login = self._logins.get(tokens[0]) if tokens else None
        if login is not None:
            action = ACTS_FOR_RESIDENT[method]
            extra = login.metadata(action, signed_fields(method, request) if action else None)
            metadata = tuple(client_call_details.metadata or ()) + extra
            client_call_details = _Details(
                client_call_details.method,
                client_call_details.timeout,
                metadata,
                client_call_details.credentials,
                client_call_details.wait_for_ready,
                client_call_details.compression,
            )
        return continuation(client_call_details, request)


def portal_login_for(
    as_municipality: grpc.Channel,
    as_gateway: grpc.Channel,
    my_number: str,
    facts: pb.BasicFacts,
) -> PortalLogin:
    """:func:`portal_login` for a resident known by number and facts: the municipality's
    counter links them (the portal itself may not), issues a card, and the card logs in."""
    token = pb_grpc.RegistryStub(as_municipality).Link(
        pb.LinkRequest(my_number=my_number, facts=facts)
    )
    return portal_login(as_municipality, as_gateway, str(token.token))
