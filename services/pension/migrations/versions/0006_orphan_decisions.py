"""the resident's (or operator's) decision on an orphan record (issue 13 item 3)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("orphan_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_token", sa.String(length=128), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_orphan_records_merged_token"), ["merged_token"], unique=False
        )
    with op.batch_alter_table("orphan_candidates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_by", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_orphan_candidates_candidate_ref"), ["candidate_ref"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("orphan_candidates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orphan_candidates_candidate_ref"))
        batch_op.drop_column("decided_by")
    with op.batch_alter_table("orphan_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orphan_records_merged_token"))
        batch_op.drop_column("merged_token")
