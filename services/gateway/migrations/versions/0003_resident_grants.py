"""resident grants: the registry grant of a session, the card evidence of a code approval

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 07:40:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registry_grant", sa.Text(), nullable=True))
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_certificate", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("approved_signature", sa.String(length=200), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.drop_column("approved_signature")
        batch_op.drop_column("approved_certificate")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("registry_grant")
