"""Exemption applications (保険料免除): at the counter or from the portal, decided from the
previous year's income (tax) and the household (municipality) fetched through the registry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mynumber_core import errors
from mynumber_core.calendar import fiscal_year_of
from mynumber_core.facts import FormIdentity
from services.pension import domain
from services.pension.domain import ExemptionLevel
from services.pension.models import (
    Enrolment,
    ExemptionApplication,
)
from services.pension.usecases.context import (
    EXEMPTION,
    PensionContext,
    inbox_document,
    log,
    send_inbox,
)
from services.pension.usecases.views import (
    ExemptionView,
    exemption_view,
)


class Exemptions:
    """Contribution exemption applications (counter and portal), decided from tax income and
    the municipality's household."""

    def __init__(self, ctx: PensionContext) -> None:
        self.ctx = ctx

    def apply_exemption(
        self, identity: FormIdentity, fiscal_year: int, application_id: str
    ) -> ExemptionView:
        """A counter application: link, look the enrolment up, decide, notify the portal."""
        app_id = domain.parse_key("application_id", application_id)
        self.check_year(fiscal_year)
        with self.ctx.db.transaction() as session:
            done = session.get(ExemptionApplication, app_id)
            if done is not None:
                return self._exemption_result(session, done)
        token = self.ctx.registry.link(identity.my_number, identity.facts)
        with self.ctx.db.transaction() as session:
            enrolment = session.scalars(select(Enrolment).where(Enrolment.token == token)).first()
            if enrolment is None:
                raise errors.FailedPrecondition(
                    "the applicant is not enrolled in the national pension; enrol first"
                )
            number = enrolment.basic_pension_number
            enrolment_id = enrolment.id
        return self._decide(token, enrolment_id, number, fiscal_year, app_id, "counter")

    def check_year(self, fiscal_year: int) -> None:
        current = fiscal_year_of(self.ctx.today())
        if not current - 2 <= fiscal_year <= current + 1:
            raise errors.InvalidInput(
                f"fiscal_year must be between FY{current - 2} and FY{current + 1} "
                "(exemptions can be applied for up to two years back)"
            )

    def _decide(
        self,
        token: str,
        enrolment_id: str,
        number: str,
        fiscal_year: int,
        app_id: str,
        channel: str,
    ) -> ExemptionView:
        income_year = fiscal_year - 1
        income = self.ctx.registry.query(
            token, "tax", "income", EXEMPTION, f"{app_id}:income", {"year": income_year}
        )
        household = self.ctx.registry.query(
            token, "municipality", "household", EXEMPTION, f"{app_id}:household"
        )
        try:
            total = int(income["total_income"])
            social = int(income.get("social_insurance", 0) or 0)
        except (KeyError, TypeError, ValueError):
            raise errors.Unavailable("tax returned an income item without total_income") from None
        test = domain.decide_exemption(
            max(0, total), domain.dependents_in_household(household), max(0, social)
        )
        return self._record_decision(
            enrolment_id, number, token, app_id, fiscal_year, channel, test, rejected=False
        )

    def _record_decision(
        self,
        enrolment_id: str | None,
        number: str,
        token: str,
        app_id: str,
        fiscal_year: int,
        channel: str,
        test: domain.ExemptionTest,
        *,
        rejected: bool,
    ) -> ExemptionView:
        try:
            with self.ctx.db.transaction() as session:
                row = ExemptionApplication(
                    application_id=app_id,
                    enrolment_id=enrolment_id,
                    fiscal_year=fiscal_year,
                    income_year=fiscal_year - 1,
                    level=test.level.value,
                    rejected=rejected,
                    income=test.income,
                    dependents=test.dependents,
                    reason=test.reason[:200],
                    channel=channel,
                    decided_at=self.ctx.clock(),
                )
                session.add(row)
                session.flush()
                send_inbox(
                    session,
                    token=token,
                    procedure=EXEMPTION,
                    payload=_exemption_document(number, fiscal_year, test, rejected, app_id),
                )
                view = exemption_view(row, number)
        except IntegrityError:
            with self.ctx.db.transaction() as session:  # a concurrent retry recorded it first
                existing = session.get(ExemptionApplication, app_id)
                if existing is None:
                    raise
                return self._exemption_result(session, existing)
        log.info("exemption decided", level=test.level.value, channel=channel, rejected=rejected)
        self.ctx.wake_outbox()
        return view

    def _exemption_result(self, session: Session, row: ExemptionApplication) -> ExemptionView:
        enrolment = session.get(Enrolment, row.enrolment_id) if row.enrolment_id else None
        return exemption_view(row, enrolment.basic_pension_number if enrolment else "")

    def decide_portal_application(self, row: Any, payload: Mapping[str, Any]) -> None:
        """Worker: decide a queued portal exemption application; transient failures are
        retried."""
        token, app_id, fy = row.token, str(payload["application_id"]), int(payload["fiscal_year"])
        with self.ctx.db.transaction() as session:
            if session.get(ExemptionApplication, app_id) is not None:
                return
            enrolment = session.scalars(select(Enrolment).where(Enrolment.token == token)).first()
            ident = (enrolment.id, enrolment.basic_pension_number) if enrolment else None
        if ident is None:
            self._reject(
                None,
                "",
                token,
                app_id,
                fy,
                "the applicant is not enrolled in the "
                "national pension; visit a pension office to enrol",
            )
            return
        try:
            self._decide(token, ident[0], ident[1], fy, app_id, "portal")
        except (
            errors.NotFound,
            errors.PermissionDenied,
            errors.FailedPrecondition,
            errors.InvalidInput,
        ) as exc:
            # Permanent: retrying cannot help, so the resident is told why.
            self._reject(ident[0], ident[1], token, app_id, fy, public_reason(exc))

    def _reject(
        self, enrolment_id: str | None, number: str, token: str, app_id: str, fy: int, reason: str
    ) -> None:
        test = domain.ExemptionTest(ExemptionLevel.NONE, 0, 0, 0, reason)
        self._record_decision(
            enrolment_id, number, token, app_id, fy, "portal", test, rejected=True
        )


def public_reason(exc: errors.DomainError) -> str:
    if isinstance(exc, errors.NotFound):
        return (
            "the income or household needed for the decision is not on record "
            "(file a tax return for the previous year, then apply again)"
        )
    if isinstance(exc, errors.PermissionDenied):
        return "the data needed for the decision could not be obtained (access refused)"
    return "the application could not be decided; contact a pension office"


def _exemption_document(
    number: str, fiscal_year: int, test: domain.ExemptionTest, rejected: bool, app_id: str
) -> dict[str, Any]:
    title = (
        f"国民年金保険料免除申請の結果（{fiscal_year}年度）",
        f"Result of your national pension exemption application (FY{fiscal_year})",
    )
    if rejected:
        body = (
            f"申請を審査できませんでした。理由: {test.reason}",
            f"Your application could not be decided. Reason: {test.reason}",
        )
    else:
        level_ja = domain.LEVEL_NAMES_JA[test.level]
        level_en = test.level.value.replace("_", "-")
        body = (
            f"基礎年金番号 {number} の{fiscal_year}年度の申請は「{level_ja}」と決定しました。"
            f"前年所得 {test.income:,}円、扶養親族等 {test.dependents}人。",
            f"Your application for FY{fiscal_year} (basic pension number {number}) was decided: "
            f"{level_en} exemption. Previous-year income {test.income:,} yen, "
            f"{test.dependents} dependant(s). {test.reason}.",
        )
    return inbox_document("pension.exemption_decision", title, body, app_id)
