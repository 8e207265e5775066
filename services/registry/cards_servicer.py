"""gRPC servicer of ``mynumber.registry.v1.Cards``: protobuf ↔ card use cases only."""

from __future__ import annotations

from typing import Any

import grpc
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc

from mynumber_core.interceptors import current_caller
from services.registry.card_pins import CardPins
from services.registry.cards import CardService
from services.registry.domain import PersonStatus

_STATUS = {
    PersonStatus.ACTIVE: pb.PERSON_STATUS_ACTIVE,
    PersonStatus.DECEASED: pb.PERSON_STATUS_DECEASED,
}


def _status(status: str, reissued: bool) -> Any:
    if status == PersonStatus.ACTIVE and reissued:
        return pb.PERSON_STATUS_NUMBER_REISSUED
    return _STATUS.get(PersonStatus(status), pb.PERSON_STATUS_UNSPECIFIED)


class CardsServicer(pb_grpc.CardsServicer):
    """Issue, revoke, publish the CRL, identify; the card PIN's online step."""

    def __init__(self, cards: CardService, pins: CardPins) -> None:
        self._cards = cards
        self._pins = pins

    def IssueCard(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        issued = self._cards.issue(current_caller(), request.token, request.csr_pem)
        return pb.IssueCardResponse(
            serial=issued.serial,
            certificate_pem=issued.certificate_pem,
            ca_certificate_pem=issued.ca_certificate_pem,
        )

    def RevokeCard(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._cards.revoke(current_caller(), request.token, request.serial)
        return pb.RevokeCardResponse()

    def GetRevocationList(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        crl_pem, ca_pem = self._cards.revocation_list()
        return pb.GetRevocationListResponse(crl_pem=crl_pem, ca_certificate_pem=ca_pem)

    def IdentifyCard(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        identified = self._cards.identify(current_caller(), request.serial)
        return pb.IdentifyCardResponse(
            token=identified.token, status=_status(identified.status, identified.reissued)
        )

    def EvaluateCardPin(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        attempt_id, evaluation, public_key, left = self._pins.evaluate(
            current_caller(),
            request.serial,
            request.blinded_element,
            request.access_nonce,
            bytes(request.access_signature),
        )
        return pb.EvaluateCardPinResponse(
            attempt_id=attempt_id, evaluation=evaluation, public_key=public_key, tries_left=left
        )

    def ConfirmCardPin(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        left, locked = self._pins.confirm(
            current_caller(),
            request.serial,
            request.attempt_id,
            request.ok,
            request.signature,
            bytes(request.access_public_key),
        )
        return pb.ConfirmCardPinResponse(tries_left=left, locked=locked)

    def IssueCardAccessChallenge(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        nonce = self._pins.access_challenge(current_caller(), request.serial)
        return pb.IssueCardAccessChallengeResponse(nonce=nonce)

    def UnlockCard(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._pins.unlock(current_caller(), request.token, request.serial)
        return pb.UnlockCardResponse()
