"""sealed answers: the hub keeps only ciphertext; stored plaintext results are emptied

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 07:45:00.000000

Answers are sealed by the provider to the requester (HPKE). The hub stores only the
ciphertext, for idempotent replay: inline in ``log_entries`` for a single query, once per
batch in ``sealed_answers``. Every plaintext result the hub stored before (encrypted only
under its own key) becomes NULL; the entries keep their metadata, so the log, its leaves and
its checkpoints are unchanged. A retry of such an old exchange is answered with
FAILED_PRECONDITION (use a new request id).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "sealed_answers",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("requester", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("suite", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("members", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    with op.batch_alter_table("log_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("answer_key_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("answer_suite", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("answer_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("answer_position", sa.Integer(), nullable=True))
    op.execute("UPDATE log_entries SET result = NULL WHERE result IS NOT NULL")


def downgrade() -> None:
    """Revert this revision (the emptied plaintext results do not come back)."""
    with op.batch_alter_table("log_entries", schema=None) as batch_op:
        batch_op.drop_column("answer_position")
        batch_op.drop_column("answer_digest")
        batch_op.drop_column("answer_suite")
        batch_op.drop_column("answer_key_id")
        batch_op.drop_column("answer")
    op.drop_table("sealed_answers")
