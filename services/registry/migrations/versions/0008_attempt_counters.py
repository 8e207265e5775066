"""attempt counters and card PIN attempts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 08:00:00.000000

``attempt_counters``: one row per rate-limited key (Link per agency and number, Link per
agency, claim PIN per person, card PIN per card), reserved by a conditional UPDATE before an
attempt is evaluated. ``card_pin_attempts``: each online card-PIN evaluation, until the card
confirms it (a successful unlock resets the card's counter).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "attempt_counters",
        sa.Column("scope", sa.String(length=24), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key"),
    )
    op.create_table(
        "card_pin_attempts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["serial"], ["cards.serial"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("card_pin_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_card_pin_attempts_serial", ["serial"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("card_pin_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_card_pin_attempts_serial")
    op.drop_table("card_pin_attempts")
    op.drop_table("attempt_counters")
