"""The card PIN's online step for the resident's device (``mynumber card`` and the like):
relays to the registry, the card authority, which counts the tries per card (an access-key
nonce, the evaluation, the confirmation). No session: unlocking the card comes before logging
in with it."""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from mynumber_core import errors
from mynumber_core.card import AccessProof
from services.gateway.usecases.card_pin import CardPin

router = APIRouter(prefix="/card/pin", tags=["card"])

# What _bytes and the registry accept, stated in the schema (see routers/fields.py).
SERIAL_PATTERN = r"^0*[1-9A-Fa-f][0-9A-Fa-f]*$"
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def _bytes(field: str, value: str, limit: int) -> bytes:
    try:
        raw = base64.b64decode(value.encode(), validate=True)
    except (binascii.Error, ValueError):
        raise errors.InvalidInput(f"{field} must be standard base64") from None
    if len(raw) > limit:
        raise errors.InvalidInput(f"{field} is too long (at most {limit} bytes)")
    return raw


def _pins(request: Request) -> CardPin:
    return CardPin(request.app.state.portal.ctx)


class ChallengeIn(BaseModel):
    """The card whose file's access key will sign an evaluation."""

    serial: str = Field(
        max_length=40, pattern=SERIAL_PATTERN, description="the card's certificate serial (hex)"
    )


class ChallengeOut(BaseModel):
    """A single-use nonce (two minutes) for the card file's access key."""

    nonce: str


class EvaluateIn(BaseModel):
    """A blinded PIN for one card, with the card file's proof of possession."""

    serial: str = Field(
        max_length=40, pattern=SERIAL_PATTERN, description="the card's certificate serial (hex)"
    )
    blinded_element: str = Field(
        max_length=64, pattern=BASE64_PATTERN, description="RFC 9497 BlindedElement, base64"
    )
    access_nonce: str = Field(
        default="", max_length=64, description="from /challenge (required once registered)"
    )
    access_signature: str = Field(
        default="",
        max_length=200,
        pattern=BASE64_PATTERN,
        description="base64 ECDSA by the file's access key over card_access_message",
    )


class EvaluateOut(BaseModel):
    """The registry's evaluation and proof (RFC 9497 VOPRF)."""

    attempt_id: str
    evaluation: str = Field(description="EvaluatedElement and DLEQ proof, base64")
    public_key: str = Field(description="the card's OPRF public key, base64")
    tries_left: int = Field(description="tries left should this one be wrong")


class ConfirmIn(BaseModel):
    """How the attempt went, with the card's signature when the PIN was right."""

    serial: str = Field(max_length=40, pattern=SERIAL_PATTERN)
    attempt_id: str = Field(min_length=32, max_length=32, description="as /evaluate returned it")
    ok: bool
    signature: str = Field(
        default="", max_length=200, pattern=BASE64_PATTERN, description="base64 ECDSA, when ok"
    )
    access_public_key: str = Field(
        default="",
        max_length=200,
        pattern=BASE64_PATTERN,
        description="base64 DER public key of the file's access key (registered when ok)",
    )


class ConfirmOut(BaseModel):
    """The card's counter after the report."""

    tries_left: int
    locked: bool


@router.post("/challenge", response_model=ChallengeOut)
def challenge(body: ChallengeIn, request: Request) -> ChallengeOut:
    """A nonce for the card file's access key to sign with the next evaluation."""
    return ChallengeOut(nonce=_pins(request).challenge(body.serial))


@router.post("/evaluate", response_model=EvaluateOut)
def evaluate(body: EvaluateIn, request: Request) -> EvaluateOut:
    """Evaluate a blinded card PIN (counted per card: 3 wrong ones lock the card; only with
    the card file's proof of possession once its access key is registered)."""
    access = (
        AccessProof(body.access_nonce, _bytes("access_signature", body.access_signature, 150))
        if body.access_nonce or body.access_signature
        else None
    )
    answer = _pins(request).evaluate(
        body.serial, _bytes("blinded_element", body.blinded_element, 48), access
    )
    return EvaluateOut(
        attempt_id=answer.attempt_id,
        evaluation=base64.b64encode(answer.evaluation).decode(),
        public_key=base64.b64encode(answer.public_key).decode(),
        tries_left=answer.tries_left,
    )


@router.post("/confirm", response_model=ConfirmOut)
def confirm(body: ConfirmIn, request: Request) -> ConfirmOut:
    """Report a card PIN attempt (a right PIN resets the counter, with the card's signature)."""
    verdict = _pins(request).confirm(
        body.serial,
        body.attempt_id,
        body.ok,
        _bytes("signature", body.signature, 150),
        _bytes("access_public_key", body.access_public_key, 150),
    )
    return ConfirmOut(tries_left=verdict.tries_left, locked=verdict.locked)
