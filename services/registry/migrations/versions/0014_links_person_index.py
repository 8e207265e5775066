"""links: drop the person_id index the unique (person_id, domain) index already covers

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 23:30:00.000000

``ix_links_person_id`` duplicated the leading column of ``links_person_id_domain_key``, so
every link written (a million in a city's bulk enrolment) updated one index more than any
query needs. On PostgreSQL the drop runs ``CONCURRENTLY``.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index("ix_links_person_id", table_name="links", postgresql_concurrently=True)
    else:
        op.drop_index("ix_links_person_id", table_name="links")


def downgrade() -> None:
    """Revert this revision."""
    op.create_index("ix_links_person_id", "links", ["person_id"])
