"""approval codes: the requesting browser (address, device) and the number to match

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 08:15:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requester_address", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("requester_device", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("match_number", sa.String(length=2), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.drop_column("match_number")
        batch_op.drop_column("requester_device")
        batch_op.drop_column("requester_address")
