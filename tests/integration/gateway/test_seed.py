"""The portal's demo seeding registers payout accounts through the real API."""

from __future__ import annotations

from mynumber_dev.seed_gateway import seed_portal
from tests.integration.gateway.portal_env import PortalEnv


def test_seed_portal_registers_payout_accounts(env: PortalEnv) -> None:
    holders = [env.make_resident(), env.make_resident()]
    demos = []
    for h in holders:
        h.demo.card_file, h.demo.card_pin = str(h.card_path), h.pin
        demos.append(h.demo)
    assert seed_portal(env.url, demos) == 2
    client = env.login(holders[0])
    got = client.get("/api/payout-account").json()
    assert got["registered"] and got["holder_kana"] == holders[0].demo.name_kana
