"""resident passkeys

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 10:45:00.000000

``resident_passkeys``: the passkey public keys residents registered at the registry with a
card step-up; the registry verifies WebAuthn assertions with them and opens grants.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "resident_passkeys",
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("rp_id", sa.String(length=253), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"]),
        sa.PrimaryKeyConstraint("credential_id"),
    )
    op.create_index("ix_resident_passkeys_person_id", "resident_passkeys", ["person_id"])
    op.create_index("ix_resident_passkeys_serial", "resident_passkeys", ["serial"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_resident_passkeys_serial", table_name="resident_passkeys")
    op.drop_index("ix_resident_passkeys_person_id", table_name="resident_passkeys")
    op.drop_table("resident_passkeys")
