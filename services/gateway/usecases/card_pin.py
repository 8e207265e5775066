"""The card PIN's online step, relayed for the resident's own device (issue 15).

A ``mynumber-card/2`` file opens only with the registry's OPRF evaluation of its PIN. The
resident's device reaches only the portal, so the portal relays the two calls
(``Cards.EvaluateCardPin`` and ``Cards.ConfirmCardPin``) under its own mTLS identity. It
sees a blinded group element and the registry's answer, never the PIN, and it adds no state:
the registry counts the tries per card, so relaying through the portal (or around it) gives
nobody more than three.
"""

from __future__ import annotations

from mynumber_core.card import AccessProof, PinEvaluation, PinVerdict
from services.gateway.usecases.context import PortalContext


class CardPin:
    """Evaluate and confirm a card PIN at the registry, for a resident's device."""

    def __init__(self, ctx: PortalContext) -> None:
        self._authority = ctx.registry.pin_authority()

    def challenge(self, serial: str) -> str:
        """A nonce for the card file's access key (proof that the file is present)."""
        return self._authority.access_challenge(serial)

    def evaluate(
        self, serial: str, blinded_element: bytes, access: AccessProof | None = None
    ) -> PinEvaluation:
        """One counted evaluation (the registry refuses a locked card, and one without the
        card file's proof once its access key is registered)."""
        return self._authority.evaluate_pin(serial, blinded_element, access)

    def confirm(
        self,
        serial: str,
        attempt_id: str,
        ok: bool,
        signature: bytes,
        access_public_key: bytes = b"",
    ) -> PinVerdict:
        """Report the attempt; a card signature over it resets the card's counter (and
        registers the file's access key)."""
        return self._authority.confirm_pin(serial, attempt_id, ok, signature, access_public_key)
