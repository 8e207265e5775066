"""The card authority's online PIN step over gRPC (``Cards.EvaluateCardPin`` and
``Cards.ConfirmCardPin``): a :class:`~mynumber_core.card.PinAuthority` for the callers that
reach the registry themselves (the municipality counter at issue, the portal relaying for a
resident), and :class:`PortalPinAuthority` for a resident's device, which reaches only the
portal's relay (``/api/card/pin/...``). Errors come back as domain errors.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import grpc
import httpx
from mynumber.registry.v1 import registry_pb2 as pb

from mynumber_core import errors
from mynumber_core.card import AccessProof, PinEvaluation, PinVerdict
from mynumber_core.rpc_errors import as_domain_error

RPC_TIMEOUT = 10.0


def _portal_client(portal: str) -> httpx.Client:
    parts = urlsplit(portal.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise errors.InvalidInput(f"the portal must be an http(s) URL, not {portal[:100]!r}")
    return httpx.Client(base_url=f"{parts.scheme}://{parts.netloc}", timeout=RPC_TIMEOUT)


class GrpcPinAuthority:
    """A PinAuthority over a ``CardsStub`` (the caller's mTLS identity decides what it may)."""

    def __init__(self, cards: Any, *, timeout: float = RPC_TIMEOUT) -> None:
        self._cards = cards
        self._timeout = timeout

    def access_challenge(self, serial: str) -> str:
        """A nonce for the card file's access key (Cards.IssueCardAccessChallenge)."""
        try:
            answer = self._cards.IssueCardAccessChallenge(
                pb.IssueCardAccessChallengeRequest(serial=serial), timeout=self._timeout
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        return str(answer.nonce)

    def evaluate_pin(
        self, serial: str, blinded_element: bytes, access: AccessProof | None = None
    ) -> PinEvaluation:
        """One counted evaluation of a blinded PIN (with the file's proof of possession)."""
        try:
            answer = self._cards.EvaluateCardPin(
                pb.EvaluateCardPinRequest(
                    serial=serial,
                    blinded_element=blinded_element,
                    access_nonce=access.nonce if access else "",
                    access_signature=access.signature if access else b"",
                ),
                timeout=self._timeout,
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        return PinEvaluation(
            answer.attempt_id, answer.evaluation, answer.public_key, answer.tries_left
        )

    def confirm_pin(
        self,
        serial: str,
        attempt_id: str,
        ok: bool,
        signature: bytes,
        access_public_key: bytes = b"",
    ) -> PinVerdict:
        """Report an attempt (``ok`` with the card's signature resets the counter and
        registers the file's access key)."""
        try:
            answer = self._cards.ConfirmCardPin(
                pb.ConfirmCardPinRequest(
                    serial=serial,
                    attempt_id=attempt_id,
                    ok=ok,
                    signature=signature,
                    access_public_key=access_public_key,
                ),
                timeout=self._timeout,
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        return PinVerdict(answer.tries_left, answer.locked)


def portal_refusal(response: httpx.Response) -> str | None:
    """What the portal's JSON API said when it refused a call (``portal said 4xx: message``,
    from its error body, else the start of its text), or None for a success."""
    if response.status_code < 400:
        return None
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200] or response.reason_phrase
    return f"portal said {response.status_code}: {message}"


class PortalPinAuthority:
    """The card PIN's online step through the portal's relay (``/api/card/pin/...``)."""

    def __init__(self, portal: str, client: Callable[[str], httpx.Client] | None = None) -> None:
        self._portal = portal
        self._client = client or _portal_client

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._client(self._portal) as client:
            try:
                response = client.post(path, json=body)
            except httpx.HTTPError as exc:
                raise errors.Unavailable(f"cannot reach the portal: {exc}") from None
        refused = portal_refusal(response)
        if refused is not None:
            raise errors.FailedPrecondition(refused)
        data: dict[str, Any] = response.json()
        return data

    def access_challenge(self, serial: str) -> str:
        """A nonce for the card file's access key, relayed by the portal."""
        return str(self._post("/api/card/pin/challenge", {"serial": serial})["nonce"])

    def evaluate_pin(
        self, serial: str, blinded_element: bytes, access: AccessProof | None = None
    ) -> PinEvaluation:
        """One counted evaluation, relayed by the portal."""
        body = {"serial": serial, "blinded_element": base64.b64encode(blinded_element).decode()}
        if access is not None:
            body["access_nonce"] = access.nonce
            body["access_signature"] = base64.b64encode(access.signature).decode()
        data = self._post("/api/card/pin/evaluate", body)
        return PinEvaluation(
            str(data["attempt_id"]),
            base64.b64decode(data["evaluation"]),
            base64.b64decode(data["public_key"]),
            int(data["tries_left"]),
        )

    def confirm_pin(
        self,
        serial: str,
        attempt_id: str,
        ok: bool,
        signature: bytes,
        access_public_key: bytes = b"",
    ) -> PinVerdict:
        """Report the attempt (a right PIN, signed by the card, resets the counter)."""
        data = self._post(
            "/api/card/pin/confirm",
            {
                "serial": serial,
                "attempt_id": attempt_id,
                "ok": ok,
                "signature": base64.b64encode(signature).decode(),
                "access_public_key": base64.b64encode(access_public_key).decode(),
            },
        )
        return PinVerdict(int(data["tries_left"]), bool(data["locked"]))
