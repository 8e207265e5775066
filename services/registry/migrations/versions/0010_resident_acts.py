"""payout attestations and resident event grants

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 10:40:00.000000

``payout_attestations``: per person, a salted commitment to the payout account their card
last approved at the registry (agencies compare the portal's answer with it before paying).
``resident_event_grants``: the events the portal may publish in a resident's name, each
authorised under the resident's live grant and a fresh card step-up.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "payout_attestations",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"]),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "resident_event_grants",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("procedure", sa.String(length=64), nullable=False),
        sa.Column("grant_hash", sa.String(length=64), nullable=False),
        sa.Column("authorised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"]),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_resident_event_grants_expires_at", "resident_event_grants", ["expires_at"])
    op.create_index("ix_resident_event_grants_person_id", "resident_event_grants", ["person_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_resident_event_grants_person_id", table_name="resident_event_grants")
    op.drop_index("ix_resident_event_grants_expires_at", table_name="resident_event_grants")
    op.drop_table("resident_event_grants")
    op.drop_table("payout_attestations")
