"""Registry domain rules: domains and identities, procedure codes, the access-rights table,
person status and the canonical form of exchange-log entries. No gRPC and no SQL here.
"""

from __future__ import annotations

import enum
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mynumber_core import items
from mynumber_core.errors import InvalidInput

DOMAINS = ("municipality", "pension", "tax", "health", "portal")
"""Token domains. The gateway's domain is ``portal``; every other service is its own domain."""

SERVICE_OF_DOMAIN = {"portal": "gateway"}
DOMAIN_OF_IDENTITY = {"gateway": "portal"}

PROCEDURE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}\.[a-z][a-z0-9_]{0,47}$")
ITEM_RE = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
LOCKS = ("protect_claims", "block_online_changes", "block_exchanges")
"""Locks a resident can set. ``block_exchanges`` stops every query that is not the portal's
own; ``protect_claims`` stops refund and claim procedures unless the claimant's claim PIN was
verified for that procedure (``Registry.VerifyClaimPin``); ``block_online_changes`` is enforced
by the portal."""

CLAIM_PROCEDURES = frozenset({"tax.refund", "pension.claim"})


def service_of(domain: str) -> str:
    """The service that serves a token domain."""
    return SERVICE_OF_DOMAIN.get(domain, domain)


def domain_of(identity: str | None) -> str | None:
    """The token domain of an mTLS identity (None for identities without one)."""
    if identity is None:
        return None
    domain = DOMAIN_OF_IDENTITY.get(identity, identity)
    return domain if domain in DOMAINS else None


class PersonStatus(enum.StrEnum):
    """Lifecycle of a registered person."""

    ACTIVE = "active"
    DECEASED = "deceased"


class Outcome(enum.StrEnum):
    """What happened to an exchange."""

    PROVIDED = "provided"
    DENIED = "denied"
    FAILED = "failed"
    DELIVERED = "delivered"


def check_procedure(code: str) -> str:
    """A procedure code such as ``pension.exemption``; INVALID_ARGUMENT otherwise."""
    if not PROCEDURE_RE.fullmatch(code or ""):
        raise InvalidInput(
            "procedure must look like '<field>.<procedure>' in lowercase letters, digits and "
            "underscores, e.g. 'pension.exemption'"
        )
    return code


def check_item(item: str) -> str:
    """A data item name such as ``income``."""
    if not ITEM_RE.fullmatch(item or ""):
        raise InvalidInput("item must be a lowercase name such as 'income' (at most 64 characters)")
    return item


def check_request_id(request_id: str, *, field: str = "request_id") -> str:
    """An idempotency key: 1–128 characters of [A-Za-z0-9._:-]; ``field`` names it in errors."""
    if not REQUEST_ID_RE.fullmatch(request_id or ""):
        raise InvalidInput(
            f"{field} is required: 1-128 characters of letters, digits and . _ : -, "
            "unique per request (a retry reuses it)"
        )
    return request_id


def check_domain(domain: str, *, what: str = "provider") -> str:
    """A known token domain."""
    if domain not in DOMAINS:
        raise InvalidInput(f"unknown {what} {domain[:32]!r}; known domains: {', '.join(DOMAINS)}")
    return domain


@dataclass(frozen=True)
class QueryRule:
    """One row of the access-rights table."""

    requester: str
    provider: str
    item: str
    procedure: str
    basis: str


@dataclass(frozen=True)
class PublishRule:
    """Who may publish which event to whom, under which procedure."""

    publisher: str
    event_type: str
    audience: tuple[str, ...]
    procedure: str


class AccessRights:
    """The law's table, loaded from ``access_rights.toml``; its items and event types must be in
    the item catalogue (:mod:`mynumber_core.items`)."""

    def __init__(self, queries: Iterable[QueryRule], publishes: Iterable[PublishRule]) -> None:
        self._queries = {(r.requester, r.provider, r.item, r.procedure): r for r in queries}
        self._publishes = list(publishes)
        self.items_by_provider: dict[str, set[str]] = {}
        for r in self._queries.values():
            self.items_by_provider.setdefault(r.provider, set()).add(r.item)

    @classmethod
    def load(cls, path: Path) -> AccessRights:
        """Parse and validate the TOML file; fails fast naming the bad row."""
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        queries: list[QueryRule] = []
        for n, row in enumerate(doc.get("query", []), 1):
            try:
                rule = QueryRule(
                    check_domain(row["requester"], what="requester"),
                    check_domain(row["provider"]),
                    check_item(row["item"]),
                    check_procedure(row["procedure"]),
                    row.get("basis", ""),
                )
            except (KeyError, InvalidInput) as exc:
                raise RuntimeError(f"{path}: query row {n} is invalid: {exc}") from None
            if items.item(rule.provider, rule.item) is None:
                raise RuntimeError(
                    f"{path}: query row {n} names item {rule.item!r} of {rule.provider!r}, which "
                    "is not in the item catalogue; add it to mynumber_core/items.py first"
                )
            queries.append(rule)
        publishes: list[PublishRule] = []
        for n, row in enumerate(doc.get("publish", []), 1):
            try:
                audience = tuple(row["audience"])
                for a in audience:
                    if a != "*":
                        check_domain(a, what="audience")
                publishes.append(
                    PublishRule(
                        check_domain(row["publisher"], what="publisher"),
                        check_item(row["event_type"]),
                        audience,
                        check_procedure(row["procedure"]),
                    )
                )
            except (KeyError, InvalidInput) as exc:
                raise RuntimeError(f"{path}: publish row {n} is invalid: {exc}") from None
            if publishes[-1].event_type not in items.EVENTS_BY_NAME:
                raise RuntimeError(
                    f"{path}: publish row {n} names event type {publishes[-1].event_type!r}, "
                    "which is not in the item catalogue; add it to mynumber_core/items.py first"
                )
        return cls(queries, publishes)

    def query_rule(
        self, requester: str, provider: str, item: str, procedure: str
    ) -> QueryRule | None:
        """The row allowing this query, or None."""
        return self._queries.get((requester, provider, item, procedure))

    def query_rules(self) -> list[QueryRule]:
        """Every row (tests walk the whole table)."""
        return list(self._queries.values())

    def publish_audience(
        self, publisher: str, event_type: str, procedure: str
    ) -> tuple[str, ...] | None:
        """Who may receive this event, or None when the publication is not allowed."""
        for rule in self._publishes:
            if (rule.publisher, rule.event_type, rule.procedure) == (
                publisher,
                event_type,
                procedure,
            ):
                return rule.audience
        return None


def lock_denial(
    locks: Iterable[str], requester: str, procedure: str, *, pin_verified: bool = False
) -> str | None:
    """The reason a resident's lock refuses this exchange, or None.

    ``protect_claims`` refuses only refund and claim procedures, and lets them through when
    the claimant's PIN for this year was verified for that procedure (``pin_verified``).
    """
    active = set(locks)
    if "block_exchanges" in active and requester != "portal":
        return "the resident has locked inter-agency exchanges (block_exchanges)"
    if "protect_claims" in active and procedure in CLAIM_PROCEDURES and not pin_verified:
        return (
            "the resident has locked refunds and claims (protect_claims); the claimant must "
            "give this year's claim PIN"
        )
    return None


PORTAL_CLAIM_PROCEDURES = frozenset({"pension.claim"})
"""The claim procedures the portal files for the resident (and so may verify a PIN for)."""


def pin_procedure_allowed(requester: str, procedure: str) -> bool:
    """Who may verify a claim PIN for what: an agency for its own claim procedure, the
    portal only for the claims it files for the resident (the pension claim)."""
    if procedure not in CLAIM_PROCEDURES:
        return False
    if requester == "portal":
        return procedure in PORTAL_CLAIM_PROCEDURES
    return procedure.split(".", 1)[0] == requester


def canonical_entry(fields: Mapping[str, Any]) -> bytes:
    """The exact bytes hashed into the log: sorted-key compact JSON, UTF-8."""
    return json.dumps(
        dict(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
