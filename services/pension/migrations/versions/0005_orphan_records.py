"""orphan contribution records and their candidates (issue 13)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 08:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "orphan_records",
        sa.Column("record_id", sa.String(length=32), nullable=False),
        sa.Column("name_kana", sa.Text(), nullable=False),
        sa.Column("name_kanji", sa.Text(), nullable=False),
        sa.Column("birth_date_written", sa.Text(), nullable=False),
        sa.Column("sex", sa.Text(), nullable=False),
        sa.Column("prefecture", sa.String(length=8), nullable=False),
        sa.Column("employer", sa.String(length=200), nullable=False),
        sa.Column("period_start", sa.String(length=7), nullable=False),
        sa.Column("period_end", sa.String(length=7), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("merged_into", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["merged_into"], ["enrolments.id"]),
        sa.PrimaryKeyConstraint("record_id"),
    )
    with op.batch_alter_table("orphan_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orphan_records_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_orphan_records_merged_into"), ["merged_into"], unique=False
        )
    op.create_table(
        "orphan_candidates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(length=32), nullable=False),
        sa.Column("candidate_ref", sa.String(length=128), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("agreeing", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["record_id"], ["orphan_records.record_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_id", "candidate_ref"),
    )
    with op.batch_alter_table("orphan_candidates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_orphan_candidates_record_id"), ["record_id"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("orphan_candidates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orphan_candidates_record_id"))
    op.drop_table("orphan_candidates")
    with op.batch_alter_table("orphan_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orphan_records_merged_into"))
        batch_op.drop_index(batch_op.f("ix_orphan_records_status"))
    op.drop_table("orphan_records")
