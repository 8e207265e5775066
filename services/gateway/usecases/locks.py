"""Resident-set locks (block online changes, protect refunds and claims): the registry
enforces them at the hub; the portal keeps a copy to show and to check its own changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mynumber_core import errors
from services.gateway import domain
from services.gateway.models import LockRow
from services.gateway.usecases.context import PortalContext

if TYPE_CHECKING:
    from services.gateway.usecases.auth import Auth, SessionInfo, StepUpProof


def locks_of(session: Session, resident_id: str) -> list[str]:
    """The names of the resident's locks, sorted."""
    return sorted(session.scalars(select(LockRow.lock).where(LockRow.resident_id == resident_id)))


class Locks:
    """Reading and setting the resident's locks."""

    def __init__(self, ctx: PortalContext, auth: Auth) -> None:
        self._ctx = ctx
        self._auth = auth

    def locks(self, sess: SessionInfo) -> list[str]:
        """The resident's locks."""
        with self._ctx.db.transaction() as session:
            return locks_of(session, sess.resident_id)

    def set_locks(self, sess: SessionInfo, raw_locks: Any, proof: StepUpProof | None) -> list[str]:
        """Replace the locks (card signature needed), registry first so the hub enforces them."""
        wanted = domain.parse_locks(raw_locks)
        step_up = self._auth.consume_step_up(sess, proof, "set_locks", {"locks": ",".join(wanted)})
        self._ctx.registry.set_locks(sess.token, wanted, acting=sess.acting(step_up))
        now = self._ctx.clock()
        with self._ctx.db.transaction() as session:
            current = set(locks_of(session, sess.resident_id))
            for name in current - set(wanted):
                row = session.get(LockRow, (sess.resident_id, name))
                if row is not None:
                    session.delete(row)
            for name in set(wanted) - current:
                session.add(LockRow(resident_id=sess.resident_id, lock=name, set_at=now))
        return wanted

    def require_online_changes(self, sess: SessionInfo) -> None:
        """FAILED_PRECONDITION while the resident has locked online changes."""
        if "block_online_changes" in self.locks(sess):
            raise errors.FailedPrecondition(
                "you have locked online changes (block_online_changes); remove the lock on the "
                "locks page first"
            )
