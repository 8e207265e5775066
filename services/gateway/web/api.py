"""The portal's JSON API (documented at ``/openapi.json``): conversion between HTTP and the
use cases only. Every authenticated endpoint acts for the session's resident alone.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Cookie, Depends, Header, Query, Request, Response
from pydantic import BaseModel, Field

from mynumber_core import errors
from services.gateway import domain
from services.gateway.models import Application, BusinessGrant, InboxDocument, Notice, Payment
from services.gateway.usecases import NewSession, Portal, SessionInfo, StepUpProof

SESSION_COOKIE = "mnp_session"


class ErrorDetail(BaseModel):
    """What went wrong, for people and programs."""

    code: str = Field(description="machine-readable kind, e.g. not_found")
    message: str = Field(description="what is wrong and how to fix it")


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorDetail


_ERR = {"model": ErrorBody}
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _ERR,
    401: _ERR,
    403: _ERR,
    404: _ERR,
    409: _ERR,
    429: _ERR,
    503: _ERR,
    504: _ERR,
}

# --------------------------------------------------------------------------- schemas


class ChallengeOut(BaseModel):
    """A login challenge to sign with the card (``login_challenge_message``)."""

    challenge_id: str
    nonce: str
    audience: str
    issued_at: int = Field(description="Unix seconds, part of the signed message")
    expires_at: dt.datetime


class LoginIn(BaseModel):
    """A signed login challenge."""

    challenge_id: str
    certificate_pem: str
    signature: str = Field(description="base64 ECDSA-SHA256 signature (DER)")


class SessionOut(BaseModel):
    """A session was opened (the cookie carries it)."""

    status: Literal["logged_in"] = "logged_in"
    expires_at: dt.datetime


class PendingOut(BaseModel):
    """Still waiting."""

    status: Literal["pending"] = "pending"


class CodeOut(BaseModel):
    """A one-time code for the browser login; approve it with ``mynumber card approve``."""

    challenge_id: str
    code: str
    poll_secret: str = Field(description="keep it: only its holder can collect the session")
    expires_at: dt.datetime


class PollIn(BaseModel):
    """The browser's poll for its login."""

    challenge_id: str
    poll_secret: str


class ApprovalOut(BaseModel):
    """What a one-time code asks the card to sign."""

    kind: Literal["login", "action"]
    action: str | None
    fields: dict[str, str]
    nonce: str
    audience: str
    issued_at: int
    expires_at: dt.datetime


class ApproveIn(BaseModel):
    """A card's approval of a code."""

    certificate_pem: str
    signature: str


class ApprovedOut(BaseModel):
    """The code is approved."""

    status: Literal["approved"] = "approved"
    kind: str


class StepUpIn(BaseModel):
    """Ask to approve one sensitive action with exactly these values."""

    action: str = Field(description=f"one of {', '.join(domain.ACTIONS)}")
    fields: dict[str, Any] = Field(description="the same values the action's request will carry")


class StepUpOut(BaseModel):
    """A step-up challenge: sign ``message_b64`` or approve ``code`` with the CLI."""

    challenge_id: str
    code: str
    nonce: str
    action: str
    fields: dict[str, str]
    message_b64: str
    expires_at: dt.datetime


class StepUpStatusOut(BaseModel):
    """pending, approved, used or expired."""

    status: str


class StepUpProofIn(BaseModel):
    """The approval a sensitive request carries."""

    challenge_id: str
    certificate_pem: str | None = None
    signature: str | None = None


class InfoSectionOut(BaseModel):
    """One agency's record of the resident."""

    provider: str
    item: str
    title: str
    status: Literal["ok", "no_record", "denied", "unavailable"]
    data: dict[str, Any]
    message: str
    log_index: int | None


class MeOut(BaseModel):
    """What every agency holds about the resident."""

    sections: list[InfoSectionOut]


class LogEntryOut(BaseModel):
    """One exchange-log entry with its verified proof status."""

    index: int
    time: str
    requester: str
    provider: str
    item: str
    procedure: str
    outcome: str
    reason: str
    proof: Literal["verified", "failed"]


class LogOut(BaseModel):
    """The resident's exchange log."""

    entries: list[LogEntryOut]
    checkpoint_size: int
    checkpoint_verified: bool
    all_verified: bool
    older: int | None = Field(
        description="the `before` cursor of the next, older page (null on the last page)"
    )


class DocumentOut(BaseModel):
    """An inbox document or a notice."""

    id: str
    sender: str
    category: str
    title: str
    body: str
    received_at: dt.datetime
    read: bool


class DocumentsOut(BaseModel):
    """A list of documents."""

    documents: list[DocumentOut]
    unread: int


class DueItemOut(BaseModel):
    """An amount due."""

    agency: str
    item_id: str
    amount: int
    description: str = ""
    due_date: str = ""
    fiscal_year: int | None = None


class DueOut(BaseModel):
    """Amounts due at every agency."""

    items: list[DueItemOut]
    total: int


class PaymentIn(BaseModel):
    """Pay one amount due (header Idempotency-Key required)."""

    agency: str
    item_id: str
    amount: int
    step_up: StepUpProofIn | None = None


class PaymentOut(BaseModel):
    """A payment."""

    id: str
    agency: str
    item_id: str
    amount: int
    paid_at: dt.datetime


class PaymentsOut(BaseModel):
    """The resident's payments."""

    payments: list[PaymentOut]


class PayoutIn(BaseModel):
    """A public-funds receipt account."""

    bank_code: str
    branch_code: str
    account_type: str = Field(description=f"one of {', '.join(domain.ACCOUNT_TYPES)}")
    account_number: str
    holder_kana: str
    step_up: StepUpProofIn | None = None


class PayoutOut(BaseModel):
    """The registered account (number masked)."""

    registered: bool
    bank_code: str | None = None
    branch_code: str | None = None
    account_type: str | None = None
    account_number: str | None = None
    holder_kana: str | None = None
    changed_at: str | None = None
    cooling_off_until: str | None = None
    confirmed_with_card: bool = False
    confirmed_at: str | None = None
    shared_with_others: bool = False


class StepUpOnlyIn(BaseModel):
    """A sensitive action with nothing but its card approval."""

    step_up: StepUpProofIn | None = None


class ClaimPinOut(BaseModel):
    """This year's claim PIN: shown once, never stored by the portal."""

    pin: str = Field(description="6 digits; write it down — it cannot be shown again")
    year: int


class ReissueIn(BaseModel):
    """Ask for a new My Number (the old one leaked or is misused)."""

    reason: str = Field(description=f"one of {', '.join(domain.REISSUE_REASONS)}")
    step_up: StepUpProofIn | None = None


class ReissueOut(BaseModel):
    """The new number, shown once (it is not kept by the portal)."""

    my_number: str


class PensionClaimIn(BaseModel):
    """Claim the old-age basic pension (card step-up ``pension_claim``)."""

    pin: str | None = Field(None, description="this year's claim PIN when protect_claims is on")
    step_up: StepUpProofIn | None = None


class ExemptionIn(BaseModel):
    """Apply for exemption from national pension contributions."""

    fiscal_year: int
    step_up: StepUpProofIn | None = None


class MoveOutIn(BaseModel):
    """Online move-out notice."""

    destination_address: str
    planned_date: str = Field(description="YYYY-MM-DD")
    step_up: StepUpProofIn | None = None


class ApplicationOut(BaseModel):
    """An application."""

    id: str
    kind: str
    agency: str
    details: dict[str, Any]
    submitted_at: dt.datetime


class ApplicationsOut(BaseModel):
    """The resident's applications."""

    applications: list[ApplicationOut]


class LocksIn(BaseModel):
    """The complete set of locks to have on."""

    locks: list[str]
    step_up: StepUpProofIn | None = None


class LocksOut(BaseModel):
    """The locks now on."""

    locks: list[str]
    available: list[str]


class BusinessOut(BaseModel):
    """A registered business."""

    id: str
    name: str


class BusinessesOut(BaseModel):
    """Registered businesses."""

    businesses: list[BusinessOut]


class GrantIn(BaseModel):
    """Let one business deliver to your inbox."""

    business_id: str
    step_up: StepUpProofIn | None = None


class GrantOut(BaseModel):
    """A delivery grant."""

    id: str
    business_id: str
    business_name: str
    created_at: dt.datetime
    revoked: bool
    deliveries: int
    delivery_token: str | None = Field(None, description="shown once, when the grant is made")


class GrantsOut(BaseModel):
    """The resident's grants."""

    grants: list[GrantOut]


class BusinessDeliveryIn(BaseModel):
    """A document a registered business delivers (header X-API-Key required)."""

    delivery_token: str = Field(description="the token the resident gave the business")
    reference: str = Field(description="unique per document; a retry delivers once")
    title: str | None = None
    title_ja: str | None = None
    title_en: str | None = None
    body: str | None = None
    body_ja: str | None = None
    body_en: str | None = None


class BusinessDeliveryOut(BaseModel):
    """The delivered document's id."""

    document_id: str
    created: bool


# --------------------------------------------------------------------------- helpers


def _proof(value: StepUpProofIn | None) -> StepUpProof | None:
    if value is None:
        return None
    return StepUpProof(value.challenge_id, value.certificate_pem, value.signature)


def _doc(row: InboxDocument | Notice, lang: str) -> DocumentOut:
    return DocumentOut(
        id=row.id,
        sender=row.sender,
        category=row.category,
        title=row.title_en if lang == "en" else row.title_ja,
        body=row.body_en if lang == "en" else row.body_ja,
        received_at=row.received_at,
        read=row.read_at is not None,
    )


def _payment(row: Payment) -> PaymentOut:
    return PaymentOut(
        id=row.id, agency=row.agency, item_id=row.item_id, amount=row.amount, paid_at=row.paid_at
    )


def _application(row: Application) -> ApplicationOut:
    return ApplicationOut(
        id=row.id,
        kind=row.kind,
        agency=row.agency,
        details=json.loads(row.details),
        submitted_at=row.submitted_at,
    )


def _grant(row: BusinessGrant, name: str, token: str | None = None) -> GrantOut:
    return GrantOut(
        id=row.id,
        business_id=row.business_id,
        business_name=name,
        created_at=row.created_at,
        revoked=row.revoked_at is not None,
        deliveries=row.deliveries,
        delivery_token=token,
    )


def lang_of(request: Request) -> str:
    """The API's language: ?lang=, the lang cookie, Accept-Language."""
    from services.gateway.web.i18n import pick_lang

    return pick_lang(
        request.query_params.get("lang"),
        request.cookies.get("lang"),
        request.headers.get("accept-language"),
    )


def set_session_cookie(
    request: Request, response: Response, opened: NewSession, *, secure: bool
) -> None:
    """HttpOnly, SameSite=Strict; Secure behind TLS or when configured."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    response.set_cookie(
        SESSION_COOKIE,
        opened.session_id,
        max_age=max(1, int((opened.expires_at - dt.datetime.now(dt.UTC)).total_seconds())),
        httponly=True,
        samesite="strict",
        secure=secure or request.url.scheme == "https" or forwarded == "https",
        path="/",
    )


def current_session(
    request: Request,
    mnp_session: Annotated[str | None, Cookie(include_in_schema=False)] = None,
) -> SessionInfo:
    """The session's resident (UNAUTHENTICATED → 401 without a valid cookie)."""
    portal: Portal = request.app.state.portal
    return portal.authenticate(mnp_session)


Auth = Annotated[SessionInfo, Depends(current_session)]
Lang = Annotated[str, Depends(lang_of)]

# --------------------------------------------------------------------------- the router


def build_router(portal: Portal, *, cookie_secure: bool) -> APIRouter:
    """Every JSON endpoint, over one :class:`Portal`."""
    router = APIRouter(prefix="/api", responses=COMMON_ERRORS)

    # ----- login -----------------------------------------------------------------

    @router.post("/login/challenge", response_model=ChallengeOut, tags=["login"])
    def login_challenge() -> ChallengeOut:
        """Start a card login: sign the returned challenge with ``login_challenge_message``."""
        c = portal.start_login()
        return ChallengeOut(
            challenge_id=c.challenge_id,
            nonce=c.nonce,
            audience=c.audience,
            issued_at=c.issued_at,
            expires_at=c.expires_at,
        )

    @router.post("/login", response_model=SessionOut, tags=["login"])
    def login(body: LoginIn, request: Request, response: Response) -> SessionOut:
        """Finish a card login; sets the session cookie. Each challenge works once."""
        opened = portal.login(body.challenge_id, body.certificate_pem, body.signature)
        set_session_cookie(request, response, opened, secure=cookie_secure)
        return SessionOut(expires_at=opened.expires_at)

    @router.post("/login/code", response_model=CodeOut, tags=["login"])
    def login_code() -> CodeOut:
        """Browser login: a one-time code to approve with ``mynumber card approve CODE``."""
        c = portal.start_login(with_code=True)
        assert c.code and c.poll_secret
        return CodeOut(
            challenge_id=c.challenge_id,
            code=c.code,
            poll_secret=c.poll_secret,
            expires_at=c.expires_at,
        )

    @router.post(
        "/login/poll",
        response_model=SessionOut | PendingOut,
        tags=["login"],
        responses={202: {"model": PendingOut}},
    )
    def login_poll(body: PollIn, request: Request, response: Response) -> SessionOut | PendingOut:
        """The browser's poll: 202 while the code waits, 200 and the cookie once approved."""
        opened = portal.poll_login(body.challenge_id, body.poll_secret)
        if opened is None:
            response.status_code = 202
            return PendingOut()
        set_session_cookie(request, response, opened, secure=cookie_secure)
        return SessionOut(expires_at=opened.expires_at)

    @router.get("/approvals/{code}", response_model=ApprovalOut, tags=["login"])
    def describe_approval(code: str) -> ApprovalOut:
        """What a one-time code asks your card to sign (the CLI shows it before signing)."""
        c = portal.describe_code(code)
        return ApprovalOut(
            kind="action" if c.action else "login",
            action=c.action,
            fields=c.fields,
            nonce=c.nonce,
            audience=c.audience,
            issued_at=c.issued_at,
            expires_at=c.expires_at,
        )

    @router.post("/approvals/{code}", response_model=ApprovedOut, tags=["login"])
    def approve(code: str, body: ApproveIn) -> ApprovedOut:
        """Approve a code with a card signature over what ``GET`` returned."""
        kind = portal.approve_code(code, body.certificate_pem, body.signature)
        return ApprovedOut(kind=kind)

    @router.post("/logout", status_code=204, tags=["login"])
    def logout(
        response: Response,
        mnp_session: Annotated[str | None, Cookie(include_in_schema=False)] = None,
    ) -> Response:
        """End the session (harmless without one)."""
        with contextlib.suppress(errors.Unauthenticated):
            portal.logout(portal.authenticate(mnp_session))
        out = Response(status_code=204)
        out.delete_cookie(SESSION_COOKIE, path="/")
        return out

    @router.get("/session", response_model=SessionOut, tags=["login"])
    def session_info(sess: Auth) -> SessionOut:
        """The current session."""
        return SessionOut(expires_at=sess.expires_at)

    # ----- step-up ---------------------------------------------------------------

    @router.post("/step-up", response_model=StepUpOut, tags=["step-up"])
    def step_up(body: StepUpIn, sess: Auth) -> StepUpOut:
        """Ask to approve one sensitive action with exactly these values."""
        c = portal.start_step_up(sess, body.action, body.fields)
        assert c.code and c.action
        return StepUpOut(
            challenge_id=c.challenge_id,
            code=c.code,
            nonce=c.nonce,
            action=c.action,
            fields=c.fields,
            message_b64=base64.b64encode(c.message()).decode(),
            expires_at=c.expires_at,
        )

    @router.get("/step-up/{challenge_id}", response_model=StepUpStatusOut, tags=["step-up"])
    def step_up_status(challenge_id: str, sess: Auth) -> StepUpStatusOut:
        """Whether your approval code was approved yet."""
        return StepUpStatusOut(status=portal.step_up_status(sess, challenge_id))

    # ----- my information and the log ------------------------------------------------

    @router.get("/me", response_model=MeOut, tags=["information"])
    def me(sess: Auth, lang: Lang) -> MeOut:
        """What each agency holds about you, fetched through the hub (and so logged)."""
        return MeOut(
            sections=[
                InfoSectionOut(
                    provider=s.provider,
                    item=s.item,
                    title=s.title_en if lang == "en" else s.title_ja,
                    status=s.status,
                    data=s.data,
                    message=s.message,
                    log_index=s.log_index,
                )
                for s in portal.my_information(sess)
            ]
        )

    @router.get("/log", response_model=LogOut, tags=["information"])
    def exchange_log(
        sess: Auth,
        agency: Annotated[str | None, Query(description="requester or provider")] = None,
        date_from: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD")] = None,
        date_to: Annotated[str | None, Query(alias="to", description="YYYY-MM-DD")] = None,
        before: Annotated[
            str | None, Query(description="the `older` cursor of the previous page")
        ] = None,
    ) -> LogOut:
        """Your exchange log, newest first, 100 entries a page; every entry's inclusion proof
        is verified by the portal."""
        view = portal.exchange_log(
            sess,
            agency=agency,
            date_from=domain.parse_date_filter("from", date_from),
            date_to=domain.parse_date_filter("to", date_to),
            before=before,
        )
        return LogOut(
            entries=[
                LogEntryOut(
                    index=e.index,
                    time=e.time,
                    requester=e.requester,
                    provider=e.provider,
                    item=e.item,
                    procedure=e.procedure,
                    outcome=e.outcome,
                    reason=e.reason,
                    proof=e.proof,
                )
                for e in view.entries
            ],
            checkpoint_size=view.checkpoint_size,
            checkpoint_verified=view.checkpoint_verified,
            all_verified=view.all_verified,
            older=view.older,
        )

    # ----- notices and inbox ---------------------------------------------------------

    @router.get("/notices", response_model=DocumentsOut, tags=["inbox"])
    def notices(sess: Auth, lang: Lang) -> DocumentsOut:
        """Your notices, newest first."""
        rows = portal.notices(sess)
        return DocumentsOut(
            documents=[_doc(r, lang) for r in rows], unread=sum(r.read_at is None for r in rows)
        )

    @router.post("/notices/{notice_id}/read", response_model=DocumentOut, tags=["inbox"])
    def read_notice(notice_id: str, sess: Auth, lang: Lang) -> DocumentOut:
        """Mark a notice read."""
        return _doc(portal.mark_notice_read(sess, notice_id), lang)

    @router.get("/inbox", response_model=DocumentsOut, tags=["inbox"])
    def inbox(sess: Auth, lang: Lang) -> DocumentsOut:
        """Your inbox (e-communication box), newest first."""
        rows = portal.inbox(sess)
        return DocumentsOut(
            documents=[_doc(r, lang) for r in rows], unread=sum(r.read_at is None for r in rows)
        )

    @router.get("/inbox/{document_id}", response_model=DocumentOut, tags=["inbox"])
    def document(document_id: str, sess: Auth, lang: Lang) -> DocumentOut:
        """One document (opening it marks it read)."""
        return _doc(portal.document(sess, document_id, mark_read=True), lang)

    @router.post(
        "/business/inbox", response_model=BusinessDeliveryOut, status_code=201, tags=["business"]
    )
    def business_deliver(
        body: BusinessDeliveryIn,
        response: Response,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> BusinessDeliveryOut:
        """A registered business delivers a document to a resident who granted it delivery.

        The resident is addressed by the **delivery token** they gave the business (made on
        the resident's "business delivery" page), never by a My Number or a portal token.
        """
        document_id, created = portal.business_deliver(
            x_api_key, body.delivery_token, body.model_dump(exclude={"delivery_token"})
        )
        if not created:
            response.status_code = 200
        return BusinessDeliveryOut(document_id=document_id, created=created)

    @router.get("/businesses", response_model=BusinessesOut, tags=["business"])
    def businesses(sess: Auth) -> BusinessesOut:
        """Registered businesses you may allow to deliver to your inbox."""
        return BusinessesOut(
            businesses=[BusinessOut(id=b.id, name=b.name) for b in portal.businesses()]
        )

    @router.get("/business-grants", response_model=GrantsOut, tags=["business"])
    def grants(sess: Auth) -> GrantsOut:
        """The businesses you allowed."""
        return GrantsOut(grants=[_grant(g, n) for g, n in portal.grants(sess)])

    @router.post("/business-grants", response_model=GrantOut, status_code=201, tags=["business"])
    def grant(body: GrantIn, sess: Auth) -> GrantOut:
        """Allow a business to deliver; the delivery token is shown once (step-up needed)."""
        row, token = portal.grant_business(sess, body.business_id, _proof(body.step_up))
        names = {b.id: b.name for b in portal.businesses()}
        return _grant(row, names.get(row.business_id, ""), token)

    @router.delete("/business-grants/{grant_id}", response_model=GrantOut, tags=["business"])
    def revoke(grant_id: str, sess: Auth) -> GrantOut:
        """Withdraw a business's permission."""
        row = portal.revoke_grant(sess, grant_id)
        names = {b.id: b.name for b in portal.businesses()}
        return _grant(row, names.get(row.business_id, ""))

    # ----- payments -------------------------------------------------------------------

    @router.get("/payments/due", response_model=DueOut, tags=["payments"])
    def due(sess: Auth) -> DueOut:
        """Amounts due at the tax office and the pension service."""
        items = [
            DueItemOut(
                agency=d["agency"],
                item_id=str(d.get("item_id", "")),
                amount=d["amount"],
                description=str(d.get("description", "")),
                due_date=str(d.get("due_date", "")),
                fiscal_year=d.get("fiscal_year") if isinstance(d.get("fiscal_year"), int) else None,
            )
            for d in portal.amounts_due(sess)
        ]
        return DueOut(items=items, total=sum(i.amount for i in items))

    @router.get("/payments", response_model=PaymentsOut, tags=["payments"])
    def payments(sess: Auth) -> PaymentsOut:
        """Your payments."""
        return PaymentsOut(payments=[_payment(p) for p in portal.payments(sess)])

    @router.post("/payments", response_model=PaymentOut, status_code=201, tags=["payments"])
    def pay(
        body: PaymentIn,
        sess: Auth,
        response: Response,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> PaymentOut:
        """Pay an amount due (step-up needed); retry with the same Idempotency-Key."""
        row, created = portal.pay(
            sess, idempotency_key, body.model_dump(exclude={"step_up"}), _proof(body.step_up)
        )
        if not created:
            response.status_code = 200
        return _payment(row)

    # ----- payout account -------------------------------------------------------------

    @router.get("/payout-account", response_model=PayoutOut, tags=["payout account"])
    def payout(sess: Auth) -> PayoutOut:
        """Your public-funds receipt account (number masked)."""
        view = portal.payout_account(sess)
        return PayoutOut(registered=False) if view is None else PayoutOut(registered=True, **view)

    @router.put("/payout-account", response_model=PayoutOut, tags=["payout account"])
    def set_payout(body: PayoutIn, sess: Auth) -> PayoutOut:
        """Register or change it (holder-name check, step-up needed)."""
        view = portal.set_payout_account(
            sess, body.model_dump(exclude={"step_up"}), _proof(body.step_up)
        )
        return PayoutOut(registered=True, **view)

    @router.post("/payout-account/confirm", response_model=PayoutOut, tags=["payout account"])
    def confirm_payout(body: StepUpOnlyIn, sess: Auth) -> PayoutOut:
        """Confirm payouts to your account with your card: held refunds and pension payments
        are released (step-up ``confirm_payout``)."""
        view = portal.confirm_payout(sess, _proof(body.step_up))
        return PayoutOut(registered=True, **view)

    # ----- claim PIN and number reissue ----------------------------------------------

    @router.post("/claim-pin", response_model=ClaimPinOut, status_code=201, tags=["locks"])
    def claim_pin(body: StepUpOnlyIn, sess: Auth) -> ClaimPinOut:
        """Issue this year's claim PIN (needed for refunds and claims while protect_claims is
        on); shown once (step-up ``issue_claim_pin``)."""
        pin, year = portal.issue_claim_pin(sess, _proof(body.step_up))
        return ClaimPinOut(pin=pin, year=year)

    @router.post("/number/reissue", response_model=ReissueOut, status_code=201, tags=["locks"])
    def reissue(body: ReissueIn, sess: Auth) -> ReissueOut:
        """Get a new My Number when yours leaked; shown once (step-up ``reissue_number``)."""
        number = portal.reissue_number(
            sess, body.model_dump(exclude={"step_up"}), _proof(body.step_up)
        )
        return ReissueOut(my_number=number)

    # ----- applications ---------------------------------------------------------------

    @router.get("/applications", response_model=ApplicationsOut, tags=["applications"])
    def applications(sess: Auth) -> ApplicationsOut:
        """Your applications."""
        return ApplicationsOut(applications=[_application(a) for a in portal.applications(sess)])

    @router.post(
        "/applications/pension-exemption",
        response_model=ApplicationOut,
        status_code=201,
        tags=["applications"],
    )
    def apply_exemption(body: ExemptionIn, sess: Auth) -> ApplicationOut:
        """Apply for exemption from pension contributions; the decision comes to the inbox."""
        row = portal.apply_pension_exemption(
            sess, body.model_dump(exclude={"step_up"}), _proof(body.step_up)
        )
        return _application(row)

    @router.post(
        "/applications/pension-claim",
        response_model=ApplicationOut,
        status_code=201,
        tags=["applications"],
    )
    def apply_pension_claim(body: PensionClaimIn, sess: Auth) -> ApplicationOut:
        """Claim the old-age basic pension (step-up ``pension_claim``; the claim PIN too while
        protect_claims is on); the decision comes to the inbox."""
        row = portal.apply_pension_claim(
            sess, body.model_dump(exclude={"step_up"}), _proof(body.step_up)
        )
        return _application(row)

    @router.post(
        "/applications/move-out",
        response_model=ApplicationOut,
        status_code=201,
        tags=["applications"],
    )
    def apply_move_out(body: MoveOutIn, sess: Auth) -> ApplicationOut:
        """Give the move-out notice online (step-up needed)."""
        row = portal.apply_move_out(
            sess, body.model_dump(exclude={"step_up"}), _proof(body.step_up)
        )
        return _application(row)

    # ----- locks ----------------------------------------------------------------------

    @router.get("/locks", response_model=LocksOut, tags=["locks"])
    def locks(sess: Auth) -> LocksOut:
        """Your locks."""
        return LocksOut(locks=portal.locks(sess), available=list(domain.LOCKS))

    @router.put("/locks", response_model=LocksOut, tags=["locks"])
    def set_locks(body: LocksIn, sess: Auth) -> LocksOut:
        """Set the complete set of locks (step-up needed); the registry enforces them."""
        return LocksOut(
            locks=portal.set_locks(sess, body.locks, _proof(body.step_up)),
            available=list(domain.LOCKS),
        )

    return router
