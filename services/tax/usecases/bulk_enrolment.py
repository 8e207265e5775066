"""Bulk enrolment: the tax office registers many existing taxpayers in one call (issue 10,
item 5).

Every form is validated on its own; the valid ones are linked with ``Registry.LinkBatch``
(one call per 1,000; all four facts checked per record by the registry, under Link's attempt
limits), and every linked person without a taxpayer row gets one, with a fresh reference
number, in one transaction (set-based: one read of the tokens already known, one of the
numbers already taken, one insert). A record that fails — a bad form, facts that do not
match, a number the registry refuses — is answered with its own error and changes nothing
here. Registering a taxpayer again answers their reference number with ``already_registered``.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from mynumber_core import bulk_link, errors
from mynumber_core.bulk_link import LINK_SLICE, MAX_RECORDS
from mynumber_core.facts import FormIdentity
from services.tax.models import Taxpayer
from services.tax.usecases.context import TaxContext, log

__all__ = ["LINK_SLICE", "MAX_RECORDS", "BulkEnrolment", "RawForm", "Registered"]


@dataclass(frozen=True)
class RawForm:
    """One intake form as received (unvalidated)."""

    my_number: str
    name: str
    birth_date: str
    sex: str
    address: str


@dataclass(frozen=True)
class Registered:
    """One registered taxpayer: the reference number, and whether it existed before."""

    reference_number: str
    already: bool


class BulkEnrolment:
    """RegisterTaxpayers: see the module docstring."""

    def __init__(self, ctx: TaxContext) -> None:
        self.ctx = ctx

    def register_many(self, forms: Sequence[RawForm]) -> list[Registered | errors.DomainError]:
        """One answer per form, in order."""
        bulk_link.check_size(len(forms), "RegisterTaxpayers")
        answers: list[Registered | errors.DomainError | None] = [None] * len(forms)
        valid: list[tuple[int, FormIdentity]] = []
        for i, form in enumerate(forms):
            try:
                valid.append(
                    (
                        i,
                        FormIdentity.parse(
                            form.my_number, form.name, form.birth_date, form.sex, form.address
                        ),
                    )
                )
            except errors.InvalidInput as exc:
                answers[i] = bulk_link.record_error(i, exc)
        if valid:
            outcomes = bulk_link.link_in_slices(
                self.ctx.registry, [(identity.my_number, identity.facts) for _, identity in valid]
            )
            linked: list[tuple[int, str, str]] = []  # (position, token, address)
            for (i, identity), outcome in zip(valid, outcomes, strict=True):
                if outcome.linked:
                    linked.append((i, outcome.token, identity.facts.address))
                else:
                    answers[i] = bulk_link.outcome_error(i, outcome)
            for i, registered in self._store(linked).items():
                answers[i] = registered
        done = [a for a in answers if isinstance(a, Registered)]
        fresh = sum(1 for a in done if not a.already)
        log.info("taxpayers registered in bulk", records=len(forms), new=fresh)
        return bulk_link.in_order(answers)

    def _store(self, linked: Sequence[tuple[int, str, str]]) -> dict[int, Registered]:
        """Reference numbers for the linked tokens: existing rows as they are, one new row
        per new token (a concurrent enrolment or a number collision retries the whole)."""
        if not linked:
            return {}
        tokens = sorted({token for _, token, _ in linked})
        for attempt in range(3):
            try:
                with self.ctx.db.transaction() as session:
                    known: dict[str, str] = dict(
                        bulk_link.rows_in(
                            session,
                            Taxpayer.token,
                            tokens,
                            Taxpayer.token,
                            Taxpayer.reference_number,
                        )
                    )
                    address = {token: addr for _, token, addr in linked}
                    new_tokens = [t for t in tokens if t not in known]
                    numbers = bulk_link.fresh_values(
                        session,
                        Taxpayer.reference_number,
                        len(new_tokens),
                        lambda: str(10_000_000 + secrets.randbelow(90_000_000)),
                    )
                    if new_tokens:
                        now = self.ctx.clock()
                        session.execute(
                            insert(Taxpayer),
                            [
                                {
                                    "id": uuid.uuid4().hex,
                                    "reference_number": number,
                                    "token": token,
                                    "address": address[token],
                                    "created_at": now,
                                    "updated_at": now,
                                }
                                for token, number in zip(new_tokens, numbers, strict=True)
                            ],
                        )
                issued = dict(zip(new_tokens, numbers, strict=True))
                out: dict[int, Registered] = {}
                seen: set[str] = set()
                for i, token, _ in linked:
                    if token in known or token in seen:
                        out[i] = Registered(known.get(token) or issued[token], True)
                    else:
                        out[i] = Registered(issued[token], False)
                    seen.add(token)
                return out
            except IntegrityError:
                if attempt == 2:
                    raise errors.Conflict(
                        "registration raced with another request; send the batch again"
                    ) from None
        raise AssertionError("unreachable")
