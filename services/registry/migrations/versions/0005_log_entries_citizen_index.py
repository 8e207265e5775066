"""log entries by citizen and index (newest-first paging of one person's log)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 05:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('log_entries', schema=None) as batch_op:
        batch_op.create_index(
            'ix_log_entries_citizen_index', ['citizen_tag', 'index'], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('log_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_log_entries_citizen_index')
