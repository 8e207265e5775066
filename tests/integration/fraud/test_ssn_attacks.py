"""The SSN attacks played end to end through the real services, and the fraud controls that
stop them (docs/fraud-controls.md): refund redirect, an early pension claim by an impostor, a
leaked number, the resident's locks, and shared payout accounts.

Every service runs in-process with real mTLS (``PortalEnv``); the attacker only has what the
scenario says: the number and the facts, a stolen session cookie, or their own card.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import grpc
import httpx
import pytest
from mynumber.pension.v1 import pension_pb2 as ppb
from mynumber.pension.v1 import pension_pb2_grpc as ppb_grpc
from mynumber.registry.v1 import registry_pb2 as rpb
from mynumber.registry.v1 import registry_pb2_grpc as rpb_grpc
from mynumber.tax.v1 import tax_pb2 as tpb
from mynumber.tax.v1 import tax_pb2_grpc as tpb_grpc

from mynumber_core.calendar import fiscal_year_of, today_jst
from mynumber_core.card import action_message
from services.gateway.models import PayoutAccountRow, Resident
from tests.integration.gateway.portal_env import CardHolder, PortalEnv, _facts
from tests.support.sealing import sealed_payloads

YEAR = today_jst().year - 3


def _code(call: Callable[[], Any]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code()


def _tax(env: PortalEnv) -> tpb_grpc.TaxStub:
    return tpb_grpc.TaxStub(env.stack.channel("tax", as_identity="operator"))


def _pension(env: PortalEnv) -> ppb_grpc.PensionStub:
    return ppb_grpc.PensionStub(env.stack.channel("pension", as_identity="operator"))


def _form(cls: Any, r: CardHolder, number: str | None = None) -> Any:
    d = r.demo
    return cls(
        my_number=number or d.my_number,
        name=d.name,
        birth_date=d.birth_date,
        sex=d.sex,
        address=d.address,
    )


def _refundable(env: PortalEnv, r: CardHolder) -> str:
    """Register a taxpayer whose assessed year shows a refund; returns the reference."""
    tax = _tax(env)
    ref = tax.RegisterTaxpayer(
        tpb.RegisterTaxpayerRequest(identity=_form(tpb.FormIdentity, r))
    ).reference_number
    tax.RecordIncome(
        tpb.RecordIncomeRequest(
            reference_number=ref,
            year=YEAR,
            salary_income_yen=3_000_000,
            withholding_yen=400_000,
            social_insurance_yen=450_000,
        )
    )
    assert tax.AssessYear(tpb.AssessYearRequest(reference_number=ref, year=YEAR)).refund_yen > 0
    return ref


def _account(r: CardHolder, number: str = "") -> dict[str, Any]:
    """An account in the resident's own name (a distinct number per resident by default)."""
    number = number or f"{int(r.demo.my_number[-7:]) % 9_000_000 + 1_000_000:07d}"
    return {
        "bank_code": "0005",
        "branch_code": "123",
        "account_type": "ordinary",
        "account_number": number,
        "holder_kana": r.demo.name_kana,
    }


def _register_account(env: PortalEnv, r: CardHolder, client: httpx.Client) -> None:
    body = _account(r)
    body["step_up"] = env.step_up(client, r, "change_payout_account", _account(r))
    response = client.put("/api/payout-account", json=body)
    assert response.status_code == 200, response.text


def _wait(
    client: httpx.Client, path: str, wanted: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Poll the inbox or notices until a document matches (outbox relays are async)."""
    deadline = time.monotonic() + 15
    while True:
        docs = client.get(path, params={"lang": "en"}).json()["documents"]
        for doc in docs:
            if wanted(doc):
                return dict(doc)
        if time.monotonic() > deadline:
            raise AssertionError(f"no matching document in {path}: {docs}")
        time.sleep(0.1)


def _step_up_with(
    env: PortalEnv, client: httpx.Client, card_owner: CardHolder, action: str, fields: dict
) -> dict[str, Any]:
    """A step-up for the client's session, signed with ``card_owner``'s card."""
    return env.step_up(client, card_owner, action, fields)


# ---------------------------------------------------------------------------- (a)


def test_refund_redirect_is_refused_or_held_and_the_resident_is_told(env: PortalEnv) -> None:
    victim = env.make_resident()
    attacker = env.make_resident()
    ref = _refundable(env, victim)
    owner = env.login(victim)
    _register_account(env, victim, owner)

    # 1. Number + name + birth date open no session and change nothing.
    outsider = env.client()
    assert outsider.get("/api/me").status_code == 401
    assert outsider.put("/api/payout-account", json=_account(victim, "7654321")).status_code == 401
    login = outsider.post(
        "/api/login",
        json={"challenge_id": "C" + "0" * 24, "certificate_pem": "x", "signature": "AAAAAAAAAAA="},
    )
    assert login.status_code in (400, 401, 404)
    # Link with the known facts gives an *agency* a token; no portal API accepts it.
    token = (
        rpb_grpc.RegistryStub(env.stack.channel("registry", as_identity="tax"))
        .Link(rpb.LinkRequest(my_number=victim.demo.my_number, facts=_facts(victim.demo)))
        .token
    )
    outsider.cookies.set("mnp_session", token)
    assert outsider.get("/api/me").status_code == 401

    # 2. A stolen session without the card: every change needs a card step-up.
    stolen = env.client()
    stolen.cookies.set("mnp_session", owner.cookies["mnp_session"])
    assert stolen.put("/api/payout-account", json=_account(victim, "7654321")).status_code == 401
    body = _account(victim, "7654321")
    body["step_up"] = _step_up_with(env, stolen, attacker, "change_payout_account", body)
    refused = stolen.put("/api/payout-account", json=body)
    assert refused.status_code == 403, refused.text  # the attacker's own card is not hers
    move = {"destination_address": "東京都千代田区千代田1-1", "planned_date": str(today_jst())}
    assert stolen.post("/api/applications/move-out", json=move).status_code == 401
    assert (
        owner.get("/api/payout-account")
        .json()["account_number"]
        .endswith(_account(victim)["account_number"][-3:])
    )

    # 3. Suppose the account changed anyway — the portal's own database rewritten (a
    #    compromised gateway), the change marked as confirmed by a session only (no card).
    with env.portal.db.transaction() as session:
        resident = session.query(Resident).filter(Resident.token.isnot(None)).all()
        row = next(
            session.get(PayoutAccountRow, r.id)
            for r in resident
            if session.get(PayoutAccountRow, r.id) is not None
            and json.loads(session.get(PayoutAccountRow, r.id).details)["holder_kana"]
            == victim.demo.name_kana
        )
        row.details = json.dumps(_account(victim, "7654321"), ensure_ascii=False)
        row.changed_at = dt.datetime.now(dt.UTC)
        row.confirmed_with_card, row.confirmed_at = False, None
    refund = _tax(env).IssueRefund(tpb.IssueRefundRequest(reference_number=ref, year=YEAR))
    # Tax checks the portal's answer against the account her card recorded at the registry.
    assert refund.status == tpb.REFUND_STATUS_HELD
    assert "approved with their card at the registry" in refund.hold_reason
    notice = _wait(owner, "/api/inbox", lambda d: d["category"] == "tax.refund_notice")
    assert "on hold" in notice["body"]
    early = _tax(env).ReleaseHeldRefunds(tpb.ReleaseHeldRefundsRequest())
    assert ref not in [x.reference_number for x in early.released]  # still held

    # 4. A card confirmation of what the portal now shows does not make it her account: the
    #    registry still holds the one her card registered. Registering her own account again
    #    with the card does, and the release job lets the refund go.
    confirm = owner.post(
        "/api/payout-account/confirm",
        json={"step_up": env.step_up(owner, victim, "confirm_payout", {})},
    )
    assert confirm.status_code == 200 and confirm.json()["confirmed_with_card"] is True
    again = _tax(env).ReleaseHeldRefunds(tpb.ReleaseHeldRefundsRequest())
    assert ref not in [x.reference_number for x in again.released]

    def paid(d: dict[str, Any]) -> bool:
        return d["category"] == "tax.refund_notice" and "We are refunding" in d["body"]

    inbox = owner.get("/api/inbox", params={"lang": "en"}).json()["documents"]
    assert not any(paid(d) for d in inbox), "released before her card registered her account"
    _register_account(env, victim, owner)
    # This call releases it, unless tax's own release job (it runs in the background too)
    # got there first; either way the refund goes out once, and she is told.
    _tax(env).ReleaseHeldRefunds(tpb.ReleaseHeldRefundsRequest())
    _wait(owner, "/api/inbox", paid)
    _wait(owner, "/api/notices", lambda d: d["category"] == "payout_account")


def test_a_confirmation_signed_for_one_account_cannot_confirm_another(env: PortalEnv) -> None:
    resident = env.make_resident()
    client = env.login(resident)
    _register_account(env, resident, client)
    first = _account(resident)
    # The card signs the registered account itself, not just "the current account".
    challenge = client.post("/api/step-up", json={"action": "confirm_payout", "fields": {}})
    assert challenge.status_code == 200, challenge.text
    assert challenge.json()["fields"] == {
        "bank_code": first["bank_code"],
        "branch_code": first["branch_code"],
        "account_number": first["account_number"],
    }
    signed_for_a = env.step_up(client, resident, "confirm_payout", {})
    # The account is changed to B before the confirmation is sent.
    other = _account(resident, "7777777")
    body = {**other, "step_up": env.step_up(client, resident, "change_payout_account", other)}
    assert client.put("/api/payout-account", json=body).status_code == 200
    before = client.get("/api/payout-account").json()
    refused = client.post("/api/payout-account/confirm", json={"step_up": signed_for_a})
    assert refused.status_code == 403, refused.text
    assert client.get("/api/payout-account").json() == before
    # A confirmation signed for B confirms B.
    signed_for_b = env.step_up(client, resident, "confirm_payout", {})
    confirmed = client.post("/api/payout-account/confirm", json={"step_up": signed_for_b})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["account_number"].endswith("777")


def test_a_recent_address_change_holds_the_refund(env: PortalEnv) -> None:
    resident = env.make_resident()
    ref = _refundable(env, resident)
    client = env.login(resident)
    _register_account(env, resident, client)
    # The municipality publishes the move (as RecordMove does): it reaches tax and the portal.
    token = (
        rpb_grpc.RegistryStub(env.stack.channel("registry", as_identity="municipality"))
        .Link(rpb.LinkRequest(my_number=resident.demo.my_number, facts=_facts(resident.demo)))
        .token
    )
    event_id = f"move-{time.time_ns()}"
    rpb_grpc.HubStub(env.stack.channel("registry", as_identity="municipality")).Publish(
        rpb.PublishRequest(
            token=token,
            event_type="address_changed",
            event_id=event_id,
            sealed_payloads=sealed_payloads(
                env.var,
                ["tax", "portal"],
                publisher="municipality",
                event_type="address_changed",
                event_id=event_id,
                procedure="municipality.moving_onestop",
                payload={"address": "大阪府大阪市北区梅田1-1-1", "reason": "move"},
            ),
            procedure="municipality.moving_onestop",
        )
    )
    _wait(client, "/api/notices", lambda d: d["category"] == "address_changed")
    refund = _tax(env).IssueRefund(tpb.IssueRefundRequest(reference_number=ref, year=YEAR))
    assert refund.status == tpb.REFUND_STATUS_HELD and "address" in refund.hold_reason


def _struct(values: dict[str, Any]) -> Any:
    from google.protobuf import struct_pb2

    s = struct_pb2.Struct()
    s.update(values)
    return s


# ---------------------------------------------------------------------------- (b)


def _claim_card(r: CardHolder, number: str, claim_id: str, nonce: str | None = None) -> Any:
    nonce = nonce or f"{int(time.time())}.{secrets.token_hex(12)}"
    card = r.card()
    message = action_message(
        "pension_claim", {"basic_pension_number": number, "claim_id": claim_id}, nonce
    )
    return ppb.CardSignature(
        certificate_pem=card.certificate_pem, signature=card.sign(message), nonce=nonce
    )


def test_early_pension_claim_by_an_impostor(env: PortalEnv) -> None:
    victim = env.make_resident(enrol=("pension",))
    impostor = env.make_resident()
    number = (
        _pension(env)
        .Enrol(
            ppb.EnrolRequest(
                identity=_form(ppb.FormIdentity, victim), category=ppb.INSURED_CATEGORY_1
            )
        )
        .basic_pension_number
    )
    owner = env.login(victim)
    pension = _pension(env)

    def refused_docs() -> int:
        docs = owner.get("/api/inbox", params={"lang": "en"}).json()["documents"]
        return sum(d["category"] == "pension.claim_refused" for d in docs)

    # Without a card signature.
    no_card = ppb.FileClaimRequest(basic_pension_number=number, claim_id="imp-1")
    assert _code(lambda: pension.FileClaim(no_card)) == grpc.StatusCode.UNAUTHENTICATED
    _wait(owner, "/api/inbox", lambda d: d["category"] == "pension.claim_refused")
    # Signed with the impostor's own (valid) card.
    forged = ppb.FileClaimRequest(
        basic_pension_number=number,
        claim_id="imp-2",
        card=_claim_card(impostor, number, "imp-2"),
    )
    assert _code(lambda: pension.FileClaim(forged)) == grpc.StatusCode.PERMISSION_DENIED
    # A stale signature (replayed) is refused too.
    old = f"{int(time.time()) - 3600}.{'y' * 20}"
    stale = ppb.FileClaimRequest(
        basic_pension_number=number,
        claim_id="imp-3",
        card=_claim_card(victim, number, "imp-3", old),
    )
    assert _code(lambda: pension.FileClaim(stale)) == grpc.StatusCode.UNAUTHENTICATED
    deadline = time.monotonic() + 15
    while refused_docs() < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert refused_docs() == 3

    # The resident locks claims and takes this year's PIN (shown once).
    locks = owner.put(
        "/api/locks",
        json={
            "locks": ["protect_claims"],
            "step_up": env.step_up(owner, victim, "set_locks", {"locks": ["protect_claims"]}),
        },
    )
    assert locks.status_code == 200, locks.text
    issued = owner.post(
        "/api/claim-pin", json={"step_up": env.step_up(owner, victim, "issue_claim_pin", {})}
    )
    assert issued.status_code == 201, issued.text
    pin = issued.json()["pin"]
    assert len(pin) == 6 and pin.isdigit()
    wrong = f"{(int(pin) + 1) % 1_000_000:06d}"

    # Even with the victim's card (stolen with its PIN), the claim needs the claim PIN.
    counter = ppb.FileClaimRequest(
        basic_pension_number=number, claim_id="imp-4", card=_claim_card(victim, number, "imp-4")
    )
    assert _code(lambda: pension.FileClaim(counter)) == grpc.StatusCode.PERMISSION_DENIED
    wrong_pin = ppb.FileClaimRequest(
        basic_pension_number=number,
        claim_id="imp-5",
        card=_claim_card(victim, number, "imp-5"),
        claim_pin=wrong,
    )
    assert _code(lambda: pension.FileClaim(wrong_pin)) == grpc.StatusCode.PERMISSION_DENIED
    portal = owner.post(
        "/api/applications/pension-claim",
        json={"step_up": env.step_up(owner, victim, "pension_claim", {})},
    )
    assert portal.status_code == 403, portal.text
    portal = owner.post(
        "/api/applications/pension-claim",
        json={"pin": wrong, "step_up": env.step_up(owner, victim, "pension_claim", {})},
    )
    assert portal.status_code == 403, portal.text
    deadline = time.monotonic() + 15
    while refused_docs() < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert refused_docs() == 5
    notices = owner.get("/api/notices", params={"lang": "en"}).json()["documents"]
    assert sum(n["category"] == "claim_refused" for n in notices) == 2

    # With the right PIN the claim is decided from agency data (she is below pension age).
    ok = ppb.FileClaimRequest(
        basic_pension_number=number,
        claim_id="own-1",
        card=_claim_card(victim, number, "own-1"),
        claim_pin=pin,
    )
    decision = pension.FileClaim(ok)
    assert decision.status == ppb.CLAIM_STATUS_REJECTED and "age" in decision.reason
    # The same signed claim replayed within its ten minutes is refused and changes nothing.
    assert _code(lambda: pension.FileClaim(ok)) == grpc.StatusCode.ALREADY_EXISTS
    looked_up = ppb.FileClaimRequest(basic_pension_number=number, claim_id="own-1")
    assert pension.FileClaim(looked_up) == decision
    filed = owner.post(
        "/api/applications/pension-claim",
        json={"pin": pin, "step_up": env.step_up(owner, victim, "pension_claim", {})},
    )
    assert filed.status_code == 201, filed.text
    _wait(
        owner,
        "/api/inbox",
        lambda d: (
            d["category"] == "pension.claim_decision"
            and "requirements" in d["body"]
            and d["id"] is not None
        ),
    )


# ---------------------------------------------------------------------------- (c)


def test_a_leaked_number_authorises_nothing_and_reissue_retires_it(env: PortalEnv) -> None:
    resident = env.make_resident(enrol=("pension", "tax", "health"))
    leaked = resident.demo.my_number
    before = {
        agency: rpb_grpc.RegistryStub(env.stack.channel("registry", as_identity=agency))
        .Link(rpb.LinkRequest(my_number=leaked, facts=_facts(resident.demo)))
        .token
        for agency in ("municipality", "pension", "tax", "health")
    }
    outsider = env.client()
    for path in ("/api/me", "/api/log", "/api/inbox", "/api/payout-account"):
        assert outsider.get(path).status_code == 401
    client = env.login(resident)
    response = client.post(
        "/api/number/reissue",
        json={
            "reason": "leaked",
            "step_up": env.step_up(client, resident, "reissue_number", {"reason": "leaked"}),
        },
    )
    assert response.status_code == 201, response.text
    new_number = response.json()["my_number"]
    assert new_number != leaked and len(new_number) == 12
    for agency, token in before.items():
        stub = rpb_grpc.RegistryStub(env.stack.channel("registry", as_identity=agency))
        old = rpb.LinkRequest(my_number=leaked, facts=_facts(resident.demo))
        with pytest.raises(grpc.RpcError) as info:
            stub.Link(old)
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        again = stub.Link(rpb.LinkRequest(my_number=new_number, facts=_facts(resident.demo)))
        assert again.token == token  # tokens stay
    doc = _wait(client, "/api/inbox", lambda d: d["category"] == "number_reissued")
    assert new_number not in doc["body"] and leaked not in doc["body"]
    # Reissue needs the card: a stolen session alone cannot do it.
    stolen = env.client()
    stolen.cookies.set("mnp_session", client.cookies["mnp_session"])
    assert stolen.post("/api/number/reissue", json={"reason": "leaked"}).status_code == 401


# ---------------------------------------------------------------------------- locks


def test_locks_block_what_they_say_and_nothing_else(env: PortalEnv) -> None:
    resident = env.make_resident(enrol=("pension", "health"))
    ref = _refundable(env, resident)
    client = env.login(resident)
    _register_account(env, resident, client)
    wanted = ["block_online_changes", "protect_claims"]
    on = client.put(
        "/api/locks",
        json={
            "locks": wanted,
            "step_up": env.step_up(client, resident, "set_locks", {"locks": wanted}),
        },
    )
    assert on.status_code == 200, on.text

    # Blocked: online changes (payout account, move-out) and refunds/claims without the PIN.
    body = _account(resident, "2222222")
    body["step_up"] = env.step_up(
        client, resident, "change_payout_account", _account(resident, "2222222")
    )
    changed = client.put("/api/payout-account", json=body)
    assert changed.status_code == 409 and "block_online_changes" in changed.text
    move = {"destination_address": "東京都千代田区千代田1-1", "planned_date": str(today_jst())}
    move_body = {**move, "step_up": env.step_up(client, resident, "apply_move_out", move)}
    assert client.post("/api/applications/move-out", json=move_body).status_code == 409
    stopped = tpb.IssueRefundRequest(reference_number=ref, year=YEAR)
    assert _code(lambda: _tax(env).IssueRefund(stopped)) == grpc.StatusCode.PERMISSION_DENIED
    _wait(client, "/api/inbox", lambda d: d["category"] == "tax.refund_stopped")

    # Not blocked: reading my information, the exemption application, the medical deduction.
    me = {s["item"]: s for s in client.get("/api/me").json()["sections"]}
    assert me["basic_facts"]["status"] == "ok" and me["pension_record"]["status"] == "ok"
    fy = fiscal_year_of(today_jst())
    exemption = client.post(
        "/api/applications/pension-exemption",
        json={
            "fiscal_year": fy,
            "step_up": env.step_up(
                client, resident, "apply_pension_exemption", {"fiscal_year": fy}
            ),
        },
    )
    assert exemption.status_code == 201, exemption.text
    assessed = _tax(env).AssessYear(tpb.AssessYearRequest(reference_number=ref, year=YEAR))
    assert assessed.refund_yen > 0  # the medical-deduction query went through the hub
    log = client.get("/api/log", params={"agency": "health"}).json()["entries"]
    assert any(e["procedure"] == "tax.medical_deduction" and e["outcome"] != "denied" for e in log)

    # With this year's PIN the refund goes through the lock (and is paid: confirmed account).
    pin = client.post(
        "/api/claim-pin", json={"step_up": env.step_up(client, resident, "issue_claim_pin", {})}
    ).json()["pin"]
    paid = _tax(env).IssueRefund(
        tpb.IssueRefundRequest(reference_number=ref, year=YEAR, claim_pin=pin)
    )
    assert paid.status == tpb.REFUND_STATUS_RELEASED


# ---------------------------------------------------------------------------- (4)


def test_holder_name_must_match_and_shared_accounts_raise_an_alert(env: PortalEnv) -> None:
    first = env.make_resident()
    second = env.make_resident()
    ref = _refundable(env, second)
    a = env.login(first)
    b = env.login(second)
    _register_account(env, first, a)
    # Holder name check: an account in someone else's name is refused.
    foreign = _account(second)
    foreign["holder_kana"] = first.demo.name_kana
    foreign_body = {**foreign, "step_up": env.step_up(b, second, "change_payout_account", foreign)}
    refused = b.put("/api/payout-account", json=foreign_body)
    assert refused.status_code == 400 and "does not match" in refused.text
    _register_account(env, second, b)
    # Both residents' rows name the same account (e.g. a shared or bought account).
    with env.portal.db.transaction() as session:
        rows = list(session.query(PayoutAccountRow).order_by(PayoutAccountRow.registered_at))
        first_row, second_row = rows[-2], rows[-1]
        second_row.account_index = first_row.account_index
    assert b.get("/api/payout-account").json()["shared_with_others"] is True
    refund = _tax(env).IssueRefund(tpb.IssueRefundRequest(reference_number=ref, year=YEAR))
    assert refund.status == tpb.REFUND_STATUS_HELD and "unrelated" in refund.hold_reason
    alerts = _tax(env).ListAlerts(tpb.ListAlertsRequest()).alerts
    assert any(x.reference_number == ref and x.kind == "shared_payout_account" for x in alerts)

    # The release run keeps it held while the account is shared ...
    tax = _tax(env)
    out = tax.ReleaseHeldRefunds(tpb.ReleaseHeldRefundsRequest())
    assert ref not in [x.reference_number for x in out.released]
    alert = next(
        x for x in tax.ListAlerts(tpb.ListAlertsRequest()).alerts if x.reference_number == ref
    )
    assert alert.approved_by == "" and alert.approved_at == ""

    # ... until an operator approves it after review (who and when are recorded).
    def approve(reference: str, alert_id: str, operator: str) -> Any:
        return tax.ApproveSharedAccount(
            tpb.ApproveSharedAccountRequest(
                reference_number=reference, alert_id=alert_id, operator_id=operator
            )
        )

    assert _code(lambda: approve(ref, alert.alert_id, "")) == grpc.StatusCode.INVALID_ARGUMENT
    other = _refundable(env, first)
    assert _code(lambda: approve(other, alert.alert_id, "K-20417")) == grpc.StatusCode.NOT_FOUND
    assert _code(lambda: approve(ref, "0" * 32, "K-20417")) == grpc.StatusCode.NOT_FOUND
    listed = tax.ListAlerts(tpb.ListAlertsRequest()).alerts
    assert all(x.approved_by == "" for x in listed)
    approved = approve(ref, alert.alert_id, "K-20417")
    assert approved.approved_by == "K-20417" and approved.approved_at
    assert approve(ref, alert.alert_id, "K-99999").approved_by == "K-20417"
    listed = tax.ListAlerts(tpb.ListAlertsRequest()).alerts
    assert [x.approved_by for x in listed if x.alert_id == alert.alert_id] == ["K-20417"]
    out = tax.ReleaseHeldRefunds(tpb.ReleaseHeldRefundsRequest())
    assert ref in [x.reference_number for x in out.released]
    assert b.get("/api/payout-account").json()["shared_with_others"] is True  # still shared
