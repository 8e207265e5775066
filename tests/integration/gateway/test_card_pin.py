"""The card PIN can only be guessed online, three times (issue 15), on SQLite and PostgreSQL.

A card file made before issue 15 (``mynumber-card/1``, sealed under scrypt of the PIN)
migrates to ``mynumber-card/2`` on its next successful unlock; from then on the file alone
opens with no PIN. Three wrong PINs lock the card and the resident finds a notice in the
portal; the municipality counter unlocks it. Fifty parallel wrong guesses evaluate exactly
three. The migration also gives the file a PIN-less access key the registry learns, and from
then on a PIN try counts only with the file present: a serial alone spends no try.
"""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from voprf import ristretto

from mynumber_cli.__main__ import cli
from mynumber_core import errors
from mynumber_core.card import (
    CARD_FILE_FORMAT,
    LEGACY_CARD_FILE_FORMAT,
    AccessProof,
    CardError,
    card_access_key,
    card_access_message,
    card_serial,
    load_card,
    make_csr,
    new_card_key,
    oprf_input,
    unlock_card,
    write_card_file,
)
from mynumber_core.card_pin_client import GrpcPinAuthority
from tests.integration.gateway.portal_env import CardHolder, PortalEnv


def _authority(env: PortalEnv) -> GrpcPinAuthority:
    return GrpcPinAuthority(pb_grpc.CardsStub(env.stack.channel("registry", as_identity="gateway")))


_ECDSA = ec.ECDSA(hashes.SHA256())


def _wrong(pin: str, k: int = 1) -> str:
    return f"{(int(pin) + k) % 10_000:04d}"


def _legacy(env: PortalEnv, resident: CardHolder) -> CardHolder:
    """Give the resident a card file in the pre-issue-15 format (scrypt of the PIN), as
    cards issued before the change are: a new card at the counter, written the old way."""
    key = new_card_key()
    issued = pb_grpc.CardsStub(env.stack.channel("registry", as_identity="municipality")).IssueCard(
        pb.IssueCardRequest(token=resident.municipality_token, csr_pem=make_csr(key))
    )
    write_card_file(
        resident.card_path, key, issued.certificate_pem, issued.ca_certificate_pem, resident.pin
    )
    return resident


def _migrated(env: PortalEnv, *, login: bool = False) -> tuple[CardHolder, httpx.Client | None]:
    """A resident whose legacy card file migrated on its first unlock (after a portal login
    with the legacy file, when ``login``: the portal then holds their notices)."""
    resident = _legacy(env, env.make_resident())
    client = env.login(resident) if login else None
    assert json.loads(resident.card_path.read_text())["format"] == LEGACY_CARD_FILE_FORMAT
    card = unlock_card(resident.card_path, resident.pin, _authority(env))
    assert json.loads(resident.card_path.read_text())["format"] == CARD_FILE_FORMAT
    assert card.serial == card_serial(resident.card_path)
    return resident, client


def test_a_legacy_card_file_migrates_and_then_opens_only_online(env: PortalEnv) -> None:
    resident, _ = _migrated(env)
    document = json.loads(resident.card_path.read_text())
    assert "kdf" not in document and "salt" not in document
    with pytest.raises(CardError, match="opens only online"):
        load_card(resident.card_path, resident.pin)
    # The right PIN opens it online, again and again (a success resets the counter).
    for _ in range(4):
        unlock_card(resident.card_path, resident.pin, _authority(env))


def test_three_wrong_pins_lock_the_card_and_the_resident_is_told(env: PortalEnv) -> None:
    resident, client = _migrated(env, login=True)
    assert client is not None
    authority = _authority(env)

    with pytest.raises(CardError, match="2 tries left"):
        unlock_card(resident.card_path, _wrong(resident.pin, 1), authority)
    with pytest.raises(CardError, match="1 try left"):
        unlock_card(resident.card_path, _wrong(resident.pin, 2), authority)
    with pytest.raises(CardError, match="now locked"):
        unlock_card(resident.card_path, _wrong(resident.pin, 3), authority)
    # Locked: even the right PIN is refused, and nothing is evaluated.
    with pytest.raises(errors.FailedPrecondition, match="locked after 3 wrong PINs"):
        unlock_card(resident.card_path, resident.pin, authority)

    notices = client.get("/api/notices?lang=en").json()["documents"]
    locked = [n for n in notices if n["category"] == "card_locked"]
    assert len(locked) == 1, notices
    assert "locked" in locked[0]["title"]

    # The municipality counter unlocks it (the holder came in person); the PIN works again.
    pb_grpc.CardsStub(env.stack.channel("registry", as_identity="municipality")).UnlockCard(
        pb.UnlockCardRequest(
            token=resident.municipality_token, serial=card_serial(resident.card_path)
        )
    )
    assert unlock_card(resident.card_path, resident.pin, authority).serial


def test_fifty_parallel_wrong_card_pins_evaluate_exactly_three(env: PortalEnv) -> None:
    resident, _ = _migrated(env)
    authority = _authority(env)
    barrier = threading.Barrier(50)
    outcomes: list[str] = [""] * 50

    def guess(i: int) -> None:
        barrier.wait()
        try:
            unlock_card(resident.card_path, _wrong(resident.pin, 1 + i % 9), authority)
            outcomes[i] = "opened"
        except CardError:
            outcomes[i] = "evaluated"  # the authority answered; the PIN was wrong
        except errors.FailedPrecondition:
            outcomes[i] = "refused"  # locked before evaluation

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("evaluated") == 3, outcomes
    assert outcomes.count("refused") == 47
    with pytest.raises(errors.FailedPrecondition):
        unlock_card(resident.card_path, resident.pin, authority)


def test_the_cli_unlocks_through_the_portal_and_the_counter_resets(
    env: PortalEnv, tmp_path: Path
) -> None:
    resident = _legacy(env, env.make_resident())
    common = ["--var", str(env.var)]
    runner = CliRunner()

    def login(pin: str) -> Result:
        return runner.invoke(
            cli,
            [
                *common,
                "card",
                "login",
                "--card",
                str(resident.card_path),
                "--pin",
                pin,
                "--portal",
                env.url,
                "--session-file",
                str(tmp_path / "session.json"),
            ],
        )

    # The legacy file logs in through the portal's relay and is migrated on the way.
    done = login(resident.pin)
    assert done.exit_code == 0, done.output
    assert json.loads(resident.card_path.read_text())["format"] == CARD_FILE_FORMAT
    wrong = [login(_wrong(resident.pin, k)) for k in (1, 2, 3)]
    assert [w.exit_code for w in wrong] == [1, 1, 1]
    assert "2 tries left" in wrong[0].output and "now locked" in wrong[2].output
    refused = login(resident.pin)
    assert refused.exit_code == 1 and "locked after 3 wrong PINs" in refused.output
    assert resident.pin not in refused.output

    serial = card_serial(resident.card_path)
    (env.var / "endpoints.json").write_text(json.dumps(env.stack.endpoints))  # the counter's
    counter = runner.invoke(
        cli, [*common, "card", "unlock", serial, "--token", resident.municipality_token]
    )
    assert counter.exit_code == 0, counter.output
    again = login(resident.pin)
    assert again.exit_code == 0, again.output
    bad = runner.invoke(cli, [*common, "card", "unlock", "zz", "--token", "t"])
    assert bad.exit_code != 0 and "hexadecimal" in bad.output


def _blinded(serial: str, pin: str) -> bytes:
    _, blinded = ristretto.Client.blind(oprf_input(serial, pin))
    return bytes(blinded.serialize())


def test_a_serial_alone_spends_no_try(env: PortalEnv) -> None:
    resident, _ = _migrated(env)
    authority = _authority(env)
    serial = card_serial(resident.card_path)
    access = card_access_key(resident.card_path)
    assert access is not None  # the migration gave the file its access key
    guess = _blinded(serial, _wrong(resident.pin))

    # Someone who knows the serial: fifty tries at the registry and at the portal's relay,
    # a made-up proof, another key's signature, a replayed proof — none is evaluated.
    def serial_only(i: int) -> None:
        with pytest.raises(errors.Unauthenticated):
            authority.evaluate_pin(serial, guess)

    threads = [threading.Thread(target=serial_only, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with env.client() as outsider:
        relayed = outsider.post(
            "/api/card/pin/evaluate",
            json={"serial": serial, "blinded_element": base64.b64encode(guess).decode()},
        )
    assert relayed.status_code == 401, relayed.text
    assert "card file" in relayed.json()["error"]["message"]
    with pytest.raises(errors.Unauthenticated):
        authority.evaluate_pin(serial, guess, AccessProof("n" * 32, b"x" * 64))
    nonce = authority.access_challenge(serial)
    stranger = new_card_key().sign(card_access_message(serial, nonce, guess), _ECDSA)
    with pytest.raises(errors.Unauthenticated):
        authority.evaluate_pin(serial, guess, AccessProof(nonce, stranger))
    nonce = authority.access_challenge(serial)
    proof = AccessProof(nonce, access.sign(card_access_message(serial, nonce, guess), _ECDSA))
    authority.evaluate_pin(serial, guess, proof)  # the file's own proof: evaluated (try 1)
    with pytest.raises(errors.Unauthenticated):
        authority.evaluate_pin(serial, guess, proof)  # replayed: refused, not counted

    # So the card still has two tries after that one evaluation, and the file opens.
    with pytest.raises(CardError, match="1 try left"):
        unlock_card(resident.card_path, _wrong(resident.pin, 2), authority)
    assert unlock_card(resident.card_path, resident.pin, authority).serial == serial
