"""approval codes unique only among live codes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 11:00:00.000000

``challenges.code_hash`` was unique across every row, so a new code could collide with an old
used or burned one still waiting for the cleanup job (the store drew again). Now a partial
unique index covers only pending codes (``status = 'pending'``), on SQLite and PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = sa.text("status = 'pending'")
# SQLite keeps the table-level UNIQUE(code_hash) of 0001 unnamed: batch mode names it by this
# convention so it can be dropped (PostgreSQL named it challenges_code_hash_key).
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    """Upgrade schema."""
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("challenges", naming_convention=_NAMING) as batch_op:
            batch_op.drop_constraint("uq_challenges_code_hash", type_="unique")
    else:
        op.drop_constraint("challenges_code_hash_key", "challenges", type_="unique")
    op.create_index(
        "uq_challenges_live_code_hash",
        "challenges",
        ["code_hash"],
        unique=True,
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    )


def downgrade() -> None:
    """Downgrade schema (old rows that share a code hash must be purged first)."""
    op.drop_index("uq_challenges_live_code_hash", table_name="challenges")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("challenges", naming_convention=_NAMING) as batch_op:
            batch_op.create_unique_constraint("uq_challenges_code_hash", ["code_hash"])
    else:
        op.create_unique_constraint("challenges_code_hash_key", "challenges", ["code_hash"])
