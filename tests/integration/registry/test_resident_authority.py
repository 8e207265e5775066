"""The resident's authority, verified by the registry (issue 15, item 3).

The must-show: a compromised gateway — its certificate and key, a resident's My Number and
all four facts — gets no registry call to return that resident's data, change their locks or
issue a claim PIN. Only a grant the resident's own card signed at login (and, for sensitive
actions, a fresh card-signed step-up for exactly those values) lets the portal act, and each
refusal is shown against a positive control that succeeds with the card.

The same holds for what the portal does beyond reading (the remaining gaps of issue 15): a
payout account counts only once the resident's card recorded it at the registry, and the
portal publishes in a resident's name only events the resident authorised with their card.

Runs against a real registry with a test provider for every domain, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mynumber.registry.v1 import registry_pb2 as pb
from mynumber.registry.v1 import registry_pb2_grpc as pb_grpc
from mynumber.registry.v1 import resident_pb2 as rpb
from mynumber.registry.v1 import resident_pb2_grpc as rpb_grpc
from sqlalchemy import text

from mynumber_core import errors
from mynumber_core.card import (
    CARD_SUBJECT_CN,
    login_challenge_message,
    make_csr,
    new_card_key,
    serial_hex,
)
from mynumber_core.payout import HOLD_UNVERIFIED, PayoutPolicy
from mynumber_core.payout_attestation import SALT_FIELD, VERIFIED_FIELD, account_commitment
from mynumber_core.registry_client import RegistryClient
from mynumber_core.resident_grants import Acting, StepUpEvidence
from mynumber_core.structs import to_struct
from tests.integration.registry.conftest import RegistryEnv, Resident
from tests.support.resident_device import AUDIENCE, PortalLogin, portal_login, sign


def _code(call: Callable[[], Any]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code()


def _raw(env: RegistryEnv, identity: str) -> grpc.Channel:
    """A plain channel presenting only ``identity``'s certificate (no resident's card)."""
    return env.stack.channel("registry", as_identity=identity)


def _locks(env: RegistryEnv) -> list[Any]:
    with env.engine.connect() as conn:
        return list(conn.execute(text("SELECT person_id, lock FROM person_locks")).all())


def _claim_pins(env: RegistryEnv) -> int:
    with env.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM claim_pins")).scalar_one())


def _login(env: RegistryEnv, resident: Resident) -> PortalLogin:
    login = portal_login(
        _raw(env, "municipality"), _raw(env, "gateway"), resident.tokens["municipality"]
    )
    resident.tokens["portal"] = login.token
    return login


def _query(token: str, item: str = "tax_summary") -> pb.QueryRequest:
    return pb.QueryRequest(
        token=token,
        provider="tax",
        item=item,
        procedure="portal.my_information",
        request_id=uuid.uuid4().hex,
        params=to_struct({}),
    )


def test_a_stolen_gateway_certificate_reads_nobody_and_changes_nothing(hub: RegistryEnv) -> None:
    victim = hub.linked("pension", "tax", "health")
    attacker = pb_grpc.RegistryStub(_raw(hub, "gateway"))
    attacker_hub = pb_grpc.HubStub(_raw(hub, "gateway"))
    attacker_log = pb_grpc.ExchangeLogStub(_raw(hub, "gateway"))
    attacker_cards = pb_grpc.CardsStub(_raw(hub, "gateway"))
    authority = rpb_grpc.ResidentAuthorityStub(_raw(hub, "gateway"))

    # The number and the four facts buy the gateway nothing: no Link, no ResolveToken.
    link = pb.LinkRequest(my_number=victim.my_number, facts=victim.facts)
    assert _code(lambda: attacker.Link(link)) == grpc.StatusCode.PERMISSION_DENIED
    resolve = pb.ResolveTokenRequest(token=victim.tokens["tax"])
    assert _code(lambda: attacker.ResolveToken(resolve)) == grpc.StatusCode.PERMISSION_DENIED

    # Worst case: the attacker even holds the victim's portal token (from the gateway's own
    # database, after the victim once logged in). Still nothing, without the card's grant.
    own_login = _login(hub, victim)
    token = own_login.token
    hub.reset_providers()
    locks_before, pins_before, log_before = _locks(hub), _claim_pins(hub), hub.log_size()

    refused = {
        "Query": lambda: attacker_hub.Query(_query(token)),
        "BatchQuery": lambda: attacker_hub.BatchQuery(
            pb.BatchQueryRequest(queries=[_query(token)])
        ),
        "ListEntries": lambda: attacker_log.ListEntries(pb.ListEntriesRequest(token=token)),
        "SetLocks": lambda: attacker.SetLocks(pb.SetLocksRequest(token=token, locks=[])),
        "IssueClaimPin": lambda: attacker.IssueClaimPin(pb.IssueClaimPinRequest(token=token)),
        "VerifyClaimPin": lambda: attacker.VerifyClaimPin(
            pb.VerifyClaimPinRequest(token=token, pin="123456", procedure="pension.claim")
        ),
        "ReissueNumber": lambda: attacker.ReissueNumber(
            pb.ReissueNumberRequest(token=token, reason="leaked", idempotency_key="k-1")
        ),
        # A made-up grant is no grant.
        "forged grant": lambda: attacker_hub.Query(
            _query(token), metadata=Acting("x" * 43).metadata()
        ),
    }
    for name, call in refused.items():
        assert _code(call) == grpc.StatusCode.UNAUTHENTICATED, name
    revoke = pb.RevokeCardRequest(token=token, serial="1234")
    assert _code(lambda: attacker_cards.RevokeCard(revoke)) == grpc.StatusCode.PERMISSION_DENIED

    # A card of the attacker's own making (a self-signed certificate with the victim's card
    # serial) cannot sign a login the registry accepts.
    challenge = authority.IssueChallenge(rpb.IssueChallengeRequest(audience=AUDIENCE))
    fake_key = new_card_key()
    forged = rpb.OpenGrantRequest(
        certificate_pem=_self_signed(fake_key, _serial(own_login.certificate_pem)),
        nonce=challenge.nonce,
        audience=AUDIENCE,
        issued_at=challenge.issued_at,
        signature=sign(
            fake_key, login_challenge_message(challenge.nonce, AUDIENCE, challenge.issued_at)
        ),
    )
    assert _code(lambda: authority.OpenGrant(forged)) == grpc.StatusCode.UNAUTHENTICATED

    # Nothing was provided, logged, locked or issued.
    assert hub.provide_count() == 0
    assert _locks(hub) == locks_before and _claim_pins(hub) == pins_before
    assert hub.log_size() == log_before

    # Positive control: with the victim's own card behind the call, the same calls work.
    assert attacker_hub.Query(_query(token), metadata=own_login.metadata()).sealed.ciphertext
    assert hub.provide_count() == 1
    assert attacker_log.ListEntries(
        pb.ListEntriesRequest(token=token, include_pending=True), metadata=own_login.metadata()
    ).entries


def test_a_grant_acts_only_for_its_resident_and_ends_with_the_card(hub: RegistryEnv) -> None:
    alice, bob = hub.linked("tax"), hub.linked("tax")
    alice_login, bob_login = _login(hub, alice), _login(hub, bob)
    portal = pb_grpc.HubStub(_raw(hub, "gateway"))
    # Bob's grant does not reach Alice's data (a gateway mixing sessions up, or malicious).
    cross = lambda: portal.Query(_query(alice_login.token), metadata=bob_login.metadata())  # noqa: E731
    assert _code(cross) == grpc.StatusCode.PERMISSION_DENIED
    batch = pb.BatchQueryRequest(queries=[_query(bob_login.token), _query(alice_login.token)])
    assert _code(lambda: portal.BatchQuery(batch, metadata=bob_login.metadata())) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    assert portal.Query(_query(bob_login.token), metadata=bob_login.metadata()).log_index >= 0

    # Revoking Bob's card at the counter ends his grant at once (no 15-minute tail).
    card = pb_grpc.CardsStub(_raw(hub, "municipality"))
    serial = _serial(bob_login.certificate_pem)
    card.RevokeCard(pb.RevokeCardRequest(token=bob.tokens["municipality"], serial=serial))
    again = lambda: portal.Query(_query(bob_login.token), metadata=bob_login.metadata())  # noqa: E731
    assert _code(again) == grpc.StatusCode.UNAUTHENTICATED

    # Logout ends a grant too.
    rpb_grpc.ResidentAuthorityStub(_raw(hub, "gateway")).EndGrant(
        rpb.EndGrantRequest(), metadata=alice_login.metadata()
    )
    ended = lambda: portal.Query(_query(alice_login.token), metadata=alice_login.metadata())  # noqa: E731
    assert _code(ended) == grpc.StatusCode.UNAUTHENTICATED


def _serial(certificate_pem: str) -> str:
    return serial_hex(x509.load_pem_x509_certificate(certificate_pem.encode()).serial_number)


def _self_signed(key: ec.EllipticCurvePrivateKey, serial: str) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CARD_SUBJECT_CN)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int(serial, 16))
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def test_sensitive_actions_need_a_fresh_step_up_for_exactly_these_values(
    hub: RegistryEnv,
) -> None:
    resident = hub.linked("tax")
    login = _login(hub, resident)
    portal = pb_grpc.RegistryStub(_raw(hub, "gateway"))
    request = pb.SetLocksRequest(token=login.token, locks=["protect_claims"])
    before = _locks(hub)

    # A grant alone does not change locks.
    assert _code(lambda: portal.SetLocks(request, metadata=login.metadata())) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    # A step-up the card signed for other values (clear every lock) does not set these.
    other = login.step_up("set_locks", {"locks": ""})
    wrong = Acting(login.grant, other).metadata()
    assert _code(lambda: portal.SetLocks(request, metadata=wrong)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    # A step-up for another action does not either.
    pin_step = login.step_up("issue_claim_pin", {"year": "2026"})
    assert _code(
        lambda: portal.SetLocks(request, metadata=Acting(login.grant, pin_step).metadata())
    ) == (grpc.StatusCode.PERMISSION_DENIED)
    # A signature by another key over the right challenge is refused.
    good = login.step_up("set_locks", {"locks": "protect_claims"})
    stranger = StepUpEvidence(good.nonce, good.fields, sign(new_card_key(), b"x"))
    assert _code(
        lambda: portal.SetLocks(request, metadata=Acting(login.grant, stranger).metadata())
    ) == (grpc.StatusCode.UNAUTHENTICATED)
    assert _locks(hub) == before

    # The right step-up works once; replaying it is refused.
    fresh = login.step_up("set_locks", {"locks": "protect_claims"})
    metadata = Acting(login.grant, fresh).metadata()
    assert list(portal.SetLocks(request, metadata=metadata).locks) == ["protect_claims"]
    assert _code(lambda: portal.SetLocks(request, metadata=metadata)) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    # And a claim PIN needs its own step-up.
    issue = pb.IssueClaimPinRequest(token=login.token)
    assert _code(lambda: portal.IssueClaimPin(issue, metadata=login.metadata())) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    year = login.step_up("issue_claim_pin", {"year": "2026"})
    assert len(portal.IssueClaimPin(issue, metadata=Acting(login.grant, year).metadata()).pin) == 6


def test_the_portal_verifies_claim_pins_only_for_the_claims_it_files(hub: RegistryEnv) -> None:
    resident = hub.linked("tax")
    login = _login(hub, resident)
    portal = pb_grpc.RegistryStub(_raw(hub, "gateway"))
    refund = pb.VerifyClaimPinRequest(token=login.token, pin="123456", procedure="tax.refund")
    assert _code(lambda: portal.VerifyClaimPin(refund, metadata=login.metadata())) == (
        grpc.StatusCode.PERMISSION_DENIED
    )


def test_bad_challenge_and_grant_requests_are_refused_clearly(hub: RegistryEnv) -> None:
    authority = rpb_grpc.ResidentAuthorityStub(_raw(hub, "gateway"))
    no_audience = rpb.IssueChallengeRequest()
    assert _code(lambda: authority.IssueChallenge(no_audience)) == grpc.StatusCode.INVALID_ARGUMENT
    # A step-up challenge needs a grant.
    action = rpb.IssueChallengeRequest(action="set_locks")
    assert _code(lambda: authority.IssueChallenge(action)) == grpc.StatusCode.UNAUTHENTICATED
    # Only the portal may ask.
    pension = rpb_grpc.ResidentAuthorityStub(_raw(hub, "pension"))
    login = rpb.IssueChallengeRequest(audience=AUDIENCE)
    assert _code(lambda: pension.IssueChallenge(login)) == grpc.StatusCode.PERMISSION_DENIED
    # A login challenge works once: a second grant from the same signature is refused.
    resident = hub.linked("tax")
    key = new_card_key()
    card = pb_grpc.CardsStub(_raw(hub, "municipality")).IssueCard(
        pb.IssueCardRequest(token=resident.tokens["municipality"], csr_pem=make_csr(key))
    )
    challenge = authority.IssueChallenge(login)
    request = rpb.OpenGrantRequest(
        certificate_pem=card.certificate_pem.decode(),
        nonce=challenge.nonce,
        audience=AUDIENCE,
        issued_at=challenge.issued_at,
        signature=sign(
            key, login_challenge_message(challenge.nonce, AUDIENCE, challenge.issued_at)
        ),
    )
    assert authority.OpenGrant(request).token
    assert _code(lambda: authority.OpenGrant(request)) == grpc.StatusCode.UNAUTHENTICATED
    # A signature for another audience (a look-alike site relaying the challenge) is refused.
    challenge = authority.IssueChallenge(login)
    elsewhere = rpb.OpenGrantRequest(
        certificate_pem=card.certificate_pem.decode(),
        nonce=challenge.nonce,
        audience="https://myna-portal.example",
        issued_at=challenge.issued_at,
        signature=sign(
            key,
            login_challenge_message(
                challenge.nonce, "https://myna-portal.example", challenge.issued_at
            ),
        ),
    )
    assert _code(lambda: authority.OpenGrant(elsewhere)) == grpc.StatusCode.UNAUTHENTICATED


# ---------------------------------------------------------------- the payout account


def _account(number: str) -> dict[str, str]:
    return {
        "bank_code": "0005",
        "branch_code": "123",
        "account_type": "ordinary",
        "account_number": number,
        "holder_kana": "ヤマダ タロウ",
    }


def _agency(env: RegistryEnv, domain: str) -> RegistryClient:
    """The paying agency's own registry port (its certificate and HPKE keys)."""
    return RegistryClient(env.stack.channels(domain), env.keys(domain))


def _portal_answers(env: RegistryEnv, account: dict[str, str], salt: bytes) -> None:
    """What the portal (perhaps compromised) answers as the payout account, flags and all."""
    env.providers["portal"].answers["payout_account"] = {
        **account,
        SALT_FIELD: salt.hex(),
        "changed_at": "2020-01-01T00:00:00+00:00",
        "confirmed_with_card": True,
        "confirmed_at": "2020-01-01T00:00:00+00:00",
        "shared_with_others": False,
    }


def test_a_stolen_gateway_certificate_changes_no_payout_account(hub: RegistryEnv) -> None:
    victim = hub.linked("pension", "tax")
    login = _login(hub, victim)
    pension = _agency(hub, "pension")
    pension_token = victim.tokens["pension"]
    attacker = rpb_grpc.ResidentAuthorityStub(_raw(hub, "gateway"))
    mule, salt = _account("7654321"), os.urandom(32)
    record = rpb.RecordPayoutAccountRequest(token=login.token, account=mule, salt=salt)

    # The gateway's certificate and the victim's portal token record no account: not
    # without a grant, not with a made-up one, not with the grant alone, not with the card's
    # step-up for another account or another action.
    assert _code(lambda: attacker.RecordPayoutAccount(record)) == grpc.StatusCode.UNAUTHENTICATED
    forged = Acting("x" * 43).metadata()
    assert _code(lambda: attacker.RecordPayoutAccount(record, metadata=forged)) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    assert _code(lambda: attacker.RecordPayoutAccount(record, metadata=login.metadata())) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    other = login.metadata("change_payout_account", _account("1111111"))
    assert _code(lambda: attacker.RecordPayoutAccount(record, metadata=other)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    locks = login.metadata("set_locks", {"locks": ""})
    assert _code(lambda: attacker.RecordPayoutAccount(record, metadata=locks)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    # Only the portal records, and agencies only read.
    as_pension = rpb_grpc.ResidentAuthorityStub(_raw(hub, "pension"))
    assert _code(lambda: as_pension.RecordPayoutAccount(record)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    with pytest.raises(errors.NotFound):
        pension.payout_attestation(pension_token)

    # So when the compromised portal answers its own account, pension sees that it is not
    # the one the resident's card approved, and holds the payout (flags or not).
    _portal_answers(hub, mule, salt)
    account = pension.payout_account(pension_token, "pension.claim", uuid.uuid4().hex)
    assert account[VERIFIED_FIELD] is False and SALT_FIELD not in account
    decision = PayoutPolicy().decide(account, {})
    assert not decision.release and decision.hold_code == HOLD_UNVERIFIED

    # Positive control: the resident's card records their own account; the registry keeps
    # only the commitment, and pension accepts that account — and still not the mule's.
    own, own_salt = _account("2222222"), os.urandom(32)
    recorded = attacker.RecordPayoutAccount(
        rpb.RecordPayoutAccountRequest(token=login.token, account=own, salt=own_salt),
        metadata=login.metadata("change_payout_account", own),
    )
    assert recorded.commitment == account_commitment(own, own_salt)
    attestation = pension.payout_attestation(pension_token)
    assert attestation.commitment == recorded.commitment
    with hub.engine.connect() as conn:
        stored = repr(conn.execute(text("SELECT * FROM payout_attestations")).all())
    assert "2222222" not in stored and own_salt.hex() not in stored

    _portal_answers(hub, own, own_salt)
    account = pension.payout_account(pension_token, "pension.claim", uuid.uuid4().hex)
    assert account[VERIFIED_FIELD] is True
    assert account["changed_at"] == attestation.changed_at.isoformat()  # the registry's time
    assert PayoutPolicy().decide(account, {}).release
    for forged_answer in (mule, {**own, "account_number": "7654321"}):
        _portal_answers(hub, forged_answer, own_salt)
        looked = pension.payout_account(pension_token, "pension.claim", uuid.uuid4().hex)
        assert looked[VERIFIED_FIELD] is False
    # A replayed step-up records nothing: it was used up.
    replay = login.step_up("change_payout_account", mule)
    metadata = Acting(login.grant, replay).metadata()
    attacker.RecordPayoutAccount(record, metadata=metadata)
    assert _code(lambda: attacker.RecordPayoutAccount(record, metadata=metadata)) == (
        grpc.StatusCode.UNAUTHENTICATED
    )


def test_bad_payout_account_records_are_refused_clearly(hub: RegistryEnv) -> None:
    resident = hub.linked("tax")
    login = _login(hub, resident)
    portal = rpb_grpc.ResidentAuthorityStub(_raw(hub, "gateway"))
    missing = {k: v for k, v in _account("3333333").items() if k != "holder_kana"}
    short_salt = _account("3333333")
    for account, salt in ((missing, os.urandom(32)), (short_salt, b"short")):
        request = rpb.RecordPayoutAccountRequest(token=login.token, account=account, salt=salt)
        with pytest.raises(grpc.RpcError) as info:
            portal.RecordPayoutAccount(
                request, metadata=login.metadata("change_payout_account", account)
            )
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "account" in (info.value.details() or "") or "salt" in (info.value.details() or "")
    with pytest.raises(errors.NotFound):
        _agency(hub, "tax").payout_attestation(resident.tokens["tax"])


# ---------------------------------------------------------------- events in the resident's name


def _publish(
    env: RegistryEnv, token: str, event_type: str, event_id: str, procedure: str
) -> pb.PublishRequest:
    audience = ["tax", "pension"]
    boxes = env.sealed("portal").seal_event(
        {"confirmed_at": "2026-11-27T10:00:00+00:00"},
        event_type=event_type,
        event_id=event_id,
        procedure=procedure,
        audience=audience,
    )
    return pb.PublishRequest(
        token=token,
        event_type=event_type,
        event_id=event_id,
        procedure=procedure,
        audience=audience,
        sealed_payloads=boxes,
    )


def _deliveries(env: RegistryEnv) -> list[tuple[str, str]]:
    return sorted(
        (domain, d.event_type)
        for domain, provider in env.providers.items()
        for d in provider.deliveries
    )


def test_the_portal_publishes_only_events_the_resident_authorised(hub: RegistryEnv) -> None:
    victim, bystander = hub.linked("pension", "tax"), hub.linked("pension", "tax")
    login, other = _login(hub, victim), _login(hub, bystander)
    procedure = "portal.payout_account"
    attacker_hub = pb_grpc.HubStub(_raw(hub, "gateway"))
    authority = rpb_grpc.ResidentAuthorityStub(_raw(hub, "gateway"))

    # "The resident confirmed payouts" (releasing held payouts) from the gateway's certificate
    # alone is refused, under any event id.
    made_up = _publish(hub, login.token, "payout_confirmed", uuid.uuid4().hex, procedure)
    assert _code(lambda: attacker_hub.Publish(made_up)) == grpc.StatusCode.PERMISSION_DENIED
    assert _deliveries(hub) == []

    # No authorisation without the card: no grant, the grant alone, another action's step-up,
    # an event the portal may not publish for residents.
    ask = rpb.AuthoriseEventRequest(
        token=login.token, event_type="payout_confirmed", procedure=procedure
    )
    assert _code(lambda: authority.AuthoriseEvent(ask)) == grpc.StatusCode.UNAUTHENTICATED
    assert _code(lambda: authority.AuthoriseEvent(ask, metadata=login.metadata())) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    payment_step = login.metadata("make_payment", {"agency": "tax"})
    assert _code(lambda: authority.AuthoriseEvent(ask, metadata=payment_step)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    letter = rpb.AuthoriseEventRequest(
        token=login.token, event_type="inbox.document", procedure=procedure
    )
    assert _code(lambda: authority.AuthoriseEvent(letter, metadata=login.metadata())) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    # Another resident's grant cannot authorise for the victim.
    assert _code(
        lambda: authority.AuthoriseEvent(ask, metadata=other.metadata("confirm_payout", {}))
    ) == (grpc.StatusCode.PERMISSION_DENIED)
    assert _deliveries(hub) == []

    # Positive control: the card's step-up authorises one event id, for this resident, type
    # and procedure only.
    event_id = authority.AuthoriseEvent(
        ask, metadata=login.metadata("confirm_payout", {"bank_code": "0005"})
    ).event_id
    wrong_type = _publish(hub, login.token, "payment", event_id, procedure)
    wrong_person = _publish(hub, other.token, "payout_confirmed", event_id, procedure)
    for wrong in (wrong_type, wrong_person):
        assert _code(partial(attacker_hub.Publish, wrong)) == grpc.StatusCode.PERMISSION_DENIED
    assert _deliveries(hub) == []
    right = _publish(hub, login.token, "payout_confirmed", event_id, procedure)
    assert sorted(attacker_hub.Publish(right).delivered_to) == ["pension", "tax"]
    assert _deliveries(hub) == [("pension", "payout_confirmed"), ("tax", "payout_confirmed")]

    # The outbox publishes later: an authorised event is still delivered after logout.
    later = authority.AuthoriseEvent(
        ask, metadata=login.metadata("confirm_payout", {"bank_code": "0005"})
    ).event_id
    authority.EndGrant(rpb.EndGrantRequest(), metadata=login.metadata())
    published = _publish(hub, login.token, "payout_confirmed", later, procedure)
    assert sorted(attacker_hub.Publish(published).delivered_to) == ["pension", "tax"]
