"""resident grants and challenges

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 07:40:00.000000

``resident_grants``: the short-lived grants a resident's card signs at portal login, checked
by the registry before anything done in the resident's name. ``resident_challenges``: the
single-use login and step-up challenges the card signs.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "resident_grants",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"]),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_resident_grants_expires_at", "resident_grants", ["expires_at"])
    op.create_index("ix_resident_grants_person_id", "resident_grants", ["person_id"])
    op.create_index("ix_resident_grants_serial", "resident_grants", ["serial"])
    op.create_table(
        "resident_challenges",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("audience", sa.String(length=200), nullable=True),
        sa.Column("grant_hash", sa.String(length=64), nullable=True),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("nonce"),
    )
    op.create_index("ix_resident_challenges_expires_at", "resident_challenges", ["expires_at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_resident_challenges_expires_at", table_name="resident_challenges")
    op.drop_table("resident_challenges")
    op.drop_index("ix_resident_grants_serial", table_name="resident_grants")
    op.drop_index("ix_resident_grants_person_id", table_name="resident_grants")
    op.drop_index("ix_resident_grants_expires_at", table_name="resident_grants")
    op.drop_table("resident_grants")
