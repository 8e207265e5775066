"""The registry's Cards service over real mTLS, on SQLite and PostgreSQL: issue, verify,
revoke, the CRL, IdentifyCard's portal token, who may do what, and certificates that carry
no personal data."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1.registry_pb2_grpc import CardsStub, RegistryStub
from sqlalchemy import func, select

from mynumber_cli.__main__ import cli
from mynumber_core.card import (
    CardError,
    CardRejected,
    RejectReason,
    action_message,
    card_serial,
    load_card,
    login_challenge_message,
    make_csr,
    new_card_key,
    unlock_card,
    verify_card_signature,
)
from mynumber_core.card_pin_client import GrpcPinAuthority
from mynumber_core.db import Database
from mynumber_dev.cards import DEMO_PIN, issue_demo_card, seed_cards
from mynumber_dev.demo import DemoResident
from services.registry.card_models import CardRecord
from tests.support.stack import Stack

CHALLENGE = login_challenge_message("c2a1f0e4d3b2", "https://myna.example.jp", 1775034000)


@dataclass
class Resident:
    my_number: str
    facts: pb.BasicFacts
    token: str  # the municipality's token


@dataclass
class Env:
    stack: Stack
    registry: RegistryStub  # as municipality
    cards: CardsStub  # as municipality
    portal_cards: CardsStub  # as gateway
    portal_registry: RegistryStub  # as gateway
    db: Database

    def register(self, name: str, birth: str, sex: Any, address: str) -> Resident:
        facts = pb.BasicFacts(name=name, birth_date=birth, sex=sex, address=address)
        response = self.registry.RegisterResident(
            pb.RegisterResidentRequest(facts=facts, idempotency_key=uuid.uuid4().hex)
        )
        return Resident(response.my_number, facts, response.token)

    def issue(self, resident: Resident) -> tuple[Any, Any]:
        key = new_card_key()
        response = self.cards.IssueCard(
            pb.IssueCardRequest(token=resident.token, csr_pem=make_csr(key))
        )
        return key, response

    def crl(self) -> bytes:
        return bytes(self.portal_cards.GetRevocationList(pb.GetRevocationListRequest()).crl_pem)

    def card_rows(self) -> int:
        with self.db.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(CardRecord)) or 0)


@pytest.fixture
def env(tmp_path: Path, backend: Any) -> Iterator[Env]:
    with Stack(tmp_path, ["registry"], database=backend) as stack:
        db = Database.from_url(backend("registry"))
        try:
            yield Env(
                stack,
                RegistryStub(stack.channel("registry", as_identity="municipality")),
                CardsStub(stack.channel("registry", as_identity="municipality")),
                CardsStub(stack.channel("registry", as_identity="gateway")),
                RegistryStub(stack.channel("registry", as_identity="gateway")),
                db,
            )
        finally:
            db.dispose()


def _code(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code()


def _sign(key: Any, message: bytes) -> bytes:
    return bytes(key.sign(message, ec.ECDSA(hashes.SHA256())))


def test_issue_verify_revoke_and_reissue(env: Env) -> None:
    hanako = env.register("山田 花子", "1985-04-12", pb.SEX_FEMALE, "東京都千代田区霞が関2-1-2")
    key, issued = env.issue(hanako)
    cert = x509.load_pem_x509_certificate(issued.certificate_pem)
    assert issued.serial == format(cert.serial_number, "x")
    crl_response = env.portal_cards.GetRevocationList(pb.GetRevocationListRequest())
    assert crl_response.ca_certificate_pem == issued.ca_certificate_pem
    ca = bytes(issued.ca_certificate_pem)
    serial = verify_card_signature(
        issued.certificate_pem, ca, crl_response.crl_pem, CHALLENGE, _sign(key, CHALLENGE)
    )
    assert serial == issued.serial
    assert env.card_rows() == 1

    # A new card (lost card replaced at the counter) supersedes the old one.
    new_key, reissued = env.issue(hanako)
    assert reissued.serial != issued.serial
    crl = env.crl()
    with pytest.raises(CardRejected) as info:
        verify_card_signature(issued.certificate_pem, ca, crl, CHALLENGE, _sign(key, CHALLENGE))
    assert info.value.reason == RejectReason.REVOKED
    entry = x509.load_pem_x509_crl(crl).get_revoked_certificate_by_serial_number(cert.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.superseded
    )
    step_up = action_message(
        "change_payout_account",
        {"bank_code": "0005", "branch_code": "135", "account_number": "1234567"},
        "n-7f3a",
    )
    assert (
        verify_card_signature(reissued.certificate_pem, ca, crl, step_up, _sign(new_key, step_up))
        == reissued.serial
    )

    # The resident reports the new card stolen; the municipality revokes it.
    env.cards.RevokeCard(pb.RevokeCardRequest(token=hanako.token, serial=reissued.serial))
    env.cards.RevokeCard(pb.RevokeCardRequest(token=hanako.token, serial=reissued.serial))
    with pytest.raises(CardRejected) as info:
        verify_card_signature(
            reissued.certificate_pem, ca, env.crl(), step_up, _sign(new_key, step_up)
        )
    assert info.value.reason == RejectReason.REVOKED
    assert _code(
        lambda: env.portal_cards.IdentifyCard(pb.IdentifyCardRequest(serial=reissued.serial))
    ) == (grpc.StatusCode.FAILED_PRECONDITION)


def test_death_revokes_every_active_card(env: Env) -> None:
    ume = env.register("松本 梅", "1931-03-03", pb.SEX_FEMALE, "長野県松本市丸の内3-7")
    key, issued = env.issue(ume)
    ca = bytes(issued.ca_certificate_pem)
    assert (
        verify_card_signature(
            issued.certificate_pem, ca, env.crl(), CHALLENGE, _sign(key, CHALLENGE)
        )
        == issued.serial
    )
    env.registry.UpdateFacts(pb.UpdateFactsRequest(token=ume.token, facts=ume.facts, deceased=True))
    crl = env.crl()
    with pytest.raises(CardRejected) as info:
        verify_card_signature(issued.certificate_pem, ca, crl, CHALLENGE, _sign(key, CHALLENGE))
    assert info.value.reason == RejectReason.REVOKED
    serial = x509.load_pem_x509_certificate(issued.certificate_pem).serial_number
    entry = x509.load_pem_x509_crl(crl).get_revoked_certificate_by_serial_number(serial)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.cessation_of_operation
    )


def test_identify_card_gives_the_portal_token_link_would(env: Env) -> None:
    taro = env.register("佐藤 太郎", "1978-11-03", pb.SEX_MALE, "大阪府大阪市北区中之島1-3-20")
    jiro = env.register("鈴木 次郎", "1990-02-28", pb.SEX_MALE, "福岡県福岡市中央区天神1-8-1")
    _, taro_card = env.issue(taro)
    _, jiro_card = env.issue(jiro)

    # The portal learns its token only from a card: Link by number is not the portal's.
    identified = env.portal_cards.IdentifyCard(pb.IdentifyCardRequest(serial=taro_card.serial))
    assert identified.status == pb.PERSON_STATUS_ACTIVE
    by_number = pb.LinkRequest(my_number=taro.my_number, facts=taro.facts)
    assert _code(lambda: env.portal_registry.Link(by_number)) == grpc.StatusCode.PERMISSION_DENIED
    again = env.portal_cards.IdentifyCard(pb.IdentifyCardRequest(serial=taro_card.serial))
    assert again.token == identified.token  # stable
    upper = jiro_card.serial.upper()
    identified = env.portal_cards.IdentifyCard(pb.IdentifyCardRequest(serial=upper))
    assert (
        identified.token
        != env.portal_cards.IdentifyCard(pb.IdentifyCardRequest(serial=taro_card.serial)).token
    )
    assert identified.token != jiro.token  # the portal's token is not the municipality's

    # The portal may not revoke cards (a stolen gateway certificate would lock residents
    # out); the resident revokes at the municipality's counter.
    portal_revoke = pb.RevokeCardRequest(token=identified.token, serial=jiro_card.serial)
    assert _code(lambda: env.portal_cards.RevokeCard(portal_revoke)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    env.cards.RevokeCard(pb.RevokeCardRequest(token=jiro.token, serial=jiro_card.serial))
    assert _code(
        lambda: env.portal_cards.IdentifyCard(pb.IdentifyCardRequest(serial=jiro_card.serial))
    ) == (grpc.StatusCode.FAILED_PRECONDITION)
    unknown = pb.IdentifyCardRequest(serial="7" * 30)
    assert _code(lambda: env.portal_cards.IdentifyCard(unknown)) == grpc.StatusCode.NOT_FOUND
    bad = pb.IdentifyCardRequest(serial="not-a-serial")
    assert _code(lambda: env.portal_cards.IdentifyCard(bad)) == grpc.StatusCode.INVALID_ARGUMENT


def test_only_the_holder_revokes_and_only_the_right_peers_call(env: Env) -> None:
    aiko = env.register("高橋 愛子", "2001-07-15", pb.SEX_FEMALE, "北海道札幌市中央区北1条西2")
    ken = env.register("伊藤 健", "1969-09-09", pb.SEX_MALE, "愛知県名古屋市中区三の丸3-1-1")
    aiko_key, aiko_card = env.issue(aiko)
    env.issue(ken)

    steal = pb.RevokeCardRequest(token=ken.token, serial=aiko_card.serial)
    assert _code(lambda: env.cards.RevokeCard(steal)) == grpc.StatusCode.NOT_FOUND
    # The portal revokes nothing at all (only the municipality's counter does).
    cross = pb.RevokeCardRequest(token=aiko.token, serial=aiko_card.serial)
    assert _code(lambda: env.portal_cards.RevokeCard(cross)) == grpc.StatusCode.PERMISSION_DENIED
    crl = env.crl()
    ca = bytes(aiko_card.ca_certificate_pem)
    assert (
        verify_card_signature(
            aiko_card.certificate_pem, ca, crl, CHALLENGE, _sign(aiko_key, CHALLENGE)
        )
        == aiko_card.serial
    )

    pension = CardsStub(env.stack.channel("registry", as_identity="pension"))
    request = pb.IssueCardRequest(token=aiko.token, csr_pem=make_csr(new_card_key()))
    assert _code(lambda: pension.IssueCard(request)) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: env.portal_cards.IssueCard(request)) == grpc.StatusCode.PERMISSION_DENIED
    who = pb.IdentifyCardRequest(serial=aiko_card.serial)
    assert _code(lambda: env.cards.IdentifyCard(who)) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: pension.IdentifyCard(who)) == grpc.StatusCode.PERMISSION_DENIED
    # Anyone on the platform may fetch the CRL (the gateway and agencies' clinics alike).
    fetched = x509.load_pem_x509_crl(
        pension.GetRevocationList(pb.GetRevocationListRequest()).crl_pem
    )
    assert fetched.is_signature_valid(x509.load_pem_x509_certificate(ca).public_key())  # type: ignore[arg-type]
    operator = CardsStub(env.stack.channel("registry", as_identity="operator"))
    ca_again = operator.GetRevocationList(pb.GetRevocationListRequest()).ca_certificate_pem
    assert ca_again == ca


def test_bad_requests_store_nothing_and_certificates_hold_no_personal_data(env: Env) -> None:
    name, birth, address = "渡辺 美咲", "1995-12-24", "京都府京都市上京区下立売通新町西入薮ノ内町"
    misaki = env.register(name, birth, pb.SEX_FEMALE, address)
    p384 = make_csr(ec.generate_private_key(ec.SECP384R1()))
    for csr in (b"", b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n", p384, b"x" * 5000):
        request = pb.IssueCardRequest(token=misaki.token, csr_pem=csr)
        assert _code(lambda r=request: env.cards.IssueCard(r)) == grpc.StatusCode.INVALID_ARGUMENT
    nobody = pb.IssueCardRequest(token="A" * 46, csr_pem=make_csr(new_card_key()))
    assert _code(lambda: env.cards.IssueCard(nobody)) == grpc.StatusCode.NOT_FOUND
    assert env.card_rows() == 0

    late = env.register("故 一郎", "1931-05-05", pb.SEX_MALE, "山口県山口市滝町1-1")
    env.registry.UpdateFacts(
        pb.UpdateFactsRequest(token=late.token, facts=late.facts, deceased=True)
    )
    assert _code(lambda: env.issue(late)) == grpc.StatusCode.FAILED_PRECONDITION
    assert env.card_rows() == 0

    _, issued = env.issue(misaki)
    env.cards.RevokeCard(pb.RevokeCardRequest(token=misaki.token, serial=issued.serial))
    cert = x509.load_pem_x509_certificate(issued.certificate_pem)
    blobs = [
        bytes(issued.certificate_pem),
        cert.public_bytes(serialization.Encoding.DER),
        bytes(issued.ca_certificate_pem),
        env.crl(),
    ]
    needles = [misaki.my_number, name, "渡辺", "美咲", birth, birth.replace("-", ""), address]
    for blob in blobs:
        for needle in needles:
            for encoding in ("utf-8", "utf-16-be"):
                assert needle.encode(encoding) not in blob
    subject = {a.oid: a.value for a in cert.subject}
    assert list(subject.values()) == ["JPKI user authentication"]
    with env.db.transaction() as session:
        row = session.get(CardRecord, issued.serial)
        assert row is not None and row.status == "revoked"
        assert misaki.my_number not in row.certificate_pem


def test_cli_issue_show_check_revoke_and_demo_cards(env: Env, tmp_path: Path) -> None:
    (tmp_path / "endpoints.json").write_text(json.dumps(env.stack.endpoints))
    yui = env.register("中村 結衣", "1988-06-01", pb.SEX_FEMALE, "神奈川県横浜市中区日本大通1")
    runner = CliRunner()
    base = ["--var", str(tmp_path), "card"]
    out = tmp_path / "cards" / "yui.card"

    result = runner.invoke(
        cli, [*base, "issue", "--token", yui.token, "--out", str(out)], input="2580\n2580\n"
    )
    assert result.exit_code == 0, result.output
    serial = card_serial(out)
    # Issued as mynumber-card/2: the file alone opens with no PIN; the counter unlocks it.
    with pytest.raises(CardError, match="opens only online"):
        load_card(out, "2580")
    assert unlock_card(out, "2580", GrpcPinAuthority(env.cards)).serial == serial
    assert f"serial: {serial}" in result.output
    again = runner.invoke(cli, [*base, "issue", "--token", yui.token, "--out", str(out)])
    assert again.exit_code != 0 and "--force" in again.output

    base_show = [*base, "show", "--at-counter", str(out)]
    shown = runner.invoke(cli, base_show, input="2580\n")
    assert shown.exit_code == 0 and serial in shown.output
    assert "2580" not in shown.output.replace("Card PIN (4 digits): ", "")
    wrong = runner.invoke(cli, base_show, input="0000\n")
    assert wrong.exit_code != 0 and "wrong PIN" in wrong.output and "2 tries left" in wrong.output
    bad_pin = runner.invoke(cli, [*base_show, "--pin", "12345"])
    assert bad_pin.exit_code != 0 and "4 digits" in bad_pin.output

    checked = runner.invoke(
        cli, [*base, "check", "--at-counter", str(out)], env={"MYNUMBER_CARD_PIN": "2580"}
    )
    assert checked.exit_code == 0 and f"ok: card {serial}" in checked.output
    revoked = runner.invoke(cli, [*base, "revoke", serial.upper(), "--token", yui.token])
    assert revoked.exit_code == 0, revoked.output
    checked = runner.invoke(cli, [*base, "check", "--at-counter", str(out), "--pin", "2580"])
    # A revoked card's PIN step is refused by the registry before any signature.
    assert checked.exit_code == 1 and "this card has been revoked" in checked.output

    # make run's seeding: a demo card through the same RPC.
    channel = env.stack.channel("registry", as_identity="municipality")
    demo = issue_demo_card(channel, yui.token, tmp_path / "demo.card", DEMO_PIN)
    assert unlock_card(tmp_path / "demo.card", DEMO_PIN, GrpcPinAuthority(env.cards)).serial == (
        demo
    )
    identified = env.portal_cards.IdentifyCard(pb.IdentifyCardRequest(serial=demo))
    assert identified.status == pb.PERSON_STATUS_ACTIVE


def test_seed_cards_issues_one_card_per_registered_resident(env: Env, tmp_path: Path) -> None:
    people = [
        DemoResident(
            "小林 さくら", "コバヤシ サクラ", "1999-03-31", "female", "宮城県仙台市青葉区本町3-8-1"
        ),
        DemoResident(
            "加藤 大輔", "カトウ ダイスケ", "1958-08-20", "male", "広島県広島市中区基町10-52"
        ),
        DemoResident("未登録 者", "ミトウロク シャ", "2000-01-01", "male", "沖縄県那覇市泉崎1-2-2"),
    ]
    registered = [
        env.register(person.name, person.birth_date, sex, person.address)
        for person, sex in zip(people[:2], (pb.SEX_FEMALE, pb.SEX_MALE), strict=True)
    ]
    for person, done in zip(people, registered, strict=False):
        person.my_number = done.my_number
    # The launcher's fallback registration leaves the municipality token on the resident.
    people[0].tokens["municipality"] = registered[0].token
    issued = seed_cards(tmp_path, env.stack.channels, people)
    assert issued == 2
    assert people[2].card_file is None  # never registered: no number, no card
    for person in people[:2]:
        assert person.card_file and person.card_pin
        assert "resident-" in person.card_file and person.name not in person.card_file
        card = unlock_card(Path(person.card_file), person.card_pin, GrpcPinAuthority(env.cards))
        identified = env.portal_cards.IdentifyCard(pb.IdentifyCardRequest(serial=card.serial))
        assert identified.status == pb.PERSON_STATUS_ACTIVE
    # The second resident had no municipality token: seeding linked by number and facts.
    second_file = Path(people[1].card_file or "")
    second = unlock_card(second_file, people[1].card_pin or "", GrpcPinAuthority(env.cards))
    link = env.registry.Link(
        pb.LinkRequest(
            my_number=people[1].my_number,
            facts=pb.BasicFacts(
                name=people[1].name,
                birth_date=people[1].birth_date,
                sex=pb.SEX_MALE,
                address=people[1].address,
            ),
        )
    )
    # The card is that person's: only its holder's token revokes it at the counter.
    env.cards.RevokeCard(pb.RevokeCardRequest(token=link.token, serial=second.serial))


def test_cli_login_and_approve_against_the_portal(
    tmp_path: Path, backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("services.gateway.web.app")
    from fastapi.testclient import TestClient

    from mynumber_cli import card as card_cli
    from services.gateway.wiring import GatewaySettings, build_gateway, build_http_app

    with Stack(tmp_path, ["registry", "gateway"], database=backend) as stack:
        settings = stack.settings_for("gateway")
        assert isinstance(settings, GatewaySettings)
        settings = settings.model_copy(update={"crl_cache_seconds": 0.0})
        gateway = build_gateway(settings)
        app = build_http_app(settings, gateway)
        clients: list[TestClient] = []

        def client_for(portal: str) -> TestClient:
            clients.append(TestClient(app, base_url=portal))
            return clients[-1]

        monkeypatch.setattr(card_cli, "portal_client", client_for)
        try:
            municipality = stack.channel("registry", as_identity="municipality")
            facts = pb.BasicFacts(
                name="松本 陽菜",
                birth_date="1992-10-10",
                sex=pb.SEX_FEMALE,
                address="静岡県静岡市葵区追手町9-6",
            )
            token = (
                RegistryStub(municipality)
                .RegisterResident(
                    pb.RegisterResidentRequest(facts=facts, idempotency_key=uuid.uuid4().hex)
                )
                .token
            )
            card_path = tmp_path / "hina.card"
            serial = issue_demo_card(municipality, token, card_path, "8142")
            runner = CliRunner()
            base = ["--var", str(tmp_path), "card"]
            with_card = ["--card", str(card_path), "--pin", "8142"]

            session_file = tmp_path / "session.json"
            result = runner.invoke(
                cli, [*base, "login", *with_card, "--session-file", str(session_file)]
            )
            assert result.exit_code == 0, result.output
            assert serial in result.output
            cookie = json.loads(session_file.read_text())["mnp_session"]
            with TestClient(app, base_url=card_cli.DEFAULT_PORTAL) as browser:
                browser.cookies.set("mnp_session", cookie)
                answer = browser.get("/api/session")
                assert answer.status_code == 200, answer.text

                # A browser login approved from the terminal.
                started = browser.post("/api/login/code").json()
                poll = {
                    "challenge_id": started["challenge_id"],
                    "poll_secret": started["poll_secret"],
                }
                assert browser.post("/api/login/poll", json=poll).status_code == 202
                number = started["match_number"]
                result = runner.invoke(
                    cli,
                    [*base, "approve", started["code"], *with_card, "--yes", "--number", number],
                )
                assert result.exit_code == 0, result.output
                assert "approved (login)" in result.output
                assert browser.post("/api/login/poll", json=poll).status_code == 200

                # Declining signs nothing; the code stays pending.
                started = browser.post("/api/login/code").json()
                result = runner.invoke(
                    cli, [*base, "approve", started["code"], *with_card], input="n\n"
                )
                assert result.exit_code != 0 and "not approved" in result.output
                poll = {
                    "challenge_id": started["challenge_id"],
                    "poll_secret": started["poll_secret"],
                }
                assert browser.post("/api/login/poll", json=poll).status_code == 202

            # A look-alike address relaying the real portal's challenge gets no signature.
            result = runner.invoke(
                cli, [*base, "login", *with_card, "--portal", "http://myna-portal.example:8080"]
            )
            assert result.exit_code != 0 and "refusing to sign" in result.output

            # A revoked card no longer logs in.
            CardsStub(municipality).RevokeCard(pb.RevokeCardRequest(token=token, serial=serial))
            result = runner.invoke(cli, [*base, "login", *with_card])
            assert result.exit_code != 0 and "revoked" in result.output
        finally:
            for client in clients:
                client.close()
            gateway.stop()
