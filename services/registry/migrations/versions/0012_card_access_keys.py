"""card access keys

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 11:00:00.000000

``cards.access_key``: the public half of the card file's PIN-less access key (NULL until the
file's next successful unlock registers one). ``card_access_challenges``: the single-use
nonces that key signs, so a PIN evaluation counts only with the card file present.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access_key", sa.LargeBinary(), nullable=True))
    op.create_table(
        "card_access_challenges",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["serial"], ["cards.serial"]),
        sa.PrimaryKeyConstraint("nonce"),
    )
    op.create_index(
        "ix_card_access_challenges_expires_at", "card_access_challenges", ["expires_at"]
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_card_access_challenges_expires_at", table_name="card_access_challenges")
    op.drop_table("card_access_challenges")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_column("access_key")
