"""Demo data for the portal: log demo residents in with their cards and register their
public-funds receipt accounts, through the portal's real HTTP API (card login, step-up
signature, holder-name check against the municipality's フリガナ).

The portal has no operator gRPC API, and a resident acts on the portal only with their own
card, so the work is in :func:`seed_portal`, which needs the portal's URL and residents whose
cards were issued (``card_file``/``card_pin``). :func:`seed` is the launcher's common hook: it
runs before cards exist, so it does nothing but say so.
"""

from __future__ import annotations

import base64
import random
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import httpx
import structlog

from mynumber_core.card import action_message, login_challenge_message, unlock_card
from mynumber_core.card_pin_client import PortalPinAuthority

if TYPE_CHECKING:
    from mynumber_dev.demo import DemoResident

log = structlog.get_logger("mynumber.seed")
BANKS = ("0001", "0005", "0009", "0010", "0017", "9900")
"""Real-looking bank codes (synthetic accounts)."""


def seed(channel: grpc.Channel, residents: list[DemoResident]) -> None:
    """Launcher hook: the portal is seeded by :func:`seed_portal` once cards exist."""
    del channel
    log.info("portal seeding waits for cards", residents=len(residents))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def seed_portal(portal_url: str, residents: list[DemoResident], *, limit: int = 5) -> int:
    """Register payout accounts for up to ``limit`` residents with cards; returns how many."""
    rng = random.Random(2026)
    done = 0
    for r in residents:
        if done >= limit:
            break
        if not (r.card_file and r.card_pin):
            continue
        card = unlock_card(Path(r.card_file), r.card_pin, PortalPinAuthority(portal_url))
        with httpx.Client(base_url=portal_url, timeout=30) as client:
            challenge = client.post("/api/login/challenge").json()
            message = login_challenge_message(
                challenge["nonce"], challenge["audience"], int(challenge["issued_at"])
            )
            login = client.post(
                "/api/login",
                json={
                    "challenge_id": challenge["challenge_id"],
                    "certificate_pem": card.certificate_pem.decode(),
                    "signature": _b64(card.sign(message)),
                },
            )
            if login.status_code != 200:
                log.warning("portal seed could not log in", status=login.status_code)
                continue
            account = {
                "bank_code": rng.choice(BANKS),
                "branch_code": f"{rng.randrange(1, 999):03d}",
                "account_type": "ordinary",
                "account_number": f"{rng.randrange(10**6, 10**7):07d}",
                "holder_kana": r.name_kana,
            }
            step = client.post(
                "/api/step-up", json={"action": "change_payout_account", "fields": account}
            ).json()
            signed = action_message("change_payout_account", step["fields"], step["nonce"])
            response = client.put(
                "/api/payout-account",
                json={
                    **account,
                    "step_up": {
                        "challenge_id": step["challenge_id"],
                        "certificate_pem": card.certificate_pem.decode(),
                        "signature": _b64(card.sign(signed)),
                    },
                },
            )
            if response.status_code == 200:
                done += 1
            else:
                log.warning("portal seed skipped an account", status=response.status_code)
    return done
