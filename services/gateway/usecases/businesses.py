"""Registered private businesses and the delivery grants residents give them: a business
delivers to a resident's inbox with its API key and the delivery token the resident gave it,
never with a My Number or a portal token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mynumber_core import errors
from services.gateway import domain
from services.gateway.models import Business, BusinessGrant, InboxDocument
from services.gateway.usecases.context import PortalContext, new_id
from services.gateway.usecases.inbox import add_document

if TYPE_CHECKING:
    from services.gateway.usecases.auth import Auth, SessionInfo, StepUpProof


class Businesses:
    """Businesses, grants and business deliveries."""

    def __init__(self, ctx: PortalContext, auth: Auth) -> None:
        self._ctx = ctx
        self._auth = auth

    def register_business(self, name: str) -> tuple[str, str]:
        """Register a private business; returns (business id, API key shown once)."""
        clean = domain.parse_business_name(name)
        api_key = "mnb_" + domain.new_secret()
        business_id = new_id("B")
        with self._ctx.db.transaction() as session:
            session.add(
                Business(
                    id=business_id,
                    name=clean,
                    api_key_hash=domain.secret_hash(api_key),
                    created_at=self._ctx.clock(),
                    active=True,
                )
            )
        return business_id, api_key

    def businesses(self) -> list[Business]:
        """Registered businesses a resident may grant delivery to."""
        with self._ctx.db.transaction() as session:
            return list(
                session.scalars(select(Business).where(Business.active).order_by(Business.name))
            )

    def grants(self, sess: SessionInfo) -> list[tuple[BusinessGrant, str]]:
        """The resident's delivery grants with each business's name."""
        with self._ctx.db.transaction() as session:
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
        with self._ctx.db.transaction() as session:
            business = session.get(Business, business_id)
            if business is None or not business.active:
                raise errors.NotFound("no such registered business")
        self._auth.consume_step_up(sess, proof, "grant_business", {"business_id": business_id})
        delivery_token = "mnd_" + domain.new_secret()
        with self._ctx.db.transaction() as session:
            grant = BusinessGrant(
                id=new_id("G"),
                resident_id=sess.resident_id,
                business_id=business_id,
                token_hash=domain.secret_hash(delivery_token),
                created_at=self._ctx.clock(),
                deliveries=0,
            )
            session.add(grant)
        return grant, delivery_token

    def revoke_grant(self, sess: SessionInfo, grant_id: str) -> BusinessGrant:
        """Withdraw a business's permission (its delivery token stops working)."""
        domain.parse_id("grant_id", grant_id)
        with self._ctx.db.transaction() as session:
            grant = session.get(BusinessGrant, grant_id)
            if grant is None or grant.resident_id != sess.resident_id:
                raise errors.NotFound("no such grant")
            grant.revoked_at = grant.revoked_at or self._ctx.clock()
            return grant

    def business_deliver(
        self, api_key: str | None, delivery_token: str, payload: Mapping[str, Any]
    ) -> tuple[str, bool]:
        """A business delivers a document; returns (document id, created now)."""
        if not api_key or len(api_key) > 200:
            raise errors.Unauthenticated("send your business API key in the X-API-Key header")
        if not isinstance(delivery_token, str) or not 8 <= len(delivery_token) <= 200:
            raise errors.InvalidInput("delivery_token must be the token the resident gave you")
        reference = payload.get("reference")
        if not isinstance(reference, str) or not domain.IDEMPOTENCY_RE.fullmatch(reference):
            raise errors.InvalidInput(
                "reference is required: 8-128 letters, digits or . _ : - unique per document "
                "(a retry with the same reference delivers once)"
            )
        with self._ctx.db.transaction() as session:
            business = session.scalars(
                select(Business).where(Business.api_key_hash == domain.secret_hash(api_key))
            ).first()
            if business is None or not business.active:
                raise errors.Unauthenticated("this API key is not registered")
            # The document is read only for a registered business: nobody else learns the rules.
            doc = domain.parse_document(dict(payload), default_sender="")
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
            # A reference is the business's own per-document key, scoped to this grant (one
            # resident): the same reference for another resident is another document.
            source_id = f"business:{grant.id}:{domain.secret_hash(reference)[:40]}"
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
            row = add_document(self._ctx, session, grant.resident_id, source_id, named)
            assert row is not None
            grant.deliveries += 1
            return row.id, True
