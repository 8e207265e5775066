"""The portal's operations: card login and step-up, sessions, my information, the exchange
log with proofs, notices, the inbox (agencies and registered businesses), payments, the payout
account, applications and locks; plus the provider item and event handlers.

Every operation takes the session's resident and touches only that resident's objects: an id
belonging to somebody else is reported exactly like an id that does not exist (NOT_FOUND).
Input is validated before anything is written, so a rejected request changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from mynumber.registry.v1 import registry_pb2 as pb
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.card import action_message, login_challenge_message
from mynumber_core.checkpoint import Checkpoint, CheckpointError
from mynumber_core.db import Database
from mynumber_core.keyring import BlindIndex
from mynumber_core.logverifier import (
    LogVerificationError,
    TrustedLog,
    verify_checkpoint,
    verify_entry_inclusion,
    verify_update,
)
from mynumber_core.outbox import OutboxRow, enqueue
from mynumber_core.provider import DeliveredEvent, ProvideCall
from mynumber_core.registry_client import QuerySpec, RegistryClient
from mynumber_core.rpc_errors import as_domain_error
from services.gateway import domain
from services.gateway.cards import CardAuthority
from services.gateway.models import (
    Application,
    Business,
    BusinessGrant,
    Challenge,
    InboxDocument,
    LockRow,
    Notice,
    OutboxEvent,
    Payment,
    PayoutAccountRow,
    PortalSession,
    Resident,
)

log = structlog.get_logger("mynumber.gateway")

ACCOUNT_PURPOSE = "payout-account"
CHALLENGE_TTL = dt.timedelta(minutes=5)
PORTAL_SENDER = "マイナポータル (Myna Portal)"
_OUTCOMES = {
    pb.OUTCOME_PROVIDED: "provided",
    pb.OUTCOME_DENIED: "denied",
    pb.OUTCOME_FAILED: "failed",
    pb.OUTCOME_DELIVERED: "delivered",
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _jst_year(moment: dt.datetime) -> int:
    return _aware(moment).astimezone(dt.timezone(dt.timedelta(hours=9))).year


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def decode_signature(value: str) -> bytes:
    """A base64 signature from a request."""
    try:
        raw = base64.b64decode(value.encode(), validate=True)
    except (binascii.Error, ValueError, UnicodeError):
        raise errors.InvalidInput("signature must be base64 (standard alphabet)") from None
    if not 8 <= len(raw) <= 512:
        raise errors.InvalidInput("signature has an impossible length")
    return raw


def _certificate(value: str) -> bytes:
    if not isinstance(value, str) or "BEGIN CERTIFICATE" not in value or len(value) > 8192:
        raise errors.InvalidInput("certificate_pem must be the card's PEM certificate")
    return value.encode()


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class SessionInfo:
    """The authenticated resident behind a request."""

    resident_id: str
    token: str
    session_hash: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class NewSession:
    """A freshly created session: the cookie value is shown once, only its hash is kept."""

    session_id: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class IssuedChallenge:
    """A challenge handed to a client."""

    challenge_id: str
    nonce: str
    audience: str
    issued_at: int
    expires_at: dt.datetime
    code: str | None = None
    poll_secret: str | None = None
    action: str | None = None
    fields: dict[str, str] = field(default_factory=dict)

    def message(self) -> bytes:
        """The exact bytes the card must sign."""
        if self.action:
            return action_message(self.action, self.fields, self.nonce)
        return login_challenge_message(self.nonce, self.audience, self.issued_at)


@dataclass(frozen=True)
class StepUpProof:
    """What a sensitive request carries: a challenge id and, unless the challenge was
    approved with its code through the CLI, the card certificate and signature."""

    challenge_id: str
    certificate_pem: str | None = None
    signature: str | None = None


@dataclass(frozen=True)
class InfoSection:
    """One item of "my information"."""

    provider: str
    item: str
    title_ja: str
    title_en: str
    status: str  # ok | no_record | denied | unavailable
    data: dict[str, Any]
    message: str
    log_index: int | None


@dataclass(frozen=True)
class LogLine:
    """One exchange-log entry and whether its inclusion proof verified."""

    index: int
    time: str
    requester: str
    provider: str
    item: str
    procedure: str
    outcome: str
    reason: str
    proof: str  # verified | failed
    caused_by_me: bool


@dataclass(frozen=True)
class LogView:
    """The resident's exchange log with the checkpoint the proofs refer to."""

    entries: list[LogLine]
    checkpoint_size: int
    checkpoint_verified: bool
    all_verified: bool
    older: int | None = None
    """The ``before`` cursor of the next (older) page, or None on the last page."""


LOG_PAGE = 100
"""Exchange-log entries per portal page."""


# -------------------------------------------------------------------------- the use cases


class Portal:
    """All portal use cases over one database."""

    def __init__(
        self,
        db: Database,
        blind: BlindIndex,
        registry: RegistryClient,
        cards: CardAuthority,
        *,
        audience: str,
        session_ttl: dt.timedelta = dt.timedelta(minutes=15),
        wake_outbox: Callable[[], None] = lambda: None,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self.db = db
        self._blind = blind
        self._registry = registry
        self._cards = cards
        self.audience = audience
        self._session_ttl = session_ttl
        self._wake_outbox = wake_outbox
        self._clock = clock
        self._trusted: tuple[TrustedLog, Checkpoint] | None = None

    # ------------------------------------------------------------------ residents

    def _resident_by_token(self, session: Session, token: str, *, create: bool) -> Resident:
        row = session.scalars(select(Resident).where(Resident.token == token)).first()
        if row is None:
            if not create:
                raise errors.NotFound("the portal has no record of this resident")
            row = Resident(id=_new_id("R"), token=token, created_at=self._clock())
            session.add(row)
            session.flush()
        return row

    # ------------------------------------------------------------------ challenges

    def _issue(
        self,
        kind: str,
        *,
        with_code: bool,
        action: str | None = None,
        fields: Mapping[str, str] | None = None,
        session_hash: str | None = None,
    ) -> IssuedChallenge:
        now = self._clock()
        challenge = IssuedChallenge(
            challenge_id=_new_id("C"),
            nonce=domain.new_secret(24),
            audience=self.audience,
            issued_at=int(now.timestamp()),
            expires_at=now + CHALLENGE_TTL,
            code=domain.new_code() if with_code else None,
            poll_secret=domain.new_secret() if with_code and kind == "login" else None,
            action=action,
            fields=dict(fields or {}),
        )
        challenge.message()  # validates action and fields before anything is stored
        with self.db.transaction() as session:
            session.add(
                Challenge(
                    id=challenge.challenge_id,
                    kind=kind,
                    nonce=challenge.nonce,
                    audience=challenge.audience,
                    issued_at=now.replace(microsecond=0),
                    expires_at=challenge.expires_at,
                    code_hash=domain.secret_hash(challenge.code) if challenge.code else None,
                    poll_hash=(
                        domain.secret_hash(challenge.poll_secret) if challenge.poll_secret else None
                    ),
                    action=action,
                    fields=json.dumps(challenge.fields, sort_keys=True) if action else None,
                    session_hash=session_hash,
                    status="pending",
                )
            )
        return challenge

    def _as_issued(self, row: Challenge) -> IssuedChallenge:
        return IssuedChallenge(
            challenge_id=row.id,
            nonce=row.nonce,
            audience=row.audience,
            issued_at=int(_aware(row.issued_at).timestamp()),
            expires_at=_aware(row.expires_at),
            action=row.action,
            fields=json.loads(row.fields) if row.fields else {},
        )

    def start_login(self, *, with_code: bool = False) -> IssuedChallenge:
        """A login challenge: sign it directly, or approve its code with the CLI."""
        return self._issue("login", with_code=with_code)

    def _check_open(self, row: Challenge | None, what: str) -> Challenge:
        if row is None:
            raise errors.NotFound(f"no such {what}; start again to get a new one")
        if row.used_at is not None or row.status in ("used", "rejected"):
            raise errors.Unauthenticated(
                f"this {what} was already used; each one works once — start again"
            )
        if _aware(row.expires_at) < self._clock():
            raise errors.Unauthenticated(f"this {what} has expired; start again")
        return row

    def _verify_card(self, challenge: IssuedChallenge, certificate_pem: str, signature: str) -> str:
        cert = _certificate(certificate_pem)
        raw = decode_signature(signature)
        return self._cards.verify(cert, challenge.message(), raw)

    def _holder(self, serial: str) -> str:
        holder = self._cards.identify(serial)
        if not holder.active:
            raise errors.Unauthenticated("this card's holder is not an active resident")
        return holder.token

    def _open_session(self, session: Session, resident: Resident, serial: str) -> NewSession:
        now = self._clock()
        session_id = domain.new_secret()
        expires = now + self._session_ttl
        session.add(
            PortalSession(
                id_hash=domain.secret_hash(session_id),
                resident_id=resident.id,
                card_serial=serial,
                created_at=now,
                expires_at=expires,
            )
        )
        resident.last_login_at = now
        return NewSession(session_id, expires)

    def login(self, challenge_id: str, certificate_pem: str, signature: str) -> NewSession:
        """Log in with a card signature over a login challenge (single use)."""
        domain.parse_id("challenge_id", challenge_id)
        with self.db.transaction() as session:
            row = self._check_open(session.get(Challenge, challenge_id), "login challenge")
            if row.kind != "login" or row.code_hash is not None:
                raise errors.NotFound("no such login challenge; start again to get a new one")
            # Consumed before the signature is checked: a challenge gets one attempt.
            row.used_at, row.status = self._clock(), "used"
            issued = self._as_issued(row)
        serial = self._verify_card(issued, certificate_pem, signature)
        token = self._holder(serial)
        with self.db.transaction() as session:
            resident = self._resident_by_token(session, token, create=True)
            opened = self._open_session(session, resident, serial)
        log.info("login", method="signature")
        return opened

    def describe_code(self, code: str) -> IssuedChallenge:
        """What a one-time code asks the card to sign (shown by the CLI before signing)."""
        code = domain.parse_code(code)
        with self.db.transaction() as session:
            row = session.scalars(
                select(Challenge).where(Challenge.code_hash == domain.secret_hash(code))
            ).first()
            row = self._check_open(row, "code")
            if row.status != "pending":
                raise errors.FailedPrecondition("this code was already approved")
            return self._as_issued(row)

    def approve_code(self, code: str, certificate_pem: str, signature: str) -> str:
        """Approve a code with a card signature; returns the challenge kind."""
        issued = self.describe_code(code)
        serial = self._verify_card(issued, certificate_pem, signature)
        token = self._holder(serial)
        with self.db.transaction() as session:
            row = session.get(Challenge, issued.challenge_id)
            row = self._check_open(row, "code")
            if row.status != "pending":
                raise errors.FailedPrecondition("this code was already approved")
            resident = self._resident_by_token(session, token, create=True)
            if row.kind == "action":
                owner = session.get(PortalSession, row.session_hash or "")
                if owner is None or owner.resident_id != resident.id:
                    row.status = "rejected"
                    raise errors.PermissionDenied(
                        "this card belongs to someone else than the logged-in resident"
                    )
            row.status = "approved"
            row.approved_resident_id = resident.id
            row.approved_serial = serial
            return row.kind

    def poll_login(self, challenge_id: str, poll_secret: str) -> NewSession | None:
        """The browser's poll: a session once its code is approved, None while pending."""
        domain.parse_id("challenge_id", challenge_id)
        if not isinstance(poll_secret, str) or not 16 <= len(poll_secret) <= 128:
            raise errors.InvalidInput("poll_secret must be the secret returned with the code")
        with self.db.transaction() as session:
            row = session.get(Challenge, challenge_id)
            if (
                row is None
                or row.kind != "login"
                or row.poll_hash != domain.secret_hash(poll_secret)
            ):
                raise errors.NotFound("no such login; start again to get a new code")
            row = self._check_open(row, "login code")
            if row.status != "approved":
                return None
            resident = session.get(Resident, row.approved_resident_id or "")
            if resident is None:
                raise errors.NotFound("no such login; start again to get a new code")
            row.used_at, row.status = self._clock(), "used"
            opened = self._open_session(session, resident, row.approved_serial or "")
        log.info("login", method="code")
        return opened

    # ------------------------------------------------------------------ sessions

    def authenticate(self, session_id: str | None) -> SessionInfo:
        """The resident behind a session cookie; UNAUTHENTICATED when missing or expired."""
        if not session_id or len(session_id) > 128:
            raise errors.Unauthenticated("log in with your My Number Card first")
        digest = domain.secret_hash(session_id)
        with self.db.transaction() as session:
            row = session.get(PortalSession, digest)
            if row is None or row.ended_at is not None:
                raise errors.Unauthenticated("your session is not valid; log in again")
            if _aware(row.expires_at) < self._clock():
                raise errors.Unauthenticated("your session has expired; log in again")
            resident = session.get(Resident, row.resident_id)
            assert resident is not None
            return SessionInfo(resident.id, resident.token, digest, _aware(row.expires_at))

    def logout(self, sess: SessionInfo) -> None:
        """End the session."""
        with self.db.transaction() as session:
            row = session.get(PortalSession, sess.session_hash)
            if row is not None:
                row.ended_at = self._clock()

    # ------------------------------------------------------------------ step-up

    def canonical_fields(
        self, action: str, raw: Mapping[str, Any], sess: SessionInfo | None = None
    ) -> dict[str, str]:
        """The exact values a card signs for an action, parsed as the action itself parses
        its request (so the approval and the request can be compared field by field).

        ``confirm_payout`` signs the account being confirmed as registered now (bank, branch,
        account number of the logged-in resident ``sess``), so the signature cannot confirm
        an account registered after it was made."""
        domain.check_action(action)
        raw = dict(raw)
        today = self._clock().date()
        if action == "change_payout_account":
            return domain.parse_payout_account(raw).as_dict()
        if action == "make_payment":
            agency, item_id, amount = domain.parse_payment(raw)
            return {"agency": agency, "item_id": item_id, "amount": str(amount)}
        if action == "apply_pension_exemption":
            return {"fiscal_year": str(domain.parse_exemption_year(raw.get("fiscal_year"), today))}
        if action == "apply_move_out":
            return domain.parse_move_out(raw, today)
        if action == "set_locks":
            return {"locks": ",".join(domain.parse_locks(raw.get("locks")))}
        if action == "confirm_payout":
            if sess is None:
                raise errors.Unauthenticated("log in with your My Number Card first")
            return self._confirm_fields(sess)
        if action == "issue_claim_pin":
            return {"year": str(_jst_year(self._clock()))}
        if action == "reissue_number":
            return {"reason": domain.parse_reissue_reason(raw.get("reason"))}
        if action == "pension_claim":
            return {"claim_type": "old_age_basic_pension"}
        return {"business_id": domain.parse_id("business_id", raw.get("business_id"))}

    def start_step_up(
        self, sess: SessionInfo, action: str, raw_fields: Mapping[str, Any]
    ) -> IssuedChallenge:
        """A challenge over one sensitive action and its exact values (approve by code)."""
        fields = self.canonical_fields(action, raw_fields, sess)
        return self._issue(
            "action", with_code=True, action=action, fields=fields, session_hash=sess.session_hash
        )

    def step_up_status(self, sess: SessionInfo, challenge_id: str) -> str:
        """pending | approved | used | expired, for the browser's poll."""
        domain.parse_id("challenge_id", challenge_id)
        with self.db.transaction() as session:
            row = session.get(Challenge, challenge_id)
            if row is None or row.kind != "action" or row.session_hash != sess.session_hash:
                raise errors.NotFound("no such approval")
            if row.status == "pending" and _aware(row.expires_at) < self._clock():
                return "expired"
            return row.status

    def _consume_step_up(
        self,
        sess: SessionInfo,
        proof: StepUpProof | None,
        action: str,
        fields: Mapping[str, str],
    ) -> None:
        if proof is None:
            raise errors.Unauthenticated(
                f"this action needs a fresh card signature: request one with POST /api/step-up "
                f"(action {action!r}) and approve it with your card"
            )
        domain.parse_id("step_up.challenge_id", proof.challenge_id)
        with self.db.transaction() as session:
            row = session.get(Challenge, proof.challenge_id)
            if row is None or row.kind != "action" or row.session_hash != sess.session_hash:
                raise errors.NotFound("no such approval for this session")
            row = self._check_open(row, "approval")
            issued = self._as_issued(row)
            if row.action != action or issued.fields != dict(fields):
                raise errors.PermissionDenied(
                    "the approval was for a different action or different values; approve "
                    "exactly what you submit"
                )
            approved = row.status == "approved"
            row.used_at, row.status = self._clock(), "used"
        if approved:
            return
        if not proof.certificate_pem or not proof.signature:
            raise errors.Unauthenticated(
                "this approval is not signed yet: approve its code with your card, or send "
                "certificate_pem and signature"
            )
        serial = self._verify_card(issued, proof.certificate_pem, proof.signature)
        if self._holder(serial) != sess.token:
            raise errors.PermissionDenied(
                "this card belongs to someone else than the logged-in resident"
            )

    # ------------------------------------------------------------------ my information

    def _request_id(self) -> str:
        return "portal-" + uuid.uuid4().hex

    def my_information(self, sess: SessionInfo) -> list[InfoSection]:
        """Every agency's record of the resident, fetched through the hub (logged)."""
        year = self._clock().year
        specs = [
            QuerySpec(
                token=sess.token,
                provider=i.provider,
                item=i.item,
                procedure=domain.MY_INFORMATION_PROCEDURE,
                request_id=self._request_id(),
                params={"year": year} if i.yearly else {},
            )
            for i in domain.MY_INFORMATION
        ]
        outcomes = self._registry.batch_query(specs)
        sections = []
        for info, outcome in zip(domain.MY_INFORMATION, outcomes, strict=True):
            status = {
                grpc.StatusCode.OK.value[0]: "ok",
                grpc.StatusCode.NOT_FOUND.value[0]: "no_record",
                grpc.StatusCode.PERMISSION_DENIED.value[0]: "denied",
            }.get(outcome.code, "unavailable")
            sections.append(
                InfoSection(
                    provider=info.provider,
                    item=info.item,
                    title_ja=info.title_ja,
                    title_en=info.title_en,
                    status=status,
                    data=outcome.data if status == "ok" else {},
                    message=outcome.message if status != "ok" else "",
                    log_index=outcome.log_index if status == "ok" else None,
                )
            )
        return sections

    # ------------------------------------------------------------------ exchange log

    def _trusted_log(self) -> TrustedLog:
        if self._trusted is None:
            try:
                response = self._registry.log.GetCheckpoint(pb.GetCheckpointRequest())
            except grpc.RpcError as exc:
                raise as_domain_error(exc, "registry") from None
            key = Ed25519PublicKey.from_public_bytes(bytes(response.public_key))
            trusted = TrustedLog(response.key_name, response.key_name, key)
            self._trusted = (trusted, verify_checkpoint(trusted, response.checkpoint))
        return self._trusted[0]

    def _verified_checkpoint(self, note: str) -> Checkpoint | None:
        """The checkpoint, if signed by the pinned key and consistent with the last one seen."""
        trusted = self._trusted_log()
        assert self._trusted is not None
        previous = self._trusted[1]
        try:
            current = verify_checkpoint(trusted, note)
            if current.size != previous.size or current.root_hash != previous.root_hash:
                proof = []
                if previous.size <= current.size:
                    proof = list(
                        self._registry.log.GetConsistencyProof(
                            pb.GetConsistencyProofRequest(
                                first_size=previous.size, second_size=current.size
                            )
                        ).proof
                    )
                current = verify_update(trusted, previous, note, proof)
                if current.size >= previous.size:
                    self._trusted = (trusted, current)
        except (CheckpointError, LogVerificationError) as exc:
            log.error("exchange-log checkpoint failed verification", error=type(exc).__name__)
            return None
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        return current

    def exchange_log(
        self,
        sess: SessionInfo,
        *,
        agency: str | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        before: str | None = None,
    ) -> LogView:
        """The newest :data:`LOG_PAGE` of the resident's exchange-log entries that match the
        filters (older than the ``before`` cursor when given), each proof verified here,
        newest first; ``LogView.older`` is the cursor of the next, older page."""
        agency = domain.parse_agency_filter(agency)
        if date_from and date_to and date_from > date_to:
            raise errors.InvalidInput("from must not be after to")
        cursor = _parse_log_cursor(before)
        request = pb.ListEntriesRequest(
            token=sess.token, page_size=LOG_PAGE, newest_first=True, agency=agency or ""
        )
        if cursor is not None:
            request.before_index, request.has_before = cursor, True
        # Dates are the days of the entries' (UTC) timestamps, as shown.
        if date_from is not None:
            request.time_from.FromDatetime(dt.datetime.combine(date_from, dt.time(), dt.UTC))
        if date_to is not None and date_to < dt.date.max:
            end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), dt.UTC)
            request.time_to.FromDatetime(end)
        try:
            response = self._registry.log.ListEntries(request)
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        entries = list(response.entries)
        note = response.checkpoint
        checkpoint = self._verified_checkpoint(note) if note else None
        lines = []
        for entry in entries:
            proof = "failed"
            fields: dict[str, Any] = {}
            try:
                fields = json.loads(bytes(entry.leaf))
                if checkpoint is not None:
                    verify_entry_inclusion(
                        checkpoint, bytes(entry.leaf), entry.index, list(entry.inclusion_proof)
                    )
                    proof = "verified"
            except (LogVerificationError, ValueError):
                proof = "failed"
            # What is shown comes from the verified leaf, not from the response's loose fields.
            when = str(fields.get("time") or entry.time.ToDatetime(dt.UTC).isoformat())
            line = LogLine(
                index=entry.index,
                time=when,
                requester=str(fields.get("requester", entry.requester)),
                provider=str(fields.get("provider", entry.provider)),
                item=str(fields.get("item", entry.item)),
                procedure=str(fields.get("procedure", entry.procedure)),
                outcome=str(fields.get("outcome", _OUTCOMES.get(entry.outcome, "unknown"))),
                reason=str(fields.get("reason", entry.reason)),
                proof=proof,
                caused_by_me=str(fields.get("procedure", "")).startswith("portal."),
            )
            if agency and agency not in (line.requester, line.provider):
                continue
            day = _entry_day(line.time)
            if date_from and day and day < date_from:
                continue
            if date_to and day and day > date_to:
                continue
            lines.append(line)
        lines.sort(key=lambda x: x.index, reverse=True)
        return LogView(
            entries=lines,
            checkpoint_size=checkpoint.size if checkpoint else 0,
            checkpoint_verified=checkpoint is not None,
            all_verified=checkpoint is not None and all(x.proof == "verified" for x in lines),
            older=min(e.index for e in entries) if response.more and entries else None,
        )

    # ------------------------------------------------------------------ notices and inbox

    def notices(self, sess: SessionInfo) -> list[Notice]:
        """The resident's notices, newest first."""
        with self.db.transaction() as session:
            return list(
                session.scalars(
                    select(Notice)
                    .where(Notice.resident_id == sess.resident_id)
                    .order_by(Notice.received_at.desc())
                )
            )

    def mark_notice_read(self, sess: SessionInfo, notice_id: str) -> Notice:
        """Mark one of the resident's notices read."""
        domain.parse_id("notice_id", notice_id)
        with self.db.transaction() as session:
            row = session.get(Notice, notice_id)
            if row is None or row.resident_id != sess.resident_id:
                raise errors.NotFound("no such notice")
            row.read_at = row.read_at or self._clock()
            return row

    def inbox(self, sess: SessionInfo) -> list[InboxDocument]:
        """The resident's documents, newest first."""
        with self.db.transaction() as session:
            return list(
                session.scalars(
                    select(InboxDocument)
                    .where(InboxDocument.resident_id == sess.resident_id)
                    .order_by(InboxDocument.received_at.desc())
                )
            )

    def document(self, sess: SessionInfo, document_id: str, *, mark_read: bool) -> InboxDocument:
        """One of the resident's documents (others' ids are NOT_FOUND)."""
        domain.parse_id("document_id", document_id)
        with self.db.transaction() as session:
            row = session.get(InboxDocument, document_id)
            if row is None or row.resident_id != sess.resident_id:
                raise errors.NotFound("no such document in your inbox")
            if mark_read and row.read_at is None:
                row.read_at = self._clock()
            return row

    def _add_document(
        self, session: Session, resident_id: str, source_id: str, doc: domain.Document
    ) -> InboxDocument | None:
        existing = session.scalars(
            select(InboxDocument).where(InboxDocument.source_id == source_id)
        ).first()
        if existing is not None:
            return None
        row = InboxDocument(
            id=_new_id("D"),
            resident_id=resident_id,
            source_id=source_id,
            sender=doc.sender[:200],
            category=doc.category[:64],
            reference=doc.reference[:64],
            title_ja=doc.title_ja,
            title_en=doc.title_en,
            body_ja=doc.body_ja,
            body_en=doc.body_en,
            received_at=self._clock(),
        )
        session.add(row)
        return row

    def _add_notice(
        self, session: Session, resident_id: str, source_id: str, doc: domain.Document
    ) -> None:
        if session.scalars(select(Notice).where(Notice.source_id == source_id)).first():
            return
        session.add(
            Notice(
                id=_new_id("N"),
                resident_id=resident_id,
                source_id=source_id,
                sender=doc.sender[:200],
                category=doc.category[:64],
                title_ja=doc.title_ja,
                title_en=doc.title_en,
                body_ja=doc.body_ja,
                body_en=doc.body_en,
                received_at=self._clock(),
            )
        )

    # ------------------------------------------------------------------ businesses

    def register_business(self, name: str) -> tuple[str, str]:
        """Register a private business; returns (business id, API key shown once)."""
        clean = domain.parse_business_name(name)
        api_key = "mnb_" + domain.new_secret()
        business_id = _new_id("B")
        with self.db.transaction() as session:
            session.add(
                Business(
                    id=business_id,
                    name=clean,
                    api_key_hash=domain.secret_hash(api_key),
                    created_at=self._clock(),
                    active=True,
                )
            )
        return business_id, api_key

    def businesses(self) -> list[Business]:
        """Registered businesses a resident may grant delivery to."""
        with self.db.transaction() as session:
            return list(
                session.scalars(select(Business).where(Business.active).order_by(Business.name))
            )

    def grants(self, sess: SessionInfo) -> list[tuple[BusinessGrant, str]]:
        """The resident's delivery grants with each business's name."""
        with self.db.transaction() as session:
            rows = session.execute(
                select(BusinessGrant, Business.name)
                .join(Business, Business.id == BusinessGrant.business_id)
                .where(BusinessGrant.resident_id == sess.resident_id)
                .order_by(BusinessGrant.created_at.desc())
            ).all()
            return [(g, n) for g, n in rows]

    def grant_business(
        self, sess: SessionInfo, business_id: str, proof: StepUpProof | None
    ) -> tuple[BusinessGrant, str]:
        """Let one business deliver to the inbox; returns the grant and its delivery token."""
        domain.parse_id("business_id", business_id)
        with self.db.transaction() as session:
            business = session.get(Business, business_id)
            if business is None or not business.active:
                raise errors.NotFound("no such registered business")
        self._consume_step_up(sess, proof, "grant_business", {"business_id": business_id})
        delivery_token = "mnd_" + domain.new_secret()
        with self.db.transaction() as session:
            grant = BusinessGrant(
                id=_new_id("G"),
                resident_id=sess.resident_id,
                business_id=business_id,
                token_hash=domain.secret_hash(delivery_token),
                created_at=self._clock(),
                deliveries=0,
            )
            session.add(grant)
        return grant, delivery_token

    def revoke_grant(self, sess: SessionInfo, grant_id: str) -> BusinessGrant:
        """Withdraw a business's permission (its delivery token stops working)."""
        domain.parse_id("grant_id", grant_id)
        with self.db.transaction() as session:
            grant = session.get(BusinessGrant, grant_id)
            if grant is None or grant.resident_id != sess.resident_id:
                raise errors.NotFound("no such grant")
            grant.revoked_at = grant.revoked_at or self._clock()
            return grant

    def business_deliver(
        self, api_key: str | None, delivery_token: str, payload: Mapping[str, Any]
    ) -> tuple[str, bool]:
        """A business delivers a document; returns (document id, created now)."""
        if not api_key or len(api_key) > 200:
            raise errors.Unauthenticated("send your business API key in the X-API-Key header")
        if not isinstance(delivery_token, str) or not 8 <= len(delivery_token) <= 200:
            raise errors.InvalidInput("delivery_token must be the token the resident gave you")
        doc = domain.parse_document(dict(payload), default_sender="")
        reference = payload.get("reference")
        if not isinstance(reference, str) or not domain.IDEMPOTENCY_RE.fullmatch(reference):
            raise errors.InvalidInput(
                "reference is required: 8-128 letters, digits or . _ : - unique per document "
                "(a retry with the same reference delivers once)"
            )
        with self.db.transaction() as session:
            business = session.scalars(
                select(Business).where(Business.api_key_hash == domain.secret_hash(api_key))
            ).first()
            if business is None or not business.active:
                raise errors.Unauthenticated("this API key is not registered")
            grant = session.scalars(
                select(BusinessGrant).where(
                    BusinessGrant.token_hash == domain.secret_hash(delivery_token)
                )
            ).first()
            if grant is None or grant.business_id != business.id or grant.revoked_at is not None:
                raise errors.NotFound(
                    "no resident granted your business delivery with this token (or the "
                    "grant was withdrawn)"
                )
            source_id = f"business:{business.id}:{reference}"
            existing = session.scalars(
                select(InboxDocument).where(InboxDocument.source_id == source_id)
            ).first()
            if existing is not None:
                return existing.id, False
            named = domain.Document(
                doc.title_ja,
                doc.title_en,
                doc.body_ja,
                doc.body_en,
                business.name,
                "business",
                reference[:64],
            )
            row = self._add_document(session, grant.resident_id, source_id, named)
            assert row is not None
            grant.deliveries += 1
            return row.id, True

    # ------------------------------------------------------------------ locks

    def _locks(self, session: Session, resident_id: str) -> list[str]:
        return sorted(
            session.scalars(select(LockRow.lock).where(LockRow.resident_id == resident_id))
        )

    def locks(self, sess: SessionInfo) -> list[str]:
        """The resident's locks."""
        with self.db.transaction() as session:
            return self._locks(session, sess.resident_id)

    def set_locks(self, sess: SessionInfo, raw_locks: Any, proof: StepUpProof | None) -> list[str]:
        """Replace the locks (card signature needed), registry first so the hub enforces them."""
        wanted = domain.parse_locks(raw_locks)
        self._consume_step_up(sess, proof, "set_locks", {"locks": ",".join(wanted)})
        try:
            self._registry.registry.SetLocks(pb.SetLocksRequest(token=sess.token, locks=wanted))
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        now = self._clock()
        with self.db.transaction() as session:
            current = set(self._locks(session, sess.resident_id))
            for name in current - set(wanted):
                row = session.get(LockRow, (sess.resident_id, name))
                if row is not None:
                    session.delete(row)
            for name in set(wanted) - current:
                session.add(LockRow(resident_id=sess.resident_id, lock=name, set_at=now))
        return wanted

    def _require_online_changes(self, sess: SessionInfo) -> None:
        if "block_online_changes" in self.locks(sess):
            raise errors.FailedPrecondition(
                "you have locked online changes (block_online_changes); remove the lock on the "
                "locks page first"
            )

    # ------------------------------------------------------------------ payout account

    def payout_account(self, sess: SessionInfo) -> dict[str, Any] | None:
        """The registered account (number masked) and its flags, or None."""
        with self.db.transaction() as session:
            row = session.get(PayoutAccountRow, sess.resident_id)
            if row is None:
                return None
            return self._account_view(session, row, masked=True)

    def _account_view(
        self, session: Session, row: PayoutAccountRow, *, masked: bool
    ) -> dict[str, Any]:
        details = json.loads(row.details)
        shared = (
            session.scalar(
                select(func.count())
                .select_from(PayoutAccountRow)
                .where(
                    PayoutAccountRow.account_index == row.account_index,
                    PayoutAccountRow.resident_id != row.resident_id,
                )
            )
            or 0
        )
        changed = _aware(row.changed_at)
        if masked:
            details["account_number"] = domain.mask_account_number(details["account_number"])
        return {
            **details,
            "registered_at": _aware(row.registered_at).isoformat(),
            "changed_at": changed.isoformat(),
            "cooling_off_until": (changed + domain.COOLING_OFF).isoformat(),
            "confirmed_with_card": row.confirmed_with_card,
            "confirmed_at": _aware(row.confirmed_at).isoformat() if row.confirmed_at else None,
            "shared_with_others": shared > 0,
        }

    def _registered_kana(self, sess: SessionInfo) -> str:
        try:
            facts = self._registry.query(
                sess.token,
                "municipality",
                "basic_facts",
                domain.MY_INFORMATION_PROCEDURE,
                self._request_id(),
            )
        except errors.NotFound:
            raise errors.FailedPrecondition(
                "the municipality has no resident record to check the holder name against"
            ) from None
        return str(facts.get("name_kana") or "")

    def set_payout_account(
        self, sess: SessionInfo, raw: dict[str, Any], proof: StepUpProof | None
    ) -> dict[str, Any]:
        """Register or change the account after the holder-name check and a card signature."""
        account = domain.parse_payout_account(raw)
        self._require_online_changes(sess)
        self._consume_step_up(sess, proof, "change_payout_account", account.as_dict())
        if not domain.holder_matches(account.holder_kana, self._registered_kana(sess)):
            raise errors.InvalidInput(
                "the account holder's name does not match your registered name (フリガナ); "
                "a public-funds account must be in your own name"
            )
        now = self._clock()
        with self.db.transaction() as session:
            row = session.get(PayoutAccountRow, sess.resident_id)
            index = self._blind.index(ACCOUNT_PURPOSE, account.identity())
            if row is None:
                row = PayoutAccountRow(
                    resident_id=sess.resident_id,
                    details=json.dumps(account.as_dict(), ensure_ascii=False),
                    account_index=index,
                    confirmed_with_card=True,
                    confirmed_at=now,
                    registered_at=now,
                    changed_at=now,
                )
                session.add(row)
            else:
                row.details = json.dumps(account.as_dict(), ensure_ascii=False)
                row.account_index = index
                row.changed_at = now
                row.confirmed_with_card = True
                row.confirmed_at = now
            session.flush()
            self._add_notice(
                session,
                sess.resident_id,
                f"portal:payout:{uuid.uuid4().hex}",
                domain.Document(
                    "公金受取口座が登録・変更されました",
                    "Your public-funds receipt account was registered or changed",
                    "口座番号 "
                    + domain.mask_account_number(account.account_number)
                    + " が登録されました。心当たりがない場合はすぐにご連絡ください。",
                    "Account "
                    + domain.mask_account_number(account.account_number)
                    + " was registered. If this was not you, contact us at once.",
                    PORTAL_SENDER,
                    "payout_account",
                    "",
                ),
            )
            return self._account_view(session, row, masked=True)

    def _confirm_fields(self, sess: SessionInfo) -> dict[str, str]:
        """The registered account a ``confirm_payout`` signature covers (as registered)."""
        with self.db.transaction() as session:
            row = session.get(PayoutAccountRow, sess.resident_id)
            if row is None:
                raise errors.NotFound("register a public-funds account first")
            return _confirmed_account(row)

    def confirm_payout(self, sess: SessionInfo, proof: StepUpProof | None) -> dict[str, Any]:
        """Confirm payouts to the registered account with a fresh card signature: agencies
        release payouts they held after an account or address change (``payout_confirmed``).

        The signature covers the account itself (bank, branch, account number): one made
        before the account was changed is refused (PERMISSION_DENIED)."""
        fields = self._confirm_fields(sess)
        self._consume_step_up(sess, proof, "confirm_payout", fields)
        now = self._clock()
        with self.db.transaction() as session:
            row = session.get(PayoutAccountRow, sess.resident_id)
            assert row is not None
            if _confirmed_account(row) != fields:
                raise errors.Conflict(
                    "the account changed while it was being confirmed; confirm it again"
                )
            row.confirmed_with_card, row.confirmed_at = True, now
            enqueue(
                session,
                OutboxEvent,
                event_type="payout_confirmed",
                token=sess.token,
                procedure=domain.PAYOUT_PROCEDURE,
                payload={"confirmed_at": now.isoformat()},
            )
            self._add_notice(
                session,
                sess.resident_id,
                f"portal:payout-confirmed:{uuid.uuid4().hex}",
                domain.Document(
                    "公金受取口座への振込を確認しました",
                    "You confirmed payouts to your public-funds account",
                    "マイナンバーカードで口座への振込を確認しました。保留中の還付金・年金は順次"
                    "振り込まれます。心当たりがない場合はすぐにご連絡ください。",
                    "You confirmed payouts to your account with your card; held refunds and "
                    "pension payments will be released. If this was not you, contact us at once.",
                    PORTAL_SENDER,
                    "payout_account",
                    "",
                ),
            )
            view = self._account_view(session, row, masked=True)
        self._wake_outbox()
        return view

    # ------------------------------------------------------------------ claim PIN, reissue

    def issue_claim_pin(self, sess: SessionInfo, proof: StepUpProof | None) -> tuple[str, int]:
        """This year's 6-digit claim PIN (protect_claims), from the registry; shown once and
        never stored here (the registry keeps only a salted hash)."""
        year = _jst_year(self._clock())
        self._consume_step_up(sess, proof, "issue_claim_pin", {"year": str(year)})
        try:
            response = self._registry.registry.IssueClaimPin(
                pb.IssueClaimPinRequest(token=sess.token)
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        with self.db.transaction() as session:
            self._add_notice(
                session,
                sess.resident_id,
                f"portal:claim-pin:{uuid.uuid4().hex}",
                domain.Document(
                    f"{response.year}年の請求用暗証番号を発行しました",
                    f"A claim PIN for {response.year} was issued",
                    "還付金・年金の請求に使う暗証番号を発行しました（以前の番号は無効です）。"
                    "心当たりがない場合はすぐにご連絡ください。",
                    "A new PIN for refunds and claims was issued (any earlier PIN no longer "
                    "works). If this was not you, contact us at once.",
                    PORTAL_SENDER,
                    "claim_pin",
                    "",
                ),
            )
        return str(response.pin), int(response.year)

    def reissue_number(
        self, sess: SessionInfo, raw: dict[str, Any], proof: StepUpProof | None
    ) -> str:
        """Reissue a leaked My Number (番号法 7条2項): the new number is returned once (never
        stored here); every agency's token stays the same; the old number stops working."""
        reason = domain.parse_reissue_reason(raw.get("reason"))
        self._consume_step_up(sess, proof, "reissue_number", {"reason": reason})
        key = "portal-reissue-" + uuid.uuid4().hex
        try:
            response = self._registry.registry.ReissueNumber(
                pb.ReissueNumberRequest(token=sess.token, reason=reason, idempotency_key=key)
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "registry") from None
        with self.db.transaction() as session:
            # The inbox says that it happened, never the number itself (invariant 1).
            self._add_document(
                session,
                sess.resident_id,
                f"portal:reissue:{key}",
                domain.Document(
                    "個人番号を変更しました",
                    "Your My Number was reissued",
                    "ご本人の申請により個人番号を変更しました。新しい番号は申請時の画面に一度だけ"
                    "表示され、通知書が郵送されます。古い番号はどの機関でも使えません。",
                    "At your request your My Number was reissued. The new number was shown once "
                    "on screen and a notification is on its way by post; the old number no "
                    "longer works at any agency.",
                    PORTAL_SENDER,
                    "number_reissued",
                    "",
                ),
            )
        return str(response.my_number)

    # ------------------------------------------------------------------ payments

    def amounts_due(self, sess: SessionInfo) -> list[dict[str, Any]]:
        """Amounts due at the tax office and the pension service (through the hub)."""
        specs = [
            QuerySpec(
                sess.token, agency, "amounts_due", domain.PAYMENTS_PROCEDURE, self._request_id()
            )
            for agency in domain.PAYABLE_AGENCIES
        ]
        result = []
        for agency, outcome in zip(
            domain.PAYABLE_AGENCIES, self._registry.batch_query(specs), strict=True
        ):
            if outcome.code != 0:
                continue
            for item in outcome.data.get("items", []):
                if isinstance(item, dict) and isinstance(item.get("amount"), int):
                    result.append({"agency": agency, **item})
        return result

    def payments(self, sess: SessionInfo) -> list[Payment]:
        """The resident's payments, newest first."""
        with self.db.transaction() as session:
            return list(
                session.scalars(
                    select(Payment)
                    .where(Payment.resident_id == sess.resident_id)
                    .order_by(Payment.paid_at.desc())
                )
            )

    def pay(
        self,
        sess: SessionInfo,
        idempotency_key: str | None,
        raw: dict[str, Any],
        proof: StepUpProof | None,
    ) -> tuple[Payment, bool]:
        """Pay one amount due; a retry with the same Idempotency-Key returns the first result."""
        key = domain.parse_idempotency_key(idempotency_key)
        agency, item_id, amount = domain.parse_payment(raw)
        request_hash = hashlib.sha256(f"{agency}|{item_id}|{amount}".encode()).hexdigest()
        with self.db.transaction() as session:
            done = session.scalars(
                select(Payment).where(
                    Payment.resident_id == sess.resident_id, Payment.idempotency_key == key
                )
            ).first()
            if done is not None:
                if done.request_hash != request_hash:
                    raise errors.Conflict(
                        "this Idempotency-Key was used for a different payment; use a new key"
                    )
                return done, False
        due = {(d["agency"], d.get("item_id")): d["amount"] for d in self.amounts_due(sess)}
        if (agency, item_id) not in due:
            raise errors.NotFound(f"{item_id} is not an amount due at {agency}")
        if amount != due[(agency, item_id)]:
            raise errors.InvalidInput(
                f"amount must be exactly the {due[(agency, item_id)]} yen due for {item_id}"
            )
        self._consume_step_up(
            sess,
            proof,
            "make_payment",
            {"agency": agency, "item_id": item_id, "amount": str(amount)},
        )
        now = self._clock()
        with self.db.transaction() as session:
            payment_id = _new_id("P")
            event_id = enqueue(
                session,
                OutboxEvent,
                event_type="payment",
                token=sess.token,
                procedure=domain.PAYMENTS_PROCEDURE,
                payload={
                    "agency": agency,
                    "item_id": item_id,
                    "amount": amount,
                    "payment_id": payment_id,
                    "paid_at": now.isoformat(),
                    "method": "portal",
                },
            )
            payment = Payment(
                id=payment_id,
                resident_id=sess.resident_id,
                idempotency_key=key,
                request_hash=request_hash,
                agency=agency,
                item_id=item_id,
                amount=amount,
                event_id=event_id,
                paid_at=now,
            )
            session.add(payment)
            self._add_document(
                session,
                sess.resident_id,
                f"portal:receipt:{payment_id}",
                domain.Document(
                    f"領収書 {item_id} {amount:,}円",
                    f"Receipt {item_id}: ¥{amount:,}",
                    f"{item_id} のお支払い {amount:,}円 を受け付けました"
                    f"（受付番号 {payment_id}）。",
                    f"We received your payment of ¥{amount:,} for {item_id} "
                    f"(receipt {payment_id}).",
                    PORTAL_SENDER,
                    "receipt",
                    payment_id,
                ),
            )
        self._wake_outbox()
        return payment, True

    # ------------------------------------------------------------------ applications

    def applications(self, sess: SessionInfo) -> list[Application]:
        """The resident's applications, newest first."""
        with self.db.transaction() as session:
            return list(
                session.scalars(
                    select(Application)
                    .where(Application.resident_id == sess.resident_id)
                    .order_by(Application.submitted_at.desc())
                )
            )

    def _submit(
        self,
        sess: SessionInfo,
        kind: str,
        agency: str,
        details: dict[str, Any],
        procedure: str,
    ) -> Application:
        now = self._clock()
        with self.db.transaction() as session:
            app_id = _new_id("A")
            event_id = enqueue(
                session,
                OutboxEvent,
                event_type=f"application.{kind}",
                token=sess.token,
                procedure=procedure,
                payload={**details, "application_id": app_id, "submitted_at": now.isoformat()},
            )
            row = Application(
                id=app_id,
                resident_id=sess.resident_id,
                kind=kind,
                agency=agency,
                details=json.dumps(details, ensure_ascii=False),
                event_id=event_id,
                submitted_at=now,
            )
            session.add(row)
        self._wake_outbox()
        return row

    def apply_pension_exemption(
        self, sess: SessionInfo, raw: dict[str, Any], proof: StepUpProof | None
    ) -> Application:
        """Apply for exemption from national pension contributions (decided by pension)."""
        year = domain.parse_exemption_year(raw.get("fiscal_year"), self._clock().date())
        self._consume_step_up(sess, proof, "apply_pension_exemption", {"fiscal_year": str(year)})
        return self._submit(
            sess, "pension_exemption", "pension", {"fiscal_year": year}, "pension.exemption"
        )

    def apply_move_out(
        self, sess: SessionInfo, raw: dict[str, Any], proof: StepUpProof | None
    ) -> Application:
        """Give the online move-out notice (転出届) to the municipality."""
        details = domain.parse_move_out(raw, self._clock().date())
        self._require_online_changes(sess)
        self._consume_step_up(sess, proof, "apply_move_out", details)
        return self._submit(
            sess, "move_out", "municipality", details, "municipality.moving_onestop"
        )

    def apply_pension_claim(
        self, sess: SessionInfo, raw: dict[str, Any], proof: StepUpProof | None
    ) -> Application:
        """Claim the old-age basic pension, signed with the card (``pension_claim``). With
        ``protect_claims`` on, the claim PIN is checked at the registry first; a refusal is
        reported to the resident's notices. Eligibility is decided by pension from agency
        data only."""
        pin = domain.parse_claim_pin(raw.get("pin"))
        self._consume_step_up(sess, proof, "pension_claim", {"claim_type": "old_age_basic_pension"})
        if "protect_claims" in self.locks(sess):
            if pin is None:
                self._claim_refused(sess, "no claim PIN was given")
                raise errors.PermissionDenied(
                    "you have locked refunds and claims (protect_claims): give this year's "
                    "claim PIN with the claim"
                )
            try:
                self._registry.registry.VerifyClaimPin(
                    pb.VerifyClaimPinRequest(token=sess.token, pin=pin, procedure="pension.claim")
                )
            except grpc.RpcError as exc:
                error = as_domain_error(exc, "registry")
                if isinstance(error, errors.PermissionDenied | errors.RateLimited):
                    self._claim_refused(sess, "the claim PIN was wrong")
                raise error from None
        return self._submit(
            sess,
            "pension_claim",
            "pension",
            {"claim_type": "old_age_basic_pension", "card_signed": True},
            "pension.claim",
        )

    def _claim_refused(self, sess: SessionInfo, why_en: str) -> None:
        why_ja = "暗証番号が誤っていました" if "wrong" in why_en else "暗証番号がありませんでした"
        with self.db.transaction() as session:
            self._add_notice(
                session,
                sess.resident_id,
                f"portal:claim-refused:{uuid.uuid4().hex}",
                domain.Document(
                    "年金請求を受け付けませんでした",
                    "A pension claim was refused",
                    f"請求ロック中のため、年金請求を受け付けませんでした（{why_ja}）。"
                    "心当たりがない場合はカードの停止をご検討ください。",
                    f"A pension claim was refused because refunds and claims are locked "
                    f"({why_en}). If this was not you, consider suspending your card.",
                    PORTAL_SENDER,
                    "claim_refused",
                    "",
                ),
            )

    def publish_outbox_row(self, row: OutboxRow, payload: dict[str, Any]) -> None:
        """The outbox relay's delivery: publish through the hub to the one agency concerned."""
        if row.event_type == "payment":
            audience = [str(payload.get("agency"))]
        elif row.event_type in ("application.pension_exemption", "application.pension_claim"):
            audience = ["pension"]
        elif row.event_type == "payout_confirmed":
            audience = ["tax", "pension"]
        else:
            audience = ["municipality"]
        self._registry.publish(
            row.token, row.event_type, row.id, payload, procedure=row.procedure, audience=audience
        )

    # ------------------------------------------------------------------ provider side

    def item_payout_account(self, call: ProvideCall) -> dict[str, Any]:
        """Item ``payout_account`` (for tax refunds and pension claims): the full account."""
        with self.db.transaction() as session:
            resident = session.scalars(select(Resident).where(Resident.token == call.token)).first()
            row = session.get(PayoutAccountRow, resident.id) if resident else None
            if row is None:
                raise errors.NotFound("the resident has not registered a public-funds account")
            return self._account_view(session, row, masked=False)

    def on_inbox_document(self, session: Session, event: DeliveredEvent) -> None:
        """Event ``inbox.document``: a letter from an agency."""
        doc = domain.parse_document(dict(event.payload), default_sender=event.publisher)
        resident = self._resident_by_token(session, event.token, create=True)
        self._add_document(session, resident.id, f"event:{event.event_id}", doc)

    def on_notice(self, session: Session, event: DeliveredEvent) -> None:
        """Event ``notice``: a notice (vaccination, long-term care, pension)."""
        doc = domain.parse_document(dict(event.payload), default_sender=event.publisher)
        resident = self._resident_by_token(session, event.token, create=True)
        self._add_notice(session, resident.id, f"event:{event.event_id}", doc)

    def on_address_changed(self, session: Session, event: DeliveredEvent) -> None:
        """Event ``address_changed``: tell the resident (a fraud countermeasure)."""
        resident = self._resident_by_token(session, event.token, create=True)
        self._add_notice(
            session,
            resident.id,
            f"event:{event.event_id}",
            domain.Document(
                "住所が変更されました",
                "Your address was changed",
                "住民票の住所が変更され、関係機関に通知されました。心当たりがない場合は市区町村の"
                "窓口にご連絡ください。",
                "Your registered address was changed and the agencies that know you were told. "
                "If this was not you, contact your municipality.",
                "市区町村 (municipality)",
                "address_changed",
                "",
            ),
        )

    def on_number_reissued(self, session: Session, event: DeliveredEvent) -> None:
        """Event ``number_reissued``: the old number stopped working; tokens stay."""
        resident = self._resident_by_token(session, event.token, create=True)
        self._add_notice(
            session,
            resident.id,
            f"event:{event.event_id}",
            domain.Document(
                "個人番号が変更されました",
                "Your My Number was reissued",
                "新しい個人番号の通知が届きます。古い番号は使えなくなりました。",
                "A notification of your new number is on its way; the old one no longer works.",
                "市区町村 (municipality)",
                "number_reissued",
                "",
            ),
        )


def _parse_log_cursor(value: str | None) -> int | None:
    """The exchange log's ``before`` cursor: an entry index (None when absent)."""
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise errors.InvalidInput("before must be an exchange-log entry number")
    return int(value)


def _entry_day(text: str) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        return None


def _confirmed_account(row: PayoutAccountRow) -> dict[str, str]:
    """Bank code, branch code and account number of a registered account (signed fields)."""
    details = json.loads(row.details)
    return {name: str(details[name]) for name in ("bank_code", "branch_code", "account_number")}
