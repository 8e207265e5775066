"""persons: the current number's blind index is no longer a unique index of its own

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 03:45:00.000000

Every number a person holds is in ``issued_numbers``, whose primary key is the same blind
index and covers every number ever issued, so ``persons``' unique constraint on
``number_index`` guaranteed nothing more, and no query looks a person up by it. It was the
widest index on random keys in a bulk enrolment (one more insertion per resident: the move
took 10.3–10.6 s without it against 12.6–13.8 s with it, for 300,000 residents). A new
``RegisterResident`` row holds ``''`` until its number is drawn, so on PostgreSQL concurrent
registrations could queue on that key in the index (reasoned from its unique check, not
measured).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAMING = {"uq": "%(table_name)s_%(column_0_name)s_key"}
"""SQLite's constraint was created unnamed; reflected under PostgreSQL's default name."""


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("persons_number_index_key", "persons", type_="unique")
    else:
        with op.batch_alter_table("persons", naming_convention=_NAMING) as batch:
            batch.drop_constraint("persons_number_index_key", type_="unique")


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("persons", naming_convention=_NAMING) as batch:
        batch.create_unique_constraint("persons_number_index_key", ["number_index"])
