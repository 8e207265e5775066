"""My information: what each agency holds about the resident, fetched through the hub in one
batch (each fetch is an exchange in the log, procedure ``portal.my_information``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mynumber_core import errors
from mynumber_core.calendar import date_in_japan
from mynumber_core.registry_client import QuerySpec
from services.gateway import domain
from services.gateway.usecases.context import PortalContext, request_id

if TYPE_CHECKING:
    from services.gateway.usecases.auth import SessionInfo


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


_SECTION_STATUS: dict[type[errors.DomainError] | None, str] = {
    None: "ok",
    errors.NotFound: "no_record",
    errors.PermissionDenied: "denied",
}
"""How a fetch's outcome shows on the page; every other error is "unavailable"."""


def section_status(code: int) -> str:
    """The section status of a batch result's status code (the error table decides its kind)."""
    return _SECTION_STATUS.get(errors.error_type_of(code), "unavailable")


class Information:
    """The "my information" page."""

    def __init__(self, ctx: PortalContext) -> None:
        self._ctx = ctx

    def my_information(self, sess: SessionInfo) -> list[InfoSection]:
        """Every agency's record of the resident, fetched through the hub (logged)."""
        year = date_in_japan(self._ctx.clock()).year
        specs = [
            QuerySpec(
                token=sess.token,
                provider=i.provider,
                item=i.item,
                procedure=domain.MY_INFORMATION_PROCEDURE,
                request_id=request_id(),
                params={"year": year} if i.yearly else {},
            )
            for i in domain.MY_INFORMATION
        ]
        outcomes = self._ctx.registry.batch_query(specs, acting=sess.acting())
        sections = []
        for info, outcome in zip(domain.MY_INFORMATION, outcomes, strict=True):
            status = section_status(outcome.code)
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
