"""The client every domain uses to talk to the registry: link, query, publish, resolve.

Failed calls come back as domain exceptions with the registry's message, so a domain's own
callers see the right status code.

Why about 580 lines: this is the *one* port to the registry (issue 9) — every registry call the
services make, each a few lines over :func:`call_registry` — so a new call has one place to go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from mynumber.registry.v1 import (
    reconcile_pb2,
    reconcile_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    resident_pb2,
    resident_pb2_grpc,
)

from mynumber_core import errors
from mynumber_core.card_pin_client import GrpcPinAuthority
from mynumber_core.channels import Channels
from mynumber_core.facts import BasicFacts
from mynumber_core.payout_attestation import PayoutAttestation, attested_account
from mynumber_core.registry_records import (
    ClaimPin,
    LinkOutcome,
    LogEntry,
    LogPage,
    SignedCheckpoint,
)
from mynumber_core.resident_grants import Acting, OpenedGrant, RegistryChallenge
from mynumber_core.rpc_errors import as_domain_error
from mynumber_core.sealed_client import SealedExchanges
from mynumber_core.sealing import DomainKeys
from mynumber_core.structs import to_struct

_SEX = {"male": registry_pb2.SEX_MALE, "female": registry_pb2.SEX_FEMALE}
_ACTIVE_STATUSES = frozenset(
    {
        registry_pb2.PERSON_STATUS_ACTIVE,
        registry_pb2.PERSON_STATUS_NUMBER_REISSUED,
        registry_pb2.PERSON_STATUS_UNSPECIFIED,
    }
)

_OUTCOMES = {
    registry_pb2.OUTCOME_PROVIDED: "provided",
    registry_pb2.OUTCOME_DENIED: "denied",
    registry_pb2.OUTCOME_FAILED: "failed",
    registry_pb2.OUTCOME_DELIVERED: "delivered",
}

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")


def call_registry(
    method: Callable[..., _Resp],
    request: _Req,
    acting: Acting | None = None,
    *,
    timeout: float | None = None,
) -> _Resp:
    """Call one registry RPC; a failed call comes back as the matching domain error.

    The one place registry errors are mapped: every :class:`RegistryClient` method goes
    through it (``as_domain_error``, peer ``registry``). ``acting``: the resident's grant
    (and step-up) for a portal call made in their name.
    """
    kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    try:
        if acting is not None:
            return method(request, metadata=acting.metadata(), **kwargs)
        return method(request, **kwargs)
    except grpc.RpcError as exc:
        raise as_domain_error(exc, "registry") from None


def facts_to_proto(facts: BasicFacts) -> registry_pb2.BasicFacts:
    """Protobuf form of validated facts."""
    return registry_pb2.BasicFacts(
        name=facts.name,
        birth_date=facts.birth_date.isoformat(),
        sex=_SEX[facts.sex],
        address=facts.address,
        name_kana=facts.name_kana,
    )


@dataclass(frozen=True)
class QuerySpec:
    """One query of a batch."""

    token: str
    provider: str
    item: str
    procedure: str
    request_id: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchOutcome:
    """The result of one query in a batch: data, or a status code and message."""

    request_id: str
    code: int
    message: str
    data: dict[str, Any]
    log_index: int


@dataclass(frozen=True)
class RevocationList:
    """The card CA's current revocation list and the CA certificate (both PEM)."""

    crl_pem: bytes
    ca_certificate_pem: bytes


@dataclass(frozen=True)
class CardHolderRecord:
    """Who holds a card, as the caller's token; ``active`` is False for a deceased or
    otherwise inactive person."""

    token: str
    active: bool


class RegistryClient:
    """The one port to the registry: typed calls over its services, errors mapped in one place.

    The gRPC stubs are private; callers get plain values and domain errors.
    """

    def __init__(self, channels: Channels, keys: DomainKeys | None = None) -> None:
        channel = channels.channel("registry")
        self._registry = registry_pb2_grpc.RegistryStub(channel)
        self._hub = registry_pb2_grpc.HubStub(channel)
        self._log = registry_pb2_grpc.ExchangeLogStub(channel)
        self._cards = registry_pb2_grpc.CardsStub(channel)
        self._residents = resident_pb2_grpc.ResidentAuthorityStub(channel)
        self._reconciliation = reconcile_pb2_grpc.ReconciliationStub(channel)
        # Answers arrive sealed to this domain's HPKE key; events leave sealed (keys needed).
        self._sealed = SealedExchanges(self._hub, keys)

    @property
    def keys(self) -> DomainKeys:
        """This domain's HPKE keys (a clear error for a client built without them)."""
        return self._sealed.keys

    def pin_authority(self) -> GrpcPinAuthority:
        """The card PIN's online step (Cards.EvaluateCardPin / ConfirmCardPin) over this client."""
        return GrpcPinAuthority(self._cards)

    def link(self, my_number: str, facts: BasicFacts) -> str:
        """Exchange a number plus the four facts for this domain's token."""
        response = call_registry(
            self._registry.Link,
            registry_pb2.LinkRequest(my_number=my_number, facts=facts_to_proto(facts)),
        )
        return str(response.token)

    def link_many(self, records: Sequence[tuple[str, BasicFacts]]) -> list[LinkOutcome]:
        """Registry.LinkBatch: many (number, facts) records in one call, each answered on its
        own (a token, or a status code and message), in order. At most 10,000 per call."""
        response = call_registry(
            self._registry.LinkBatch,
            registry_pb2.LinkBatchRequest(
                records=[
                    registry_pb2.LinkRequest(my_number=number, facts=facts_to_proto(facts))
                    for number, facts in records
                ]
            ),
        )
        return [LinkOutcome(r.token, r.code, r.message) for r in response.results]

    def register(self, facts: BasicFacts, idempotency_key: str) -> tuple[str, str]:
        """Registry.RegisterResident (municipality): returns (my_number, token)."""
        response = call_registry(
            self._registry.RegisterResident,
            registry_pb2.RegisterResidentRequest(
                facts=facts_to_proto(facts), idempotency_key=idempotency_key
            ),
        )
        return str(response.my_number), str(response.token)

    def update_facts(self, token: str, facts: BasicFacts, *, deceased: bool = False) -> None:
        """Registry.UpdateFacts (municipality)."""
        call_registry(
            self._registry.UpdateFacts,
            registry_pb2.UpdateFactsRequest(
                token=token, facts=facts_to_proto(facts), deceased=deceased
            ),
        )

    def reissue(
        self, token: str, reason: str, idempotency_key: str, *, acting: Acting | None = None
    ) -> str:
        """Registry.ReissueNumber: the new number, for the new notification."""
        response = call_registry(
            self._registry.ReissueNumber,
            registry_pb2.ReissueNumberRequest(
                token=token, reason=reason, idempotency_key=idempotency_key
            ),
            acting,
        )
        return str(response.my_number)

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
        """Ask another domain for one item through the hub; the answer is opened here."""
        asked = self._sealed.asked(provider, item, procedure, request_id, params)
        response = call_registry(
            self._hub.Query,
            registry_pb2.QueryRequest(
                token=token,
                provider=provider,
                item=item,
                procedure=procedure,
                request_id=request_id,
                params=to_struct(params),
                reply_to=self._sealed.reply_to(),
            ),
            acting,
        )
        return self._sealed.open_answer(asked, response)

    def batch_query(
        self,
        queries: Sequence[QuerySpec],
        *,
        acting: Acting | None = None,
        timeout: float | None = None,
    ) -> list[BatchOutcome]:
        """Many queries in one call; each result carries its own status (an answer that
        does not open is DATA_LOSS, reported to the hub and recorded). ``timeout``: seconds
        for this call instead of the channel's default (still capped by the incoming call's
        deadline)."""
        asked = [
            self._sealed.asked(q.provider, q.item, q.procedure, q.request_id, q.params)
            for q in queries
        ]
        request = registry_pb2.BatchQueryRequest(
            queries=[
                registry_pb2.QueryRequest(
                    token=q.token,
                    provider=q.provider,
                    item=q.item,
                    procedure=q.procedure,
                    request_id=q.request_id,
                    params=to_struct(q.params),
                )
                for q in queries
            ],
            reply_to=self._sealed.reply_to(),
        )
        response = call_registry(self._hub.BatchQuery, request, acting, timeout=timeout)
        outcomes = []
        for r, (data, failure) in zip(
            response.results, self._sealed.open_batch(asked, response), strict=True
        ):
            if failure is not None:
                code, message = failure.grpc_status.value[0], failure.message
                outcomes.append(BatchOutcome(r.request_id, code, message, {}, r.log_index))
            else:
                outcomes.append(
                    BatchOutcome(r.request_id, r.code, r.message, data or {}, r.log_index)
                )
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
        """Publish an event about a person to the domains that know them, the payload
        sealed to each receiving domain's key."""
        sealed = self._sealed.seal_event(
            payload,
            event_type=event_type,
            event_id=event_id,
            procedure=procedure,
            audience=audience,
        )
        response = call_registry(
            self._hub.Publish,
            registry_pb2.PublishRequest(
                token=token,
                event_type=event_type,
                event_id=event_id,
                sealed_payloads=sealed,
                audience=list(audience),
                procedure=procedure,
            ),
        )
        return list(response.delivered_to)

    def deliver_candidate_notice(
        self,
        reference: str,
        event_type: str,
        event_id: str,
        payload: Mapping[str, Any],
        *,
        procedure: str,
    ) -> str:
        """Reconciliation.DeliverCandidateNotice (pension): the payload sealed to the
        portal's key, delivered by the registry to the resident behind a "notify the
        resident" reference; returns pension's own token for that resident."""
        sealed = self._sealed.seal_event(
            payload,
            event_type=event_type,
            event_id=event_id,
            procedure=procedure,
            audience=["portal"],
        )
        if "portal" not in sealed:
            raise errors.Unavailable(
                "the key directory has no key for the portal yet; retry with the same event_id"
            )
        response = call_registry(
            self._reconciliation.DeliverCandidateNotice,
            reconcile_pb2.CandidateNoticeRequest(
                notify_reference=reference,
                event_type=event_type,
                event_id=event_id,
                procedure=procedure,
                sealed_payload=sealed["portal"],
            ),
        )
        return str(response.token)

    def verify_claim_pin(
        self, token: str, pin: str, procedure: str, *, acting: Acting | None = None
    ) -> None:
        """Registry.VerifyClaimPin: the claimant's claim PIN under protect_claims.

        PermissionDenied for a wrong PIN, RateLimited after too many tries.
        """
        call_registry(
            self._registry.VerifyClaimPin,
            registry_pb2.VerifyClaimPinRequest(token=token, pin=pin, procedure=procedure),
            acting,
        )

    def revocation_list(self) -> RevocationList:
        """Cards.GetRevocationList: the card CA's CRL and certificate."""
        response = call_registry(
            self._cards.GetRevocationList, registry_pb2.GetRevocationListRequest()
        )
        return RevocationList(bytes(response.crl_pem), bytes(response.ca_certificate_pem))

    def identify_card(self, serial: str) -> CardHolderRecord:
        """Cards.IdentifyCard: the card's holder as the caller's token (errors as raised)."""
        response = call_registry(
            self._cards.IdentifyCard, registry_pb2.IdentifyCardRequest(serial=serial)
        )
        return CardHolderRecord(str(response.token), response.status in _ACTIVE_STATUSES)

    def set_locks(
        self, token: str, locks: Sequence[str], *, acting: Acting | None = None
    ) -> list[str]:
        """Registry.SetLocks (portal): the complete set of the resident's locks now on."""
        response = call_registry(
            self._registry.SetLocks,
            registry_pb2.SetLocksRequest(token=token, locks=list(locks)),
            acting,
        )
        return list(response.locks)

    def issue_claim_pin(self, token: str, *, acting: Acting | None = None) -> ClaimPin:
        """Registry.IssueClaimPin (portal): this year's claim PIN; the registry keeps a hash."""
        response = call_registry(
            self._registry.IssueClaimPin, registry_pb2.IssueClaimPinRequest(token=token), acting
        )
        return ClaimPin(str(response.pin), int(response.year))

    def log_checkpoint(self) -> SignedCheckpoint:
        """ExchangeLog.GetCheckpoint: the latest signed checkpoint and the log's key."""
        response = call_registry(self._log.GetCheckpoint, registry_pb2.GetCheckpointRequest())
        return SignedCheckpoint(
            str(response.checkpoint), str(response.key_name), bytes(response.public_key)
        )

    def log_consistency_proof(self, first_size: int, second_size: int) -> list[bytes]:
        """ExchangeLog.GetConsistencyProof between two tree sizes."""
        response = call_registry(
            self._log.GetConsistencyProof,
            registry_pb2.GetConsistencyProofRequest(first_size=first_size, second_size=second_size),
        )
        return [bytes(node) for node in response.proof]

    def log_entries(
        self,
        token: str,
        *,
        page_size: int,
        newest_first: bool = False,
        agency: str = "",
        before_index: int | None = None,
        time_from: dt.datetime | None = None,
        time_to: dt.datetime | None = None,
        include_pending: bool = False,
        acting: Acting | None = None,
        after_index: int | None = None,
    ) -> LogPage:
        """ExchangeLog.ListEntries: a page of the person's entries with inclusion proofs
        (entries after ``after_index`` and before ``before_index``, at or after
        ``time_from``, before ``time_to``).

        With ``include_pending``, entries newer than the newest signed checkpoint are listed
        too, marked ``pending`` (no proof yet); without it the registry waits briefly for a
        checkpoint covering the log and lists only what it covers."""
        request = registry_pb2.ListEntriesRequest(
            token=token,
            page_size=page_size,
            newest_first=newest_first,
            agency=agency,
            include_pending=include_pending,
        )
        if before_index is not None:
            request.before_index, request.has_before = before_index, True
        if after_index is not None:
            request.after_index, request.has_after = after_index, True
        if time_from is not None:
            request.time_from.FromDatetime(time_from)
        if time_to is not None:
            request.time_to.FromDatetime(time_to)
        response = call_registry(self._log.ListEntries, request, acting)
        return LogPage(
            entries=[
                LogEntry(
                    index=e.index,
                    time=e.time.ToDatetime(dt.UTC),
                    requester=e.requester,
                    provider=e.provider,
                    item=e.item,
                    procedure=e.procedure,
                    outcome=_OUTCOMES.get(e.outcome, "unknown"),
                    reason=e.reason,
                    leaf=bytes(e.leaf),
                    inclusion_proof=[bytes(node) for node in e.inclusion_proof],
                    pending=bool(e.pending),
                )
                for e in response.entries
            ],
            checkpoint=str(response.checkpoint),
            more=bool(response.more),
        )

    # ------------------------------------------------------------ the resident's authority

    def resident_challenge(
        self, *, audience: str = "", action: str = "", grant: str | None = None
    ) -> RegistryChallenge:
        """ResidentAuthority.IssueChallenge: a login challenge for ``audience``, or a step-up
        challenge for ``action`` under ``grant``."""
        request = resident_pb2.IssueChallengeRequest(audience=audience, action=action)
        acting = Acting(grant) if grant else None
        response = call_registry(self._residents.IssueChallenge, request, acting)
        return RegistryChallenge(
            str(response.nonce), int(response.issued_at), response.expires_at.ToDatetime(dt.UTC)
        )

    def open_grant(
        self, certificate_pem: str, nonce: str, audience: str, issued_at: int, signature: bytes
    ) -> OpenedGrant:
        """ResidentAuthority.OpenGrant: a grant for the card that signed a login challenge."""
        response = call_registry(
            self._residents.OpenGrant,
            resident_pb2.OpenGrantRequest(
                certificate_pem=certificate_pem,
                nonce=nonce,
                audience=audience,
                issued_at=issued_at,
                signature=signature,
            ),
        )
        return OpenedGrant(
            str(response.grant),
            str(response.token),
            response.expires_at.ToDatetime(dt.UTC),
            str(response.serial),
        )

    def end_grant(self, grant: str) -> None:
        """ResidentAuthority.EndGrant (logout)."""
        call_registry(
            self._residents.EndGrant,
            resident_pb2.EndGrantRequest(),
            Acting(grant),
        )

    def record_payout_account(
        self, token: str, account: Mapping[str, str], salt: bytes, *, acting: Acting
    ) -> str:
        """ResidentAuthority.RecordPayoutAccount (portal): record the account the resident's
        card approved (the step-up in ``acting``); returns the registry's commitment."""
        response = call_registry(
            self._residents.RecordPayoutAccount,
            resident_pb2.RecordPayoutAccountRequest(token=token, account=dict(account), salt=salt),
            acting,
        )
        return str(response.commitment)

    def payout_attestation(self, token: str) -> PayoutAttestation:
        """ResidentAuthority.GetPayoutAttestation (tax, pension); NotFound when the resident
        never recorded an account with their card."""
        response = call_registry(
            self._residents.GetPayoutAttestation,
            resident_pb2.GetPayoutAttestationRequest(token=token),
        )
        return PayoutAttestation(
            str(response.commitment),
            response.changed_at.ToDatetime(dt.UTC),
            response.confirmed_at.ToDatetime(dt.UTC),
        )

    def payout_account(self, token: str, procedure: str, request_id: str) -> dict[str, Any]:
        """The portal's ``payout_account`` item (an exchange in the resident's log), checked
        against the registry's attestation: ``registry_verified`` says whether it is the
        account the resident's card approved (:func:`attested_account`)."""
        account = self.query(token, "portal", "payout_account", procedure, request_id)
        try:
            attestation: PayoutAttestation | None = self.payout_attestation(token)
        except errors.NotFound:
            attestation = None
        return attested_account(account, attestation)

    def authorise_event(
        self, token: str, event_type: str, procedure: str, *, acting: Acting
    ) -> str:
        """ResidentAuthority.AuthoriseEvent (portal): the event id under which the portal may
        publish this event in the resident's name (grant and step-up in ``acting``)."""
        response = call_registry(
            self._residents.AuthoriseEvent,
            resident_pb2.AuthoriseEventRequest(
                token=token, event_type=event_type, procedure=procedure
            ),
            acting,
        )
        return str(response.event_id)

    def register_passkey(
        self, token: str, credential_json: str, challenge: bytes, origin: str, *, acting: Acting
    ) -> str:
        """ResidentAuthority.RegisterPasskey (portal): the registry verifies the WebAuthn
        registration and keeps the key (grant + ``register_passkey`` step-up in ``acting``)."""
        response = call_registry(
            self._residents.RegisterPasskey,
            resident_pb2.RegisterPasskeyRequest(
                token=token, credential_json=credential_json, challenge=challenge, origin=origin
            ),
            acting,
        )
        return str(response.credential_id)

    def open_passkey_grant(self, nonce: str, audience: str, credential_json: str) -> OpenedGrant:
        """ResidentAuthority.OpenPasskeyGrant: a grant for a passkey assertion over a registry
        login challenge (the nonce's bytes are the WebAuthn challenge)."""
        response = call_registry(
            self._residents.OpenPasskeyGrant,
            resident_pb2.OpenPasskeyGrantRequest(
                nonce=nonce, audience=audience, credential_json=credential_json
            ),
        )
        return OpenedGrant(
            str(response.grant),
            str(response.token),
            response.expires_at.ToDatetime(dt.UTC),
            str(response.serial),
        )
