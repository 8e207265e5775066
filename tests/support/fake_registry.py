"""One in-memory registry for unit tests: the :class:`RegistryClient` interface, no network.

Tokens are derived from the number (``tok-`` + 16 hex digits of its SHA-256), so a test can
compute a person's token with :meth:`FakeRegistry.link`. Hub queries are answered from
``answers[(provider, item)]`` (a function of the recorded call; a missing answer is NotFound,
as the hub says when a provider holds nothing); every call is recorded for the assertions.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mynumber_core import errors
from mynumber_core.facts import BasicFacts
from mynumber_core.payout_attestation import VERIFIED_FIELD, PayoutAttestation
from mynumber_core.registry_client import (
    BatchOutcome,
    CardHolderRecord,
    QuerySpec,
    RegistryClient,
    RevocationList,
)
from mynumber_core.registry_records import LinkOutcome
from mynumber_core.resident_grants import Acting

Answer = Callable[[dict[str, Any]], dict[str, Any]]
_NOT_FOUND = 5  # grpc.StatusCode.NOT_FOUND's number, as BatchOutcome carries it


def token_for(my_number: str) -> str:
    """The token the fake hands out for a number."""
    return "tok-" + hashlib.sha256(my_number.encode()).hexdigest()[:16]


class FakeRegistry(RegistryClient):
    """Answers from tables; records every call (``links``, ``queries``, ``published``...)."""

    def __init__(self) -> None:  # no channels: nothing leaves the process
        self.answers: dict[tuple[str, str], Answer] = {}
        self.queries: list[dict[str, Any]] = []
        self.links: list[str] = []
        self.published: list[dict[str, Any]] = []
        self.claim_pins: dict[str, str] = {}
        """token -> the claim PIN verify_claim_pin accepts (no entry: any PIN is refused)."""
        self.pin_checks: list[tuple[str, str]] = []
        self.card_holders: dict[str, CardHolderRecord] = {}
        self.revocation: RevocationList | None = None
        self.updates: list[tuple[str, BasicFacts, bool]] = []
        self.unattested: set[str] = set()
        """Tokens whose payout account the registry does not attest (a forged portal answer)."""
        self.recorded_accounts: list[tuple[str, dict[str, str]]] = []
        self.authorised_events: list[tuple[str, str, str]] = []
        self.unlinkable: set[str] = set()
        """Numbers link_many answers NOT_FOUND (no resident matches them)."""

    def link(self, my_number: str, facts: BasicFacts) -> str:
        self.links.append(my_number)
        return token_for(my_number)

    def link_many(self, records: Sequence[tuple[str, BasicFacts]]) -> list[LinkOutcome]:
        out = []
        for number, _ in records:
            if number in self.unlinkable:
                out.append(LinkOutcome(code=_NOT_FOUND, message="no registered resident matches"))
            else:
                self.links.append(number)
                out.append(LinkOutcome(token_for(number)))
        return out

    def register(self, facts: BasicFacts, idempotency_key: str) -> tuple[str, str]:
        raise errors.Unavailable("registry: the fake registry does not issue numbers")

    def update_facts(self, token: str, facts: BasicFacts, *, deceased: bool = False) -> None:
        self.updates.append((token, facts, deceased))

    def reissue(
        self, token: str, reason: str, idempotency_key: str, *, acting: Acting | None = None
    ) -> str:
        raise errors.Unavailable("registry: the fake registry does not issue numbers")

    def query(
        self,
        token: str,
        provider: str,
        item: str,
        procedure: str,
        request_id: str,
        params: Mapping[str, Any] | None = None,
        *,
        acting: Acting | None = None,
    ) -> dict[str, Any]:
        call = {
            "token": token,
            "provider": provider,
            "item": item,
            "procedure": procedure,
            "request_id": request_id,
            "params": dict(params or {}),
        }
        self.queries.append(call)
        answer = self.answers.get((provider, item))
        if answer is None:
            raise errors.NotFound(f"registry: {provider}: no {item}")
        return answer(call)

    def batch_query(
        self,
        queries: Sequence[QuerySpec],
        *,
        acting: Acting | None = None,
        timeout: float | None = None,
    ) -> list[BatchOutcome]:
        outcomes = []
        for q in queries:
            try:
                data = self.query(q.token, q.provider, q.item, q.procedure, q.request_id, q.params)
            except errors.NotFound as exc:
                outcomes.append(BatchOutcome(q.request_id, _NOT_FOUND, exc.message, {}, 0))
            else:
                outcomes.append(BatchOutcome(q.request_id, 0, "", data, len(self.queries)))
        return outcomes

    def publish(
        self,
        token: str,
        event_type: str,
        event_id: str,
        payload: Mapping[str, Any],
        *,
        procedure: str,
        audience: Sequence[str] = (),
    ) -> list[str]:
        self.published.append(
            {
                "token": token,
                "event_type": event_type,
                "event_id": event_id,
                "payload": dict(payload),
                "procedure": procedure,
                "audience": list(audience),
            }
        )
        return list(audience)

    def deliver_candidate_notice(
        self,
        reference: str,
        event_type: str,
        event_id: str,
        payload: Mapping[str, Any],
        *,
        procedure: str,
    ) -> str:
        """Record the delivery; the token answered is ``token-for-<reference>``."""
        self.published.append(
            {
                "token": f"notify:{reference}",
                "event_type": event_type,
                "event_id": event_id,
                "payload": dict(payload),
                "procedure": procedure,
                "audience": ["portal"],
            }
        )
        return f"token-for-{reference}"

    def verify_claim_pin(
        self, token: str, pin: str, procedure: str, *, acting: Acting | None = None
    ) -> None:
        self.pin_checks.append((token, procedure))
        if self.claim_pins.get(token) != pin:
            raise errors.PermissionDenied("registry: the claim PIN is wrong")

    def revocation_list(self) -> RevocationList:
        if self.revocation is None:
            raise errors.Unavailable("registry: no revocation list in this test")
        return self.revocation

    def identify_card(self, serial: str) -> CardHolderRecord:
        holder = self.card_holders.get(serial)
        if holder is None:
            raise errors.NotFound("registry: no card with this serial")
        return holder

    def payout_account(self, token: str, procedure: str, request_id: str) -> dict[str, Any]:
        """The portal's answer, attested unless the token is in ``unattested``."""
        account = self.query(token, "portal", "payout_account", procedure, request_id)
        return {**account, VERIFIED_FIELD: token not in self.unattested}

    def payout_attestation(self, token: str) -> PayoutAttestation:
        raise errors.NotFound("registry: the fake registry keeps no payout attestations")

    def record_payout_account(
        self, token: str, account: Mapping[str, str], salt: bytes, *, acting: Acting
    ) -> str:
        self.recorded_accounts.append((token, dict(account)))
        return hashlib.sha256(salt).hexdigest()

    def authorise_event(
        self, token: str, event_type: str, procedure: str, *, acting: Acting
    ) -> str:
        self.authorised_events.append((token, event_type, procedure))
        return uuid.uuid4().hex
